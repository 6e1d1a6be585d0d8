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
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy, the three binaries without the introspection feature (no AWS SDK)"
cargo clippy -p token-authorizer -p request-authorizer -p http-authorizer --no-default-features --locked -- -D warnings

step "test tools: npm oidc-provider (tests/idp), moto_server, cargo-lambda and zig (.venv)"
scripts/test-tools.sh
scripts/test-tools.sh cargo-lambda

step "cargo test (unit, RFC 8725 attack table, JWKS cache, binaries through the Lambda Runtime API, introspection, the docs' example commands)"
cargo test --workspace --locked

step "scripts/smoke.sh against the local mode (every route of infra/routes.json, every tier)"
scripts/test-smoke-local.sh

step "the local mode's demo page in headless Chromium or Google Chrome (on Debian installs chromium if none)"
scripts/test-browser.sh

step "infra: CDK unit tests, stage naming, one real cdk synth with cargo-lambda bundling"
scripts/test-infra.sh

step "actionlint over .github/workflows"
scripts/lint-workflows.sh
