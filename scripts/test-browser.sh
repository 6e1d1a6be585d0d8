#!/usr/bin/env bash
# The local mode's demo page in a real browser: tests/browser/demo-page.test.mjs (node:test +
# playwright-core) starts authz-local (the debug binaries) on free loopback ports and clicks
# through each API's page at `/` in headless Chromium, checking the statuses and data shown.
# Installs what it needs: Debian's `chromium` (apt-get, if /usr/bin/chromium is missing; no
# browser download: playwright-core drives the system one), tests/browser/node_modules
# (`npm ci`), moto (scripts/test-tools.sh moto, for opaque tokens), the debug binaries if
# missing (scripts/test.sh's `cargo test` has just built them; the page is compiled into
# authz-local, so after editing demo_page.html run `cargo build -p authz-local` first).
# Runnable from any directory. CHROMIUM=/path/to/chrome uses another Chromium (no install);
# BROWSER_SCREENSHOT_DIR=DIR keeps the screenshots there (default: a new temp directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    if [[ $CHROMIUM != /usr/bin/chromium ]]; then
        echo "error: CHROMIUM=$CHROMIUM is not an executable" >&2
        exit 1
    fi
    as_root=()
    [[ $(id -u) -eq 0 ]] || as_root=(sudo)
    apt_install() {
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends chromium >&2
    }
    echo "==> apt-get install chromium (Debian's, about 110 MB)" >&2
    start=$SECONDS
    if ! apt_install; then
        # A fresh image may have no package lists, or stale ones.
        echo "==> apt-get update" >&2
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        apt_install
    fi
    echo "==> chromium installed in $((SECONDS - start)) s" >&2
fi

dir=tests/browser
# `npm ci` writes node_modules/.package-lock.json last: the "installed" stamp (as test-tools.sh).
if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    echo "==> npm ci ($dir)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$dir/node_modules/.package-lock.json"
fi

scripts/test-tools.sh moto

bin=target/debug
for b in authz-local token-authorizer request-authorizer http-authorizer; do
    [ -x "$bin/$b" ] || cargo build --locked -p "$b"
done

export AUTHZ_LOCAL_BIN_DIR=$PWD/$bin
cd "$dir"
exec node --test --test-reporter=spec demo-page.test.mjs
