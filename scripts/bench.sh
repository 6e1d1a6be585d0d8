#!/usr/bin/env bash
# Benchmark (NOT a test; CI never runs it): CPU per invocation, cold start and peak RSS of
# token-authorizer (RS256, ES256) vs aws-jwt-verify and jsonwebtoken + jwks-rsa on Node, and
# no-op baselines, all driven through the Lambda Runtime API emulator of crates/authz-testkit.
#
#   scripts/bench.sh                      # N = 20000 measured invocations per function
#   scripts/bench.sh -n 5000              # fewer; any authz-bench option works (--help)
#   AUTHZ_BENCH_N=5000 scripts/bench.sh   # same, by environment
#
# Harness and function processes are pinned to ONE CPU (taskset -c 0, inherited by children),
# as a small Lambda sees it: cross-CPU wake-ups would add noise. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '==> %s\n' "$*" >&2; }

for tool in cargo node npm taskset; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: $tool not found (cargo: rustup; node/npm: Node.js 20; taskset: util-linux)" >&2
        exit 1
    }
done

step "cargo build --release (token-authorizer, authz-testkit-echo, authz-bench)"
cargo build --release --locked -p token-authorizer -p authz-testkit -p authz-bench \
    --bin token-authorizer --bin authz-testkit-echo --bin authz-bench >&2

if [[ ! -d bench/node/node_modules ]]; then
    step "npm ci (bench/node)"
    (cd bench/node && npm ci --no-audit --no-fund >&2)
fi

target_dir="${CARGO_TARGET_DIR:-target}"
step "authz-bench $* (pinned: taskset -c 0)"
exec taskset -c 0 "$target_dir/release/authz-bench" "$@"
