#!/usr/bin/env bash
# Runs every test of the project on a fresh machine, installing what it needs.
# This is the command CI runs (.ci/run calls it). Benchmarks and load runs are NOT part of it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found; install the Rust toolchain with rustup first" >&2
    exit 1
}

# Every process the tests start carries this run's id (authz-testkit `procs`); at the end, however
# the run ends, authz-testkit-leftovers lists and kills any still running, and fails the run.
export APIAUTHZ_TEST_RUN="${APIAUTHZ_TEST_RUN:-$(date +%s)-$$}"
leftovers=${CARGO_TARGET_DIR:-target}/debug/authz-testkit-leftovers
check_leftovers() {
    local status=$?
    if [[ -x $leftovers ]]; then
        step "no process started by the tests is left (test run $APIAUTHZ_TEST_RUN)"
        "$leftovers" || status=1
    fi
    exit "$status"
}
trap check_leftovers EXIT

# Every install first (seconds when done before), so that a failing one stops the run before
# minutes of builds; each is interruptible and re-runnable (scripts/lib/install.sh).
step "set-up: npm trees (tests/idp, infra, tests/browser), .venv (moto_server, cargo-lambda and zig, cfn-lint)"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
scripts/test-tools.sh all cargo-lambda cfn-lint infra browser

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy, the three binaries without the introspection feature (no AWS SDK)"
cargo clippy -p token-authorizer -p request-authorizer -p http-authorizer --no-default-features --locked -- -D warnings

step "cargo clippy and cargo test with the cedar feature (Cedar-decided rules: authz-core, the binaries, authz-config)"
cargo clippy -p authz-core -p authz-lambda -p token-authorizer -p request-authorizer -p http-authorizer -p authz-config --features cedar --all-targets --locked -- -D warnings
cargo test -p authz-core --features cedar --lib --test it --locked
cargo test -p request-authorizer --features cedar --test cedar --locked

step "cargo test (unit, RFC 8725 attack table, JWKS cache, binaries through the Lambda Runtime API, introspection, the docs' example commands, test-started processes ending with their test)"
cargo test --workspace --locked

step "scripts/smoke.sh against the local mode (every route of infra/routes.json, every tier)"
scripts/test-smoke-local.sh

step "the local mode's demo page in headless Chromium or Google Chrome (on Debian installs chromium if none)"
scripts/test-browser.sh

step "infra: CDK unit tests, stage naming, one real cdk synth with cargo-lambda bundling"
scripts/test-infra.sh

step "set-up steps interrupted early, in the middle and late heal on the next run; two set-ups at once"
scripts/test-install.sh

step "actionlint over .github/workflows"
scripts/lint-workflows.sh
