#!/usr/bin/env bash
# The whole test suite: ruff, mypy, import-linter, then pytest on the embedded defaults (SQLite, file-system
# broker) and, where PostgreSQL and Redis are available, again on them.
# In CI (CI=true) or with CONFOPS_TEST_SERVICES=1 it installs and starts those servers itself.
# Extra arguments go to both pytest runs, e.g. scripts/test.sh -k health
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
export CONFOPS_IGNORE_DOTENV=1 PYTHONDONTWRITEBYTECODE=1
# Broker folders, file cache and the SQLite test database of this run, away from the demo's var/.
CONFOPS_DATA_DIR=${CONFOPS_DATA_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/confops-test.XXXXXX")}
export CONFOPS_DATA_DIR
# Tests run with DEBUG off, as production does; this key signs nothing that outlives the run.
export SECRET_KEY=${SECRET_KEY:-tests-only-not-a-secret}

if [ "${CI:-}" = "true" ] || [ "${CONFOPS_TEST_SERVICES:-}" = "1" ]; then
  # shellcheck disable=SC1090
  source "$(bash scripts/services.sh start)"
fi

section() { printf '\n=== %s\n' "$*"; }

# Both cores: one pytest-xdist worker each (tests/worker_isolation.py keeps their data folders,
# caches and brokers apart); a test file stays on one worker, so its module fixtures start once.
# PYTEST_WORKERS=0 runs in this process, e.g. to debug with -x --pdb.
WORKERS=${PYTEST_WORKERS:-2}

# pytest exits 5 when it selected no test: that means the suite is broken, not green.
run_pytest() {
  local status=0
  # --durations: the slowest tests of each pass, printed at the end, to keep the suite in budget.
  "$BIN/python" -m pytest -n "$WORKERS" --dist loadfile --durations=25 "$@" || status=$?
  if [ "$status" = 5 ]; then
    echo "pytest selected no test: failing on purpose (check paths, markers and -k)" >&2
    return 1
  fi
  return "$status"
}

section "ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .

section "mypy"
"$BIN/mypy" .

section "import-linter (the import map of docs/architecture.md)"
"$BIN/lint-imports"

section "pytest on SQLite with the file-system broker, a year ahead"
# This pass runs every in-process test on a clock a year ahead (tests/conftest.py): a test that
# fixes a date yet reads the real clock somewhere fails today, not weeks after it was written.
# The PostgreSQL/Redis pass runs on today's clock.
CONFOPS_TEST_CLOCK_SHIFT_DAYS=${CONFOPS_TEST_CLOCK_SHIFT_DAYS:-365} run_pytest "$@"

if [ -n "${TEST_POSTGRES_URL:-}" ] && [ -n "${TEST_REDIS_URL:-}" ]; then
  section "pytest on PostgreSQL with the Redis broker and cache"
  # The Dagster example tests do not touch confops' database, and the scenario replays run on
  # their own SQLite sandbox, as does the production install: the first pass covered them.
  CONFOPS_TEST_CLOCK_SHIFT_DAYS=0 \
  DATABASE_URL=$TEST_POSTGRES_URL \
  CELERY_BROKER_URL=$TEST_REDIS_URL/0 \
  CACHE_URL=$TEST_REDIS_URL/1 \
    run_pytest -m "not dagster and not sandboxed_replay and not own_database" "$@"
else
  section "PostgreSQL/Redis pass skipped: set TEST_POSTGRES_URL and TEST_REDIS_URL, or run with CI=true or CONFOPS_TEST_SERVICES=1 to start them"
fi
