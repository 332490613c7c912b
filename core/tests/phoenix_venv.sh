#!/usr/bin/env bash
# Installs Arize Phoenix (PyPI arize-phoenix, pinned with its whole tree in
# core/tests/requirements-phoenix.lock) into a venv of its own, the real OTLP/HTTP receiver that
# test_otlp_phoenix.py exports to, and prints the path of its `phoenix` executable, to export as
# STEWARD_TEST_PHOENIX. Idempotent: reinstalls only when the lock changed. Outside the checkout
# (like the pgvector server's), so CI runs on this machine reuse it.
#
#   export STEWARD_TEST_PHOENIX=$(core/tests/phoenix_venv.sh)
set -euo pipefail
cd "$(dirname "$0")"
LOCK="$PWD/requirements-phoenix.lock"
VENV="${STEWARD_PHOENIX_VENV:-/tmp/steward-phoenix/venv}"
PYTHON="${STEWARD_PYTHON:-python3}"

if [ ! -x "$VENV/bin/phoenix" ] || ! cmp -s "$LOCK" "$VENV/.installed-lock"; then
  echo "==> installing Phoenix into $VENV (core/tests/requirements-phoenix.lock)" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q -r "$LOCK" >&2
  cp "$LOCK" "$VENV/.installed-lock"
fi
echo "$VENV/bin/phoenix"
