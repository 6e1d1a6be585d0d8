#!/usr/bin/env bash
# Load test of the local mode (NOT a test; scripts/test.sh never runs it): a closed loop of
# concurrent connections against the API Gateway emulator (authz-local, the real authorizer
# binaries) with a mix of valid, expired and forged tokens, every answer checked against the
# status the route table predicts. The Rust harness `authz-bench load` does the work (plan,
# pre-check, run, figures; see crates/authz-bench/src/load.rs and BENCHMARKS.md).
#
# usage: scripts/load.sh [--duration 20s] [--connections 32] [--api pet-store|solar-system|all]
#                        [--cache-ttl 0[,300...]] [--pool N] [--no-opaque] [--no-build]
#   --duration     how long each run lasts (N, Ns, Nm; default 20s)
#   --connections  concurrent connections in all (default 32); with several APIs, shared out,
#                  all at the same time
#   --api          which API of infra/routes.json to load (default all)
#   --cache-ttl    the authorizer cache TTL in seconds, for every API (default 0); a comma list
#                  runs once per value, e.g. 0,300
#   --pool         authorizer processes per function (default 2)
#   --no-opaque    JWTs only (no moto_server, no introspection)
#   --no-build     use the release binaries already in target/release
# Other options go to `authz-bench load` as they are (`target/release/authz-bench load --help`).
# Exit status: non-zero on any wrong decision (pre-check or run) or lost request.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=true opaque=true args=()
for arg in "$@"; do
    case "$arg" in
        --no-build) build=false ;;
        --no-opaque) opaque=false; args+=("$arg") ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$arg") ;;
    esac
done

release="${CARGO_TARGET_DIR:-target}/release"
if [[ $build == true ]]; then
    echo "==> cargo build --release (authz-local, the authorizers, authz-bench)" >&2
    cargo build --release --locked -p authz-local -p token-authorizer -p request-authorizer \
        -p http-authorizer -p authz-bench >&2
fi
for b in authz-local token-authorizer request-authorizer http-authorizer authz-bench; do
    [[ -x $release/$b ]] || { echo "error: $release/$b missing (run without --no-build)" >&2; exit 2; }
done
if [[ $opaque == true ]]; then
    scripts/test-tools.sh moto || { echo "error: moto_server could not be installed; try --no-opaque" >&2; exit 2; }
fi

exec "$release/authz-bench" load --authz-local "$release/authz-local" "${args[@]}"
