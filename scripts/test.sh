#!/usr/bin/env bash
# The whole test suite: install the Debian peers the tests need, build, lint, run every test.
# CI (CI=true) runs exactly this; a peer that cannot be installed is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci
bash scripts/install-peers.sh
rm -rf dist
npm run --silent build
npm run --silent lint

only_unit=0
[ "${1:-}" = "--only-unit" ] && only_unit=1

mapfile -t files < <(find dist/test dist/bench -name '*.test.js' | sort)
if [ "$only_unit" = 1 ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep '^dist/test/unit/')
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under dist/test" >&2
  exit 1
fi
exec node --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
