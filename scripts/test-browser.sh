#!/usr/bin/env bash
# The local mode's demo page in a real browser: tests/browser/demo-page.test.mjs (node:test +
# playwright-core) starts authz-local (the debug binaries) on free loopback ports and clicks
# through each API's page at `/` in headless Chromium or Google Chrome, checking the statuses and
# data shown. The browser: CHROMIUM=/path if set (no search, no install); otherwise the first of
# chromium, chromium-browser, google-chrome, google-chrome-stable on PATH (snap wrappers left out:
# their confinement breaks a driven browser) and the usual install paths; none found, on Debian it
# installs Debian's `chromium` (apt-get; no browser download: playwright-core drives the system
# one); elsewhere it stops and says what to install. GitHub's ubuntu-24.04 runner has Google
# Chrome preinstalled (/usr/bin/google-chrome), where Ubuntu's own `chromium` is only a snap.
# Also installs tests/browser/node_modules (`npm ci`), moto (scripts/test-tools.sh moto, for
# opaque tokens), the debug binaries if missing (scripts/test.sh's `cargo test` has just built
# them; the page is compiled into authz-local, so after editing demo_page.html run
# `cargo build -p authz-local` first). Runnable from any directory.
# BROWSER_SCREENSHOT_DIR=DIR keeps the screenshots there (default: a new temp directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Prints the first usable Chromium-family browser, or nothing.
find_browser() {
    local c p
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
        p=$(command -v "$c" 2>/dev/null) || continue
        [[ $p == /snap/* || $(readlink -f "$p" 2>/dev/null) == /snap/* ]] && continue
        [[ -x $p ]] && { echo "$p"; return; }
    done
    for p in /usr/bin/chromium /usr/local/share/chromium/chrome-linux/chrome /opt/google/chrome/chrome; do
        [[ -x $p ]] && { echo "$p"; return; }
    done
    return 0
}

if [[ -n ${CHROMIUM:-} ]]; then
    [[ -x $CHROMIUM ]] || { echo "error: CHROMIUM=$CHROMIUM is not an executable" >&2; exit 1; }
else
    CHROMIUM=$(find_browser)
    if [[ -z $CHROMIUM ]]; then
        os_id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
        if [[ $os_id != debian ]]; then
            echo "error: no Chromium or Google Chrome found (looked for chromium, chromium-browser, google-chrome on PATH);" \
                "install one (on Ubuntu: Google Chrome's .deb, Ubuntu's chromium is a snap) or set CHROMIUM=/path/to/chrome" >&2
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
        CHROMIUM=/usr/bin/chromium
    fi
fi
export CHROMIUM
echo "==> browser: $CHROMIUM" >&2

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
