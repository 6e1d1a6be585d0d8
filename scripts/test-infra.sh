#!/usr/bin/env bash
# Tests of the CDK app in infra/: the unit tests (node:test + tsx, bundling skipped), then ONE
# real `cdk synth` that bundles the three Rust authorizers through cargo-lambda, with cdk-nag's
# AwsSolutions checks as a validation plugin, and a check that each asset holds an executable
# `bootstrap` for the function's architecture.
#
# Then cfn-lint (PyPI, pinned) over that template and over one synth with every option on
# (infra/scripts/synth-all-options.ts), and scripts/deploy.sh / destroy.sh run in a
# non-interactive shell against a stand-in cdk.
#
# Installs what it needs, each step interruptible and re-runnable (scripts/lib/install.sh: npm ci
# in infra/ when the lock file changed or an install did not finish; a venv in .venv with
# cargo-lambda, ziglang and cfn-lint from PyPI when missing or unfinished; moto_server and the testkit's
# `authz-testkit-moto` launcher, which the smoke test's `readClientSecret` test runs the real `aws`
# CLI against: the AWS CLI itself must be installed; and `authz-config`, which the app runs at
# synth to read the authorizers' configuration). Runs from any directory; idempotent; no
# network beyond the package registries. Architecture: arm64 when the aarch64-unknown-linux-gnu
# Rust target is installed, otherwise x86_64 (said in the output); AUTHZ_INFRA_ARCH overrides.
#
# Build speed: the synth test compiles with the release profile at opt-level 0, without LTO, in
# its own target directory (target/infra-test): about 3.5 CPU-minutes cold instead of about 10
# for the workspace's real release profile (fat LTO, one codegen unit), which is what deploys
# build. The bundling path is the same (RustFunction -> cargo lambda build); only optimization
# differs. AUTHZ_INFRA_RELEASE_PROFILE=1 runs the test with the real profile instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../infra/scripts/common.sh
. "$ROOT/infra/scripts/common.sh"
STAGE=ci
STACK=ApiAuthz-$STAGE
OUT="$INFRA/cdk.out/test-infra"

ensure_node_modules
ensure_cargo_lambda
ensure_cfn_lint
"$ROOT/scripts/test-tools.sh" moto
# The smoke-token test starts moto through the testkit's own launcher (infra/test/helpers.ts),
# found through AUTHZ_TESTKIT_MOTO (CARGO_TARGET_DIR changes below, for the synth).
(cd "$ROOT" && cargo build --quiet --locked -p authz-testkit --bin authz-testkit-moto)
AUTHZ_TESTKIT_MOTO="$(cd "$INFRA" && node --require tsx/cjs -p 'require("./test/helpers").testkitMotoPath()')"
export AUTHZ_TESTKIT_MOTO
# The reader of the authorizers' configuration the app runs at synth (infra/lib/authz-config.ts):
# built here, before CARGO_TARGET_DIR changes, and passed as AUTHZ_CONFIG_BIN.
(cd "$ROOT" && cargo build --quiet --locked -p authz-config)
AUTHZ_CONFIG_BIN="$(dirname "$AUTHZ_TESTKIT_MOTO")/authz-config"
export AUTHZ_CONFIG_BIN
pick_arch
if [ "${AUTHZ_INFRA_RELEASE_PROFILE:-0}" = 1 ]; then
    BUILD="the workspace's release profile"
else
    # Inherited by cargo-lambda inside cdk synth (RustFunction's local bundling).
    export CARGO_TARGET_DIR="$ROOT/target/infra-test"
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
    BUILD="release profile at opt-level 0 without LTO (AUTHZ_INFRA_RELEASE_PROFILE=1 for the real one)"
fi

step "infra unit tests (npm test)"
(cd "$INFRA" && npm test --silent)

step "scripts/deploy.sh and destroy.sh in a non-interactive shell, a stand-in cdk recording its arguments"
(cd "$INFRA" && node --import tsx --test --test-reporter=spec test/scripts/*.test.ts)

step "real cdk synth of $STACK: architecture $ARCH, because $ARCH_WHY; $BUILD"
START=$(date +%s)
rm -rf "$OUT"
(cd "$INFRA" && npx --no-install cdk synth "$STACK" --quiet --output "$OUT" \
    -c stage="$STAGE" -c issuer=https://idp.example.com -c architecture="$ARCH" \
    -c caBundle=test/fixtures/ca-bundle.pem)
END=$(date +%s)

step "bundled assets"
(cd "$INFRA" && npx --no-install tsx bin/check-assets.ts "$OUT" "$STACK" 3)

step "cfn-lint $CFN_LINT_VERSION: the default synth, and one synth with every option on"
ALL="$INFRA/cdk.out/test-infra-all-options"
rm -rf "$ALL"
ALL_TEMPLATE="$(cd "$INFRA" && node --import tsx scripts/synth-all-options.ts "$ALL")"
cfn_lint "$OUT/$STACK.template.json" "$ALL_TEMPLATE"
echo "cfn-lint: no errors or warnings in $STACK and $(basename "$ALL_TEMPLATE" .template.json)"
echo "real cdk synth (cargo-lambda bundling, cdk-nag clean): $((END - START)) s, architecture $ARCH, $BUILD"
