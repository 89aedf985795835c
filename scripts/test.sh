#!/usr/bin/env bash
# `npm test`: the system programs the tests drive, then every check CI runs, in order:
# types (server, then the admin page's modules), format + lint, the import layers, and the
# tests themselves — all of them on SQLite, then the API, delivery and ingest suites again on
# PostgreSQL (HOOKD_TEST_DRIVER=postgres: a fresh database per app on a test server). Extra
# arguments go to `bun test` and skip the second run (e.g. `npm test -- test/api`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/install-test-deps.sh
tsc --noEmit -p .
tsc --noEmit -p tsconfig.public.json
biome ci --diagnostic-level=error src test bench scripts public
bun scripts/check-imports.ts
bun test --timeout 60000 "$@"
if [ "$#" -eq 0 ]; then
  HOOKD_TEST_DRIVER=postgres bun test --timeout 60000 test/api test/deliver test/ingest
fi
