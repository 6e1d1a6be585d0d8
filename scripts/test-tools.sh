#!/usr/bin/env bash
# Installs the real external components the tests start on 127.0.0.1 (authz-testkit `external`):
#   * tests/idp/node_modules: npm oidc-provider, a real OpenID provider (`npm ci`, needs Node >= 20)
#   * .venv/bin/moto_server: moto, the AWS Secrets Manager API (python3 -m venv + pip)
#   * with `cargo-lambda` only: .venv/bin/cargo-lambda and zig (PyPI ziglang), what a plain
#     `npx cdk synth|diff|deploy` in infra/ bundles the authorizers with (scripts/deploy.sh and
#     scripts/test-infra.sh install the same into .venv themselves)
# Runnable from any directory, idempotent, and silent when everything is already installed.
# usage: scripts/test-tools.sh [all|idp|moto|cargo-lambda]
#   (default all = idp and moto; scripts/dev.sh needs moto only)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
case "$what" in
    all|idp|moto|cargo-lambda) ;;
    *) echo "usage: $0 [all|idp|moto|cargo-lambda]" >&2; exit 2 ;;
esac

# moto 5.2.5 (with its `server` extra: flask, werkzeug) is the release the tests were written
# against; its Secrets Manager API answers plain JSON calls with any dummy SigV4 header.
MOTO_VERSION=5.2.5
# The cargo-lambda release infra/scripts/common.sh installs.
CARGO_LAMBDA_VERSION=1.9.2

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "error: $1 not found; $2" >&2
        exit 1
    }
}

# --- tests/idp: oidc-provider -------------------------------------------------------------
idp=tests/idp
# `npm ci` writes node_modules/.package-lock.json last: use it as the "installed" stamp.
if [[ $what == all || $what == idp ]] && [[ ! -f $idp/node_modules/.package-lock.json || $idp/package-lock.json -nt $idp/node_modules/.package-lock.json ]]; then
    need node "install Node.js 20 or later"
    need npm "install npm (it comes with Node.js)"
    echo "==> npm ci ($idp)" >&2
    (cd "$idp" && npm ci --no-audit --no-fund --loglevel=error >&2)
    # npm ci keeps the lock's mtime; make the stamp newer than the lock in any case.
    touch "$idp/node_modules/.package-lock.json"
fi

# --- .venv: moto_server -------------------------------------------------------------------
venv() {
    if [[ ! -x .venv/bin/python ]]; then
        need python3 "install Python 3.9 or later"
        echo "==> python3 -m venv .venv" >&2
        python3 -m venv .venv
    fi
}
if [[ ($what == all || $what == moto) && ! -x .venv/bin/moto_server ]]; then
    venv
    echo "==> pip install moto[server]==$MOTO_VERSION (into .venv)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi

# --- .venv: cargo-lambda and zig ---------------------------------------------------------
if [[ $what == cargo-lambda ]] && { [[ ! -x .venv/bin/cargo-lambda ]] || ! .venv/bin/python -c 'import ziglang' 2>/dev/null; }; then
    venv
    echo "==> pip install cargo-lambda==$CARGO_LAMBDA_VERSION ziglang (into .venv)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" ziglang >&2
fi
