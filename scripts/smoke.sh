#!/usr/bin/env bash
# Smoke test of the deployed (or locally emulated) APIs against infra/routes.json: every route
# with no token, a bad token and each tier's token, checked against the status the semantics
# table predicts for the route's authorizer type. `scripts/smoke.sh --help` for the variables.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
command -v node >/dev/null 2>&1 || { echo "error: node not found (Node.js 20 or later)" >&2; exit 2; }
LOADER="$INFRA/node_modules/tsx/dist/loader.mjs"
if [ ! -e "$LOADER" ]; then
    (cd "$INFRA" && npm ci --no-audit --no-fund >&2)
fi
# Relative paths in the arguments stay relative to the caller's directory.
exec node --import "$LOADER" "$INFRA/bin/smoke.ts" "$@"
