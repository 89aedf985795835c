#!/usr/bin/env bash
# `npm test`: the system programs the tests drive, then every check CI runs, in order:
# types (server, then the admin page's modules), format + lint, the import layers, and the
# tests themselves. Extra arguments go to `bun test` (e.g. `npm test -- test/api`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/install-test-deps.sh
tsc --noEmit -p .
tsc --noEmit -p tsconfig.public.json
biome ci --diagnostic-level=error src test bench scripts public
bun scripts/check-imports.ts
bun test --timeout 60000 "$@"
