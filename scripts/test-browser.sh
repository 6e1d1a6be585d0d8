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
# A browser counts as found only when `--version` runs (a half-installed one is passed over); the
# apt-get install waits for dpkg's lock (another install) and, when an earlier install was
# interrupted ("dpkg was interrupted"), runs `dpkg --configure -a` first, saying so.
# Also installs tests/browser/node_modules (`npm ci`) and moto (for opaque tokens) with
# scripts/test-tools.sh (interruptible and re-runnable), the debug binaries if missing (scripts/test.sh's `cargo test` has just built
# them; the page is compiled into authz-local, so after editing demo_page.html run
# `cargo build -p authz-local` first). Runnable from any directory.
# BROWSER_SCREENSHOT_DIR=DIR keeps the screenshots there (default: a new temp directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Whether $1 is an executable browser that runs.
runs() { [[ -x $1 ]] && "$1" --version >/dev/null 2>&1; }

# Prints the first usable Chromium-family browser, or nothing.
find_browser() {
    local c p
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
        p=$(command -v "$c" 2>/dev/null) || continue
        [[ $p == /snap/* || $(readlink -f "$p" 2>/dev/null) == /snap/* ]] && continue
        runs "$p" && { echo "$p"; return; }
    done
    for p in /usr/bin/chromium /usr/local/share/chromium/chrome-linux/chrome /opt/google/chrome/chrome; do
        runs "$p" && { echo "$p"; return; }
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
        # --reinstall: a chromium that is there but does not run is a damaged install.
        reinstall=()
        [[ -e /usr/bin/chromium ]] && reinstall=(--reinstall)
        apt_install() {
            "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600 --no-install-recommends "${reinstall[@]}" chromium >&2
        }
        echo "==> apt-get install chromium (Debian's, about 110 MB)" >&2
        start=$SECONDS
        if ! apt_install; then
            if "${as_root[@]}" dpkg --audit 2>/dev/null | grep -q .; then
                echo "setup: dpkg has unfinished packages (an interrupted install?): running dpkg --configure -a, then installing again" >&2
                "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >&2
            else
                # A fresh image may have no package lists, or stale ones.
                echo "setup: apt-get install failed; apt-get update, then installing again" >&2
                "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >&2
            fi
            apt_install
        fi
        runs /usr/bin/chromium || { echo "error: /usr/bin/chromium does not run after apt-get install chromium" >&2; exit 1; }
        echo "==> chromium installed in $((SECONDS - start)) s" >&2
        CHROMIUM=/usr/bin/chromium
    fi
fi
export CHROMIUM
echo "==> browser: $CHROMIUM" >&2

dir=tests/browser
scripts/test-tools.sh browser moto

bin=target/debug
for b in authz-local token-authorizer request-authorizer http-authorizer; do
    [ -x "$bin/$b" ] || cargo build --locked -p "$b"
done

export AUTHZ_LOCAL_BIN_DIR=$PWD/$bin
cd "$dir"
exec node --test --test-reporter=spec demo-page.test.mjs
