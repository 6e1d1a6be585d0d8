# The project's install steps, shared by scripts/test-tools.sh, dev.sh (through test-tools.sh),
# test-browser.sh and infra/scripts/common.sh (sourced, not run). Expects ROOT (the repository).
#
# Every step can be interrupted at any moment and run again, and two set-ups may run at once in
# one checkout (cargo and npm ci behave so):
#   * verified, stamp written last: a tree counts as installed only when its stamp says so, and the
#     stamp is written after the install finished and a check passed (the pinned versions import,
#     the programs run); it is removed before anything in the tree changes, so an interrupted
#     install leaves no stamp and the next run installs again (`npm ci` starts from scratch; a
#     .venv without a working pip, or whose packages fail the check after pip, is removed and
#     created again, saying so in one line).
#   * locked: each tree's install holds an exclusive flock on a file beside it (.venv.setup-lock,
#     <dir>/node_modules.setup-lock); a second set-up waits for it (saying so), then finds the
#     stamp and does nothing.
# The pinned versions live here, once.

VENV="$ROOT/.venv"
# moto 5.2.5 (with its `server` extra: flask, werkzeug) is the release the tests were written
# against; its Secrets Manager API answers plain JSON calls with any dummy SigV4 header.
MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
CFN_LINT_VERSION=1.58.0

setup_note() { echo "setup: $*" >&2; }
setup_fail() { echo "error: $*" >&2; exit 1; }

setup_need() {
    command -v "$1" >/dev/null 2>&1 || setup_fail "$1 not found; $2"
}

# setup_locked LOCKFILE COMMAND...: runs COMMAND (in a subshell) holding an exclusive flock on
# LOCKFILE; waits, saying so, while another set-up holds it. Without flock(1) (not on macOS by
# default) it runs unlocked: then do not run two set-ups at once.
setup_locked() {
    local lock=$1
    shift
    (
        if command -v flock >/dev/null 2>&1; then
            exec {fd}>>"$lock"
            if ! flock -n "$fd"; then
                setup_note "waiting for another set-up of this checkout to finish (${lock#"$ROOT"/})"
                flock "$fd"
            fi
        fi
        "$@"
    )
}

# --- .venv: moto, cargo-lambda (with zig), cfn-lint ----------------------------------------
# Stamp: .venv/.setup-stamp, one line per component installed and checked ("NAME SPECS").

# The pip requirements of a component.
venv_specs() {
    case $1 in
        moto) echo "moto[server]==$MOTO_VERSION" ;;
        cargo-lambda) echo "cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION" ;;
        cfn-lint) echo "cfn-lint==$CFN_LINT_VERSION" ;;
        *) setup_fail "unknown .venv component $1" ;;
    esac
}

# Whether the component's pinned versions are the installed ones and its programs run.
venv_check() {
    local py="$VENV/bin/python"
    # shellcheck disable=SC2046 # one word per requirement
    "$py" -c '
import importlib.metadata as m, re, sys
for spec in sys.argv[1:]:
    name, version = re.sub(r"\[.*\]", "", spec).split("==")
    if m.version(name) != version:
        sys.exit(f"{name} {m.version(name)} is installed, not {version}")
' $(venv_specs "$1") || return 1
    case $1 in
        moto) "$py" -c 'import moto.server' ;;
        cargo-lambda) "$VENV/bin/cargo-lambda" lambda --version && "$py" -m ziglang version ;;
        cfn-lint) [[ $("$VENV/bin/cfn-lint" --version) == "cfn-lint $CFN_LINT_VERSION" ]] ;;
    esac
}

venv_stamped() {
    [[ -x $VENV/bin/python ]] && grep -qxF "$1 $(venv_specs "$1")" "$VENV/.setup-stamp" 2>/dev/null
}

# ensure_venv COMPONENT...: .venv holds the components (moto, cargo-lambda, cfn-lint).
ensure_venv() {
    local c
    for c in "$@"; do
        venv_stamped "$c" || {
            setup_locked "$VENV.setup-lock" venv_install "$@"
            return
        }
    done
}

venv_install() {
    local c missing=() all=() specs=() attempt
    for c in "$@"; do venv_stamped "$c" || missing+=("$c"); done
    [[ ${#missing[@]} -gt 0 ]] || return 0 # another set-up did it meanwhile
    # What was installed and checked before is installed again with the new (one resolution).
    for c in moto cargo-lambda cfn-lint; do
        if venv_stamped "$c" || [[ " $* " == *" $c "* ]]; then all+=("$c"); fi
    done
    # From here on, until the stamp is written again, .venv counts as not installed.
    rm -f "$VENV/.setup-stamp"
    for c in "${all[@]}"; do read -ra words <<<"$(venv_specs "$c")" && specs+=("${words[@]}"); done
    for attempt in 1 2; do
        if [[ -e $VENV ]] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
            setup_note ".venv has no working python or pip (an interrupted set-up?): removing it and creating it again"
            rm -rf "$VENV"
        fi
        if [[ ! -e $VENV ]]; then
            setup_need python3 "install Python 3.9 or later"
            setup_note "python3 -m venv .venv"
            python3 -m venv "$VENV" || setup_fail "python3 -m venv .venv failed (above); the next run starts over"
        fi
        setup_note "pip install ${specs[*]} (into .venv)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${specs[@]}" >&2 ||
            setup_fail "pip install ${specs[*]} into .venv failed (above); the next run installs again"
        local broken=()
        for c in "${all[@]}"; do venv_check "$c" >/dev/null 2>&1 || broken+=("$c"); done
        if [[ ${#broken[@]} -eq 0 ]]; then
            local stamp="$VENV/.setup-stamp"
            for c in "${all[@]}"; do echo "$c $(venv_specs "$c")"; done >"$stamp.tmp.$$"
            mv -f "$stamp.tmp.$$" "$stamp"
            return 0
        fi
        [[ $attempt == 1 ]] || setup_fail "${broken[*]} in .venv still fails its check after a fresh install: $(venv_check "${broken[0]}" 2>&1 | tail -1)"
        setup_note "${broken[*]} in .venv fails its check after pip install (a damaged install?): removing .venv and installing again"
        rm -rf "$VENV"
    done
}

# --- npm trees: tests/idp, tests/browser, infra ----------------------------------------------
# Stamp: <dir>/node_modules/.installed-from-package-lock.json, a copy of the lock file it was
# installed from.

# ensure_npm_tree DIR: DIR/node_modules is `npm ci` of DIR/package-lock.json.
ensure_npm_tree() {
    local dir="$ROOT/$1"
    cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-from-package-lock.json" 2>/dev/null ||
        setup_locked "$dir/node_modules.setup-lock" npm_install "$1"
}

npm_install() {
    local dir="$ROOT/$1" stamp="$ROOT/$1/node_modules/.installed-from-package-lock.json"
    cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null && return 0 # done meanwhile
    setup_need node "install Node.js 20 or later"
    setup_need npm "install npm (it comes with Node.js)"
    if [[ -e $dir/node_modules ]]; then
        rm -f "$stamp"
        setup_note "$1/node_modules is not installed from its package-lock.json (changed, or an interrupted set-up): npm ci installs it again"
    fi
    setup_note "npm ci ($1)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        setup_fail "npm ci in $1 failed (above); the next run starts it again"
    (cd "$dir" && npm ls --all >/dev/null 2>&1) ||
        setup_fail "npm ls in $1 finds the tree npm ci installed incomplete: $(cd "$dir" && npm ls --all 2>&1 | grep -m1 -E 'ERR|missing|invalid')"
    cp "$dir/package-lock.json" "$stamp.tmp.$$"
    mv -f "$stamp.tmp.$$" "$stamp"
}
