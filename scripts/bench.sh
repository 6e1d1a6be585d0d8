#!/usr/bin/env bash
# Benchmark (NOT a test; CI never runs it): CPU per invocation, cold start and peak RSS of our
# authorizers (token-authorizer RS256 and ES256, and without the `introspection` feature;
# request-authorizer and http-authorizer) vs aws-jwt-verify and jsonwebtoken + jwks-rsa on Node,
# and no-op baselines, all driven through the Lambda Runtime API emulator of crates/authz-testkit;
# request-authorizer deciding 20 and 200 routes by scope rules and by Cedar policies, and with
# DPoP required (replays in memory, and in a DynamoDB table on moto_server); and the file size of
# the three authorizer binaries with default features, without them, and with `cedar`.
#
#   scripts/bench.sh                      # N = 20000 measured invocations per function
#   scripts/bench.sh -n 5000              # fewer; any authz-bench option works (--help)
#   AUTHZ_BENCH_N=5000 scripts/bench.sh   # same, by environment
#   CARGO_TARGET_DIR=/tmp/t scripts/bench.sh   # builds and runs from another target dir
#   scripts/bench.sh lambda               # Lambda-sized: each function under the CPU share of
#                                         # 128/256/512/1024 MB (cgroup, as root), issuer over
#                                         # HTTPS; cold start, p50/p99, billed ms, $ per million,
#                                         # and the plot BENCHMARKS-lambda.svg
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

target_dir="${CARGO_TARGET_DIR:-target}"
release="$target_dir/release"
# The build without `introspection` has a target dir of its own: in the same one, each switch of
# features would re-link (fat LTO) every binary, as both builds write target/release/<binary>.
no_introspection_target="$target_dir/no-introspection"
# The same for the build with Cedar (request-authorizer only: the Cedar rows are REST REQUEST).
cedar_target="$target_dir/cedar"
packages=(-p token-authorizer -p request-authorizer -p http-authorizer)

# The authorizers are built on their own, exactly as `cargo build --release -p <binary>` builds
# them: built together with the harness, feature unification would give their dependencies the
# testkit's features and change their size.
step "cargo build --release (token-authorizer, request-authorizer, http-authorizer)"
cargo build --release --locked "${packages[@]}" >&2

step "cargo build --release --no-default-features (the same, without introspection: no AWS SDK)"
CARGO_TARGET_DIR="$no_introspection_target" \
    cargo build --release --locked "${packages[@]}" --no-default-features >&2

step "cargo build --release --features cedar (request-authorizer, with the Cedar engine)"
CARGO_TARGET_DIR="$cedar_target" \
    cargo build --release --locked -p request-authorizer --features cedar >&2

step "cargo build --release (authz-testkit-echo, authz-bench)"
cargo build --release --locked -p authz-testkit -p authz-bench \
    --bin authz-testkit-echo --bin authz-bench >&2

if [[ ! -d bench/node/node_modules ]]; then
    step "npm ci (bench/node)"
    (cd bench/node && npm ci --no-audit --no-fund >&2)
fi

step "authz-bench $* (pinned: taskset -c 0)"
# `lambda` needs root to create the CPU cgroups; without it the bench says so and runs unlimited.
exec taskset -c 0 "$release/authz-bench" "$@"
