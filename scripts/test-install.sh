#!/usr/bin/env bash
# Tests of the install steps (scripts/lib/install.sh, through scripts/test-tools.sh):
# tests/install/setup.test.mjs interrupts the .venv (moto) and tests/idp (npm ci) installs at
# several points (SIGKILL to the process group) and checks that the next run succeeds and leaves
# a working tree, and runs two set-ups at once in one checkout. It works in scratch copies in a
# temp directory (this checkout's .venv and node_modules are not touched) and needs the package
# registries (PyPI, npm); with their caches warm it takes a few minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v node >/dev/null 2>&1 || { echo "error: node not found (Node.js 20 or later)" >&2; exit 1; }
exec node --test --test-reporter=spec tests/install/setup.test.mjs
