#!/usr/bin/env bash
# The main job, locally, with no AWS account: builds the three authorizers and runs each real
# binary through a Lambda Runtime API emulator on its sample events (events/token, events/request,
# events/http), against a loopback OIDC issuer that signs a real token (sub alice, scope
# "read write"). The HTTP API demo uses the solar-system route rules, so that token is refused on
# the silver and gold routes. (The full local mode with an API Gateway emulator will replace this.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found; install the Rust toolchain with rustup first" >&2
    exit 1
}
cargo build --release --locked -p token-authorizer -p request-authorizer -p http-authorizer -p authz-local
routes=$(python3 -c 'import json,sys; print(json.dumps(json.load(open("events/fixtures/solar-system.json"))["routes"]))')

echo "=== REST API, TOKEN authorizer"
target/release/authz-local target/release/token-authorizer events/token
echo
echo "=== REST API, REQUEST authorizer (token from the Authorization header or ?access_token=)"
target/release/authz-local target/release/request-authorizer events/request AUTHZ_TOKEN_QUERY_PARAM=access_token
echo
echo "=== HTTP API, simple responses, solar-system route rules"
target/release/authz-local target/release/http-authorizer events/http "AUTHZ_ROUTES=$routes"
