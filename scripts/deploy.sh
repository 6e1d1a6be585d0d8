#!/usr/bin/env bash
# Deploys one stage of the CDK app in infra/: stack ApiAuthz-<stage>, every resource named
# after the stage. Builds the Rust authorizers with cargo-lambda on the way.
#
#   scripts/deploy.sh <stage> -c issuer=https://idp.example.com [more cdk options]
#   scripts/deploy.sh --branch "$(git branch --show-current)" -c issuer=...
#
# Context settings (-c key=value) are listed in infra/README.md. The stack outputs (the invoke
# URLs) are written to infra/cdk.out/outputs-<stage>.json for scripts/smoke.sh --outputs.
# AUTHZ_INFRA_ARCH=arm64|x86_64 overrides the architecture chosen from the installed targets.
#
# Approval: run from a terminal, cdk asks before a security-broadening change (new IAM grants,
# Lambda permissions: every first deploy of a stage has some); without one (CI, a pipe, cron) it
# cannot ask and would abort, so it deploys with --require-approval never. An explicit
# --require-approval LEVEL among the options wins. AUTHZ_CDK=PROGRAM runs another CDK CLI.
#
# The AWS credentials are checked first (aws sts get-caller-identity, the AWS CLI), before
# anything slow: without them cdk deploy would fail only after minutes of building.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../infra/scripts/common.sh
. "$ROOT/infra/scripts/common.sh"

expect_stage_argument "${BASH_SOURCE[0]}" "$@"

# Credentials before installing or building anything.
command -v aws >/dev/null 2>&1 ||
    die "aws (the AWS CLI) not found: deploy.sh checks the AWS credentials with it before building anything"
if ! ACCOUNT="$(aws sts get-caller-identity --query Account --output text)"; then
    die "no usable AWS credentials (aws sts get-caller-identity failed, above): set AWS_PROFILE or the AWS_* variables and AWS_REGION, then run again; nothing was built"
fi
echo "AWS account $ACCOUNT" >&2

ensure_node_modules
if [ "$1" = "--branch" ]; then
    [ $# -ge 2 ] || die "--branch needs a branch name"
    STAGE="$(cd "$INFRA" && npx --no-install tsx bin/stage-name.ts "$2")"
    shift 2
    echo "branch -> stage $STAGE" >&2
else
    STAGE="$1"
    shift
fi
check_stage "$STAGE"
ensure_cargo_lambda
pick_arch
echo "stage $STAGE (stack <App>-$STAGE, App ApiAuthz unless -c appName=...), architecture $ARCH ($ARCH_WHY)" >&2

# cdk prompts on stdin: only a terminal can answer.
APPROVAL=()
case " $* " in
*" --require-approval "* | *" --require-approval="*) ;;
*) if [ -t 0 ]; then APPROVAL=(--require-approval broadening); else APPROVAL=(--require-approval never); fi ;;
esac
echo "approval: ${APPROVAL[*]:-as given} ($([ -t 0 ] && echo "stdin is a terminal" || echo "no terminal: nobody to ask"))" >&2

mkdir -p "$INFRA/cdk.out"
cd "$INFRA"
# The app defines exactly one stack, the stage's.
cdk_cli deploy --all \
    -c stage="$STAGE" -c architecture="$ARCH" \
    --outputs-file "cdk.out/outputs-$STAGE.json" \
    "${APPROVAL[@]}" \
    "$@"
