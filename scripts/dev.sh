#!/usr/bin/env bash
# The main job, locally, with no AWS account: builds token-authorizer and runs the real binary
# through a Lambda Runtime API emulator on every sample event in events/token/, against a
# loopback OIDC issuer that signs a real token. (The full local mode with an API Gateway
# emulator will replace this.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found; install the Rust toolchain with rustup first" >&2
    exit 1
}
cargo build --release --locked -p token-authorizer -p authz-testkit --bin token-authorizer --bin authz-demo
exec target/release/authz-demo target/release/token-authorizer events/token
