# Shared by scripts/deploy.sh, destroy.sh and test-infra.sh (sourced, not run).
# Expects ROOT (the repository) to be set. The install steps (and VENV, the pinned versions) are
# scripts/lib/install.sh's: interruptible, re-runnable, locked against a concurrent set-up.
INFRA="$ROOT/infra"
# shellcheck source=../../scripts/lib/install.sh
. "$ROOT/scripts/lib/install.sh"

step() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# The usage of script $1: its header comment (after the #! line, up to the first other line).
usage_of() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"; }

# A script's first argument, as deploy.sh and destroy.sh take it: none → usage on stderr, exit 2;
# -h/--help → usage, exit 0. Usage: expect_stage_argument "${BASH_SOURCE[0]}" "$@"
expect_stage_argument() {
    local script=$1
    shift
    [ $# -ge 1 ] || { usage_of "$script" >&2; exit 2; }
    case "$1" in -h | --help) usage_of "$script"; exit 0 ;; esac
}

# npm ci in infra/ when node_modules is missing, unfinished or from another lock file.
ensure_node_modules() {
    command -v node >/dev/null 2>&1 || die "node not found (Node.js 22 or 24 LTS for infra/; 20, past its end of life, still works)"
    ensure_npm_tree infra
}

# cargo-lambda (and zig, its linker for Lambda's glibc) from PyPI into .venv, on PATH.
ensure_cargo_lambda() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found; install the Rust toolchain with rustup first"
    ensure_venv cargo-lambda
    export PATH="$VENV/bin:$PATH"
    cargo lambda --version >/dev/null || die "cargo lambda does not run"
}

# cfn-lint (PyPI, CFN_LINT_VERSION) into .venv: validates synthesized templates against the AWS
# resource specs.
ensure_cfn_lint() {
    ensure_venv cfn-lint
}

# cfn-lint over templates; warnings fail too. W3005 (a DependsOn that a GetAtt already implies) is
# left out: CDK writes such a DependsOn from every function to its role, harmless and not ours.
cfn_lint() {
    "$VENV/bin/cfn-lint" --ignore-checks W3005 -- "$@"
}

# Sets ARCH (arm64 | x86_64) and ARCH_WHY. AUTHZ_INFRA_ARCH overrides; otherwise arm64 when
# the aarch64-unknown-linux-gnu Rust target is installed (it comes from the toolchain server,
# not a package registry), else x86_64.
pick_arch() {
    if [ -n "${AUTHZ_INFRA_ARCH:-}" ]; then
        ARCH="$AUTHZ_INFRA_ARCH"
        ARCH_WHY="set by AUTHZ_INFRA_ARCH"
        case "$ARCH" in arm64 | x86_64) ;; *) die "AUTHZ_INFRA_ARCH: arm64 or x86_64" ;; esac
    elif rustup target list --installed 2>/dev/null | grep -qx 'aarch64-unknown-linux-gnu'; then
        ARCH=arm64
        ARCH_WHY="the aarch64-unknown-linux-gnu Rust target is installed"
    else
        ARCH=x86_64
        ARCH_WHY="the aarch64-unknown-linux-gnu Rust target is not installed (rustup target add aarch64-unknown-linux-gnu for arm64, the default)"
    fi
}

# Stage name check with the sanitizer's suggestion (the app checks again).
check_stage() {
    local stage="$1"
    if ! [[ "$stage" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] || [ "${#stage}" -gt 20 ]; then
        local suggestion
        suggestion="$(cd "$INFRA" && npx --no-install tsx bin/stage-name.ts "$stage")"
        die "\"$stage\" is not a stage name (lower-case letters, digits, single hyphens, at most 20); for a branch use: $suggestion"
    fi
}

# The CDK CLI: infra's pinned one (node_modules/.bin/cdk). AUTHZ_CDK names another program, looked
# up on PATH like any command (the script tests put a stand-in `cdk` there: AUTHZ_CDK=cdk).
cdk_cli() {
    if [ -n "${AUTHZ_CDK:-}" ]; then
        "$AUTHZ_CDK" "$@"
    else
        "$INFRA/node_modules/.bin/cdk" "$@"
    fi
}
