#!/usr/bin/env bash
# Prints a DPoP proof (the `DPoP` header value, RFC 9449) for one request, signed with the local
# mode's DPoP client key, for use as
#   t=$(scripts/token.sh --api solar-system --dpop)
#   curl -H "Authorization: DPoP $t" \
#        -H "DPoP: $(scripts/dpop-proof.sh GET https://127.0.0.1:3001/local/asteroids "$t")" \
#        http://127.0.0.1:3001/asteroids
#
# usage: scripts/dpop-proof.sh METHOD URL [ACCESS_TOKEN]
#   METHOD        the request's method (htm): GET, POST, ...
#   URL           the URL the authorizer rebuilds from the event (htu): https://, the host, the
#                 stage and the path; behind the local gateway https://127.0.0.1:PORT/local/PATH
#                 (README "Local mode"), whatever the query
#   ACCESS_TOKEN  the token sent with it (ath); without it, a proof for a token request
# The key: an EC P-256 key in target/authz-local/dpop-key.pem (AUTHZ_LOCAL_DPOP_KEY), created on
# first use and kept, so scripts/token.sh --dpop binds tokens to the key these proofs use.
# Runs `authz-local dpop-proof` (target/debug, else target/release; or AUTHZ_LOCAL_BIN).
set -euo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&"$((${1:-2} == 0 ? 1 : 2))"
    exit "${1:-2}"
}
case "${1:-}" in -h|--help) usage 0 ;; esac
[ $# -ge 2 ] && [ $# -le 3 ] || usage
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin=${AUTHZ_LOCAL_BIN:-}
if [ -z "$bin" ]; then
    for b in "$root/target/debug/authz-local" "$root/target/release/authz-local"; do
        if [ -x "$b" ]; then bin=$b; break; fi
    done
fi
[ -n "$bin" ] || { echo "error: authz-local not built: run scripts/dev.sh (or cargo build -p authz-local)" >&2; exit 1; }
args=(dpop-proof --key "${AUTHZ_LOCAL_DPOP_KEY:-$root/target/authz-local/dpop-key.pem}" --method "$1" --url "$2")
if [ $# -eq 3 ]; then args+=(--token "$3"); fi
exec "$bin" "${args[@]}"
