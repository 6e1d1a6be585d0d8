#!/usr/bin/env bash
# Installs the real external components the tests start on 127.0.0.1 (authz-testkit `external`):
#   * tests/idp/node_modules: npm oidc-provider, a real OpenID provider (`npm ci`, needs Node >= 20)
#   * .venv/bin/moto_server: moto, the AWS Secrets Manager API (python3 -m venv + pip)
# Runnable from any directory, idempotent, and silent when everything is already installed.
# usage: scripts/test-tools.sh [all|idp|moto]   (default all; scripts/dev.sh needs moto only)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
case "$what" in
    all|idp|moto) ;;
    *) echo "usage: $0 [all|idp|moto]" >&2; exit 2 ;;
esac

# moto 5.2.5 (with its `server` extra: flask, werkzeug) is the release the tests were written
# against; its Secrets Manager API answers plain JSON calls with any dummy SigV4 header.
MOTO_VERSION=5.2.5

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "error: $1 not found; $2" >&2
        exit 1
    }
}

# --- tests/idp: oidc-provider -------------------------------------------------------------
idp=tests/idp
# `npm ci` writes node_modules/.package-lock.json last: use it as the "installed" stamp.
if [[ $what != moto ]] && [[ ! -f $idp/node_modules/.package-lock.json || $idp/package-lock.json -nt $idp/node_modules/.package-lock.json ]]; then
    need node "install Node.js 20 or later"
    need npm "install npm (it comes with Node.js)"
    echo "==> npm ci ($idp)" >&2
    (cd "$idp" && npm ci --no-audit --no-fund --loglevel=error >&2)
    # npm ci keeps the lock's mtime; make the stamp newer than the lock in any case.
    touch "$idp/node_modules/.package-lock.json"
fi

# --- .venv: moto_server -------------------------------------------------------------------
if [[ $what != idp && ! -x .venv/bin/moto_server ]]; then
    if [[ ! -x .venv/bin/python ]]; then
        need python3 "install Python 3.9 or later"
        echo "==> python3 -m venv .venv" >&2
        python3 -m venv .venv
    fi
    echo "==> pip install moto[server]==$MOTO_VERSION (into .venv)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
