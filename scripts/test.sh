#!/usr/bin/env bash
# `npm test`: the system programs the tests drive, then every check CI runs, in order:
# types, admin page types, format + lint, the import layers, and the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/install-test-deps.sh
tsc --noEmit -p .
biome ci --diagnostic-level=error src test bench scripts
bun scripts/check-imports.ts
bun test --timeout 60000 "$@"
