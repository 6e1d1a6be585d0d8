#!/usr/bin/env bash
# scripts/smoke.sh, tested against the local mode: starts authz-local (the debug binaries that
# `cargo test --workspace` built) on loopback ports, takes each tier's token from its token
# endpoint with scripts/token.sh, runs the smoke test over every route of infra/routes.json, stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=target/debug
for b in authz-local token-authorizer request-authorizer http-authorizer; do
    [ -x "$bin/$b" ] || cargo build --locked -p "$b"
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rest=$(free_port) http=$(free_port) tok=$(free_port)
log=$(mktemp)
"$bin/authz-local" --bin-dir "$bin" --rest-port "$rest" --http-port "$http" --token-port "$tok" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$tok/" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "error: authz-local exited" >&2; exit 1; }
    sleep 0.1
done

export AUTHZ_LOCAL_TOKEN_PORT=$tok
export SMOKE_URL_PET_STORE="http://127.0.0.1:$rest" SMOKE_URL_SOLAR_SYSTEM="http://127.0.0.1:$http"
for tier in reader writer nobody; do
    export "SMOKE_TOKEN_PET_STORE_${tier^^}=$(scripts/token.sh --api pet-store --tier "$tier")"
done
for tier in bronze silver gold; do
    export "SMOKE_TOKEN_SOLAR_SYSTEM_${tier^^}=$(scripts/token.sh --api solar-system --tier "$tier")"
done
scripts/smoke.sh
