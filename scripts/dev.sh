#!/usr/bin/env bash
# The local mode: the whole system on this machine, loopback only, no AWS account, no Docker.
# Builds the three authorizers and `authz-local` (the dev profile with the features `cargo test
# --workspace` gives them, so nothing is left to compile after scripts/test.sh (README): a few
# minutes the first time on 2 cores, seconds after; `--release` builds the shipping
# profile instead, fat LTO: about 10 minutes cold), then starts (until Ctrl-C):
#   - a dev OIDC issuer (discovery, JWKS, client-credentials token endpoint with a demo client
#     per tier, opaque tokens with RFC 7662 introspection) and a demo-token endpoint
#     (scripts/token.sh),
#   - one loopback issuer per IdP token shape (Cognito, Entra ID, Auth0, Okta, Keycloak, Hydra;
#     `scripts/token.sh --shape IDP`), which the Lambda authorizers also trust, each with that
#     IdP's README recipe (printed at start; the native JWT route trusts the dev issuer alone),
#   - moto_server (AWS Secrets Manager) holding the introspection client's secret, which the
#     authorizers read with the AWS SDK as in production (installed into .venv on first run),
#   - an API Gateway emulator serving every API of infra/routes.json (PetStore REST API on
#     127.0.0.1:3000, solar-system HTTP API on 127.0.0.1:3001), running the REAL authorizer
#     binaries through a Lambda Runtime API emulator, with demo backends behind them.
# It prints the URLs and ready-to-paste curl commands, then each authorizer's log lines (decision
# lines compact, prefixed by API and function; `--quiet` hides them). An edited route table (or
# Cedar policy or schema file it names) is reloaded (everything restarts with it; a table synth
# would refuse is refused and the old kept).
#
# usage: scripts/dev.sh [--release] [OPTION ...]
#        scripts/dev.sh demo <authorizer> <events-dir> [--routes FILE] [--tier T] [NAME=VALUE ...]
#   --release            build the shipping profile (fat LTO, about 10 minutes cold) instead of dev
#   --routes FILE        the route table (default infra/routes.json)
#   --rest-port N        port of the first REST API (default 3000; AUTHZ_LOCAL_REST_PORT)
#   --http-port N        port of the first HTTP API (default 3001; AUTHZ_LOCAL_HTTP_PORT)
#   --token-port N       port of the demo-token endpoint (default 3002; AUTHZ_LOCAL_TOKEN_PORT)
#   --pool N             processes per Lambda function, 1 to 16 (default 2)
#   --cache-ttl N        overrides every API's authorizer cache TTL, 0 to 3600 s (0: off)
#   --no-opaque          no moto_server and no opaque tokens (JWTs only; nothing installed)
#   --quiet              print no authorizer log lines after the banner
#   --ready-json         one line of JSON once up instead of the banner (for programs)
#   --issuer URL         trust an external OIDC issuer instead of the dev issuer
#   --introspection-client-id ID
#                        with --issuer: introspect its opaque tokens with this client (secret in
#                        AUTHZ_LOCAL_INTROSPECTION_CLIENT_SECRET)
#   --sender-constrained API=MODE  that API's senderConstrained instead of the table's (off,
#                        accept, require): DPoP and certificate-bound tokens, moto's DynamoDB
#                        replay table; the API needs cacheTtlSeconds 0 (or --cache-ttl 0) and
#                        no token or jwt route, as synth does (README "Local mode")
#   --bin-dir DIR        where the authorizer binaries are (default: the build's directory)
#   -h, --help           this help (nothing is built)
# `demo` runs one authorizer (a name from this build, or a path) on a directory of sample
# events, configured from the route table, e.g. scripts/dev.sh demo token-authorizer events/token
set -euo pipefail

# The usage block above, without the `#`s; nothing is built.
for arg in "$@"; do
    case "$arg" in
        -h|--help)
            awk '/^# usage:/ { on = 1 } on && /^#/ { sub(/^# ?/, ""); print; next } on { exit }' "${BASH_SOURCE[0]}"
            exit 0 ;;
    esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found; install the Rust toolchain with rustup first" >&2
    exit 1
}
# moto_server (into .venv, once) unless opaque tokens are off or it is the one-shot demo.
profile=(--profile dev) dir=target/debug
need_moto=true sender_constrained=false
args=()
for arg in "$@"; do
    case "$arg" in
        --release) profile=(--release) dir=target/release; continue ;;
        --no-opaque|demo) need_moto=false ;;
        --sender-constrained) sender_constrained=true ;;
    esac
    args+=("$arg")
done
# A sender-constrained API's replay table is in moto's DynamoDB, opaque tokens or not.
if [[ $sender_constrained == true && " $* " != *" demo "* ]]; then
    need_moto=true
fi
# moto's install (pip, first run only; interruptible and re-runnable, scripts/lib/install.sh)
# and the build at the same time, each in a process group of its own (job control): Ctrl-C and
# SIGTERM reach this script, which passes them to both whole groups; a failing install says why
# in one line at once and stops the build rather than leaving it minutes to run.
set -m
moto=
if [[ $need_moto == true ]]; then
    scripts/test-tools.sh moto &
    moto=$!
fi
cargo build "${profile[@]}" --locked -p token-authorizer -p request-authorizer -p http-authorizer -p authz-local -p authz-core -p authz-lambda &
build=$!
stop_jobs() { kill -INT -- ${moto:+"-$moto"} "-$build" 2>/dev/null || true; }
trap 'stop_jobs; wait; exit 130' INT TERM
if [[ -n $moto ]] && ! wait "$moto"; then
    stop_jobs
    wait "$build" 2>/dev/null || true
    echo "error: scripts/dev.sh: moto's set-up failed (the error above says why), so the build was stopped; run scripts/dev.sh again (it picks up where the set-up stopped), or with --no-opaque to go without moto" >&2
    exit 1
fi
wait "$build"
trap - INT TERM
set +m
# exec: Ctrl-C and SIGTERM reach authz-local directly, which stops its servers and kills the
# authorizer processes it started.
exec "$dir/authz-local" "${args[@]}"
