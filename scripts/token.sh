#!/usr/bin/env bash
# Prints an access token from the running local mode (scripts/dev.sh), for use as
#   curl -H "Authorization: Bearer $(scripts/token.sh)" http://127.0.0.1:3000/pets
#
# usage: scripts/token.sh [--api API] [--tier TIER | --scope SCOPE ...] [--opaque] [--lifetime N]
#                        [--shape IDP [--id-token] [--tenant TID]] [--dpop | --client-cert FILE]
#   --api    an API of infra/routes.json (pet-store, solar-system); default: the API that has
#            the tier, else pet-store
#   --tier   a tier of that API (pet-store: reader, writer, nobody, editor; solar-system:
#            bronze, silver, gold): the token carries the tier's scopes and claims, and its
#            groups in the API's Cedar groups claim (pet-store's editor: groups ["editors"])
#   --scope  a scope (repeatable) instead of a tier's
#   --opaque an opaque token (the authorizers introspect it) instead of a JWT
#   --lifetime seconds until it expires (default 3600; negative: an expired token)
#   --shape  a JWT laid out like that IdP's access token: cognito, entra, entra-v1, auth0, okta,
#            keycloak, hydra (README "Identity providers"), from that shape's own loopback issuer,
#            which the local mode's Lambda authorizers trust with that IdP's README recipe
#   --id-token  with --shape: that IdP's ID token instead (the authorizers refuse it)
#   --tenant    with --shape: the Entra ID tenant id (`tid`; the recipe accepts one tenant)
#   --dpop   a DPoP-bound token (cnf.jkt): the request carries a DPoP proof of the local mode's
#            client key (scripts/dpop-proof.sh, which signs the proofs to send with it); send it
#            as `Authorization: DPoP …` with a proof, to an API whose senderConstrained is on
#   --client-cert FILE  a token bound to that client certificate (PEM; cnf.x5t#S256), to send
#            with the certificate (the local gateway's X-Authz-Local-Client-Cert header)
# With no arguments: a PetStore JWT with scope `read` (what its GET routes accept).
# The token endpoint is 127.0.0.1:${AUTHZ_LOCAL_TOKEN_PORT:-3002}.
set -euo pipefail

# The comment block above, without the `#`s (to stdout for --help, else to stderr).
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&"$((${1:-2} == 0 ? 1 : 2))"
    exit "${1:-2}"
}

command -v curl >/dev/null 2>&1 || { echo "error: curl not found" >&2; exit 1; }
params=()
tier=false scope=false dpop=false
while [ $# -gt 0 ]; do
    case "$1" in
        --api) [ $# -ge 2 ] || usage; params+=(--data-urlencode "api=$2"); shift 2 ;;
        --tier) [ $# -ge 2 ] || usage; params+=(--data-urlencode "tier=$2"); tier=true; shift 2 ;;
        --scope) [ $# -ge 2 ] || usage; params+=(--data-urlencode "scope=$2"); scope=true; shift 2 ;;
        --opaque) params+=(--data-urlencode "format=opaque"); shift ;;
        --lifetime) [ $# -ge 2 ] || usage; params+=(--data-urlencode "lifetime=$2"); shift 2 ;;
        --shape) [ $# -ge 2 ] || usage; params+=(--data-urlencode "shape=$2"); shift 2 ;;
        --id-token) params+=(--data-urlencode "kind=id"); shift ;;
        --tenant) [ $# -ge 2 ] || usage; params+=(--data-urlencode "tenant=$2"); shift 2 ;;
        --dpop) dpop=true; shift ;;
        --client-cert)
            [ $# -ge 2 ] || usage
            [ -r "$2" ] || { echo "error: --client-cert: cannot read $2" >&2; exit 1; }
            params+=(--data-urlencode "client_cert@$2"); shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "error: unknown argument '$1'" >&2; usage ;;
    esac
done
if [ "$tier" = true ] && [ "$scope" = true ]; then
    echo "error: --tier and --scope are alternatives: give one of them" >&2
    usage
fi
url="http://127.0.0.1:${AUTHZ_LOCAL_TOKEN_PORT:-3002}/token"
headers=()
if [ "$dpop" = true ]; then
    # The proof of a token request (RFC 9449 §5): this request's method and URL, no token.
    headers=(-H "DPoP: $("$(dirname "${BASH_SOURCE[0]}")/dpop-proof.sh" GET "$url")")
fi
if ! out=$(curl -sS --get "${params[@]}" "${headers[@]}" -w '\n%{http_code}' "$url" 2>&1); then
    echo "error: no token endpoint at $url; start the local mode with scripts/dev.sh" >&2
    exit 1
fi
code=${out##*$'\n'}
body=${out%$'\n'*}
body=${body%$'\n'}
if [ "$code" != 200 ]; then
    echo "error: $body" >&2
    exit 1
fi
printf '%s\n' "$body"
