#!/usr/bin/env bash
# Installs the real external components the tests start on 127.0.0.1 (authz-testkit `external`)
# and the other trees the tests need; the steps themselves are scripts/lib/install.sh's:
#   * idp: tests/idp/node_modules, npm oidc-provider, a real OpenID provider (`npm ci`, Node >= 20)
#   * moto: .venv/bin/moto_server, moto, the AWS Secrets Manager API (python3 -m venv + pip)
#   * cargo-lambda: .venv/bin/cargo-lambda and zig (PyPI ziglang), what a plain
#     `npx cdk synth|diff|deploy` in infra/ bundles the authorizers with (scripts/deploy.sh and
#     scripts/test-infra.sh install the same into .venv themselves)
#   * cfn-lint: .venv/bin/cfn-lint (scripts/test-infra.sh)
#   * infra, browser: infra/node_modules, tests/browser/node_modules (`npm ci`)
# Runnable from any directory, silent when everything is already installed. Interrupting it at
# any moment (Ctrl-C, a killed terminal) and running it again just works, and two set-ups may run
# at once in one checkout (the second waits for the first): see scripts/lib/install.sh.
# usage: scripts/test-tools.sh [all|idp|moto|cargo-lambda|cfn-lint|infra|browser]...
#   (default all = idp and moto; scripts/dev.sh needs moto only)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/install.sh
. "$ROOT/scripts/lib/install.sh"

[[ $# -gt 0 ]] || set -- all
for what in "$@"; do
    case "$what" in
        all) ensure_npm_tree tests/idp; ensure_venv moto ;;
        idp) ensure_npm_tree tests/idp ;;
        moto | cargo-lambda | cfn-lint) ensure_venv "$what" ;;
        infra) ensure_npm_tree infra ;;
        browser) ensure_npm_tree tests/browser ;;
        *) echo "usage: $0 [all|idp|moto|cargo-lambda|cfn-lint|infra|browser]..." >&2; exit 2 ;;
    esac
done
