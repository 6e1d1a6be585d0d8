#!/usr/bin/env bash
# scripts/smoke.sh, tested against the local mode: starts authz-local (the debug binaries that
# `cargo test --workspace` built) on free loopback ports, takes each tier's token from its token
# endpoint with scripts/token.sh, runs the smoke test over every route of infra/routes.json, stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=target/debug
for b in authz-local token-authorizer request-authorizer http-authorizer; do
    [ -x "$bin/$b" ] || cargo build --locked -p "$b"
done
command -v node >/dev/null 2>&1 || { echo "error: node not found (Node.js 20 or later)" >&2; exit 2; }
log=$(mktemp)
# --ready-json: one line of JSON once every server is up (ports 0: free ones), and authz-local
# stops when its stdin closes, that is when this script ends, however it ends.
coproc LOCAL { exec "$bin/authz-local" --bin-dir "$bin" --rest-port 0 --http-port 0 --token-port 0 --ready-json 2>"$log"; }
pid=$LOCAL_PID to_local=${LOCAL[1]} from_local=${LOCAL[0]}
stop() { exec {to_local}>&-; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap stop EXIT
IFS= read -r -t 120 ready <&"$from_local" || { cat "$log" >&2; echo "error: authz-local did not start" >&2; exit 1; }

# AUTHZ_LOCAL_TOKEN_PORT for scripts/token.sh, SMOKE_URL_<API> for scripts/smoke.sh.
while read -r name value; do export "$name=$value"; done < <(node -e '
    const r = JSON.parse(process.argv[1]);
    console.log("AUTHZ_LOCAL_TOKEN_PORT", new URL(r.demoTokenEndpoint).port);
    for (const a of r.apis) console.log(`SMOKE_URL_${a.name.toUpperCase().replaceAll("-", "_")}`, a.url);
' "$ready")
for tier in reader writer nobody; do
    export "SMOKE_TOKEN_PET_STORE_${tier^^}=$(scripts/token.sh --api pet-store --tier "$tier")"
done
for tier in bronze silver gold; do
    export "SMOKE_TOKEN_SOLAR_SYSTEM_${tier^^}=$(scripts/token.sh --api solar-system --tier "$tier")"
done
scripts/smoke.sh
