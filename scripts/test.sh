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

# One PostgreSQL for the whole run (the state store's PostgreSQL suites and the team e2e), an
# unprivileged cluster in a temp folder on a loopback port, stopped when the run ends.
pg_parent=$(mktemp -d "${TMPDIR:-/tmp}/director-test-pg-XXXXXX")
chmod 0711 "$pg_parent"
trap 'bash scripts/test-postgres.sh stop "$pg_parent/pg"; rm -rf "$pg_parent"' EXIT
DIRECTOR_TEST_POSTGRES=$(bash scripts/test-postgres.sh start "$pg_parent/pg")
DIRECTOR_TEST_POSTGRES_PASSWORD=$(cat "$pg_parent/pg/password")
export DIRECTOR_TEST_POSTGRES DIRECTOR_TEST_POSTGRES_PASSWORD

mapfile -t files < <(find dist/test dist/bench -name '*.test.js' | sort)
if [ "$only_unit" = 1 ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep '^dist/test/unit/')
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under dist/test" >&2
  exit 1
fi
node --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
