#!/usr/bin/env bash
# Deletes one stage of the CDK app in infra/ (stack ApiAuthz-<stage>) and its log groups.
#
#   scripts/destroy.sh <stage> [--force] [more cdk options]
#
# The production stage (prod) has termination protection and keeps its log groups; this script
# refuses it unless --i-mean-production is given (termination protection must still be lifted
# in CloudFormation first). --force skips cdk's confirmation prompt; without a terminal (CI) it
# is required, since nobody could answer. AUTHZ_CDK=PROGRAM runs another CDK CLI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../infra/scripts/common.sh
. "$ROOT/infra/scripts/common.sh"

expect_stage_argument "${BASH_SOURCE[0]}" "$@"
STAGE="$1"
shift
ARGS=()
PRODUCTION_OK=false
for a in "$@"; do
    if [ "$a" = "--i-mean-production" ]; then PRODUCTION_OK=true; else ARGS+=("$a"); fi
done

ensure_node_modules
check_stage "$STAGE"
if [ "$STAGE" = prod ] && [ "$PRODUCTION_OK" != true ]; then
    die "refusing to destroy the production stage without --i-mean-production"
fi

FORCE=false
for a in "${ARGS[@]}"; do
    if [ "$a" = --force ] || [ "$a" = -f ]; then FORCE=true; fi
done
if [ "$FORCE" != true ] && ! [ -t 0 ]; then
    die "no terminal to confirm the deletion of stage $STAGE: pass --force"
fi

cd "$INFRA"
# Deleting builds no authorizer: the app is synthesized without bundling (cdk destroy does not
# bundle; cargo builds only the small authz-config reader every synth runs), and the issuer is
# only required to define the stack, so any placeholder does.
# The app defines exactly one stack, the stage's.
cdk_cli destroy --all \
    -c stage="$STAGE" -c issuer=https://issuer.placeholder.invalid \
    "${ARGS[@]}"
