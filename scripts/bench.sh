#!/usr/bin/env bash
# Builds the benchmarks (build/, -DSTEWARD_BUILD_BENCH=ON) and runs them. They print numbers;
# bench/README.md says what each one means. About 1-2 minutes, loopback only.
#
#   STEWARD_BENCH_PG        PostgreSQL server for scratch databases
#                           (default postgresql://postgres@127.0.0.1:5432/postgres)
#   STEWARD_BENCH_BUILD     build directory (default build)
#   GATEWAY_BENCH_ARGS      extra arguments for gateway_bench (e.g. "--requests=500 --spin")
#   WHOLE_PATH_ARGS         extra arguments for whole_path.py (e.g. "-n 20")
#   TOOL_BENCH_ARGS         extra arguments for tool_bench (e.g. "--calls=5000 --tools=1")
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${STEWARD_BENCH_BUILD:-build}"
export STEWARD_BENCH_PG="${STEWARD_BENCH_PG:-postgresql://postgres@127.0.0.1:5432/postgres}"

if ! pg_isready -q -d "$STEWARD_BENCH_PG"; then
  echo "==> starting the local PostgreSQL cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
fi

echo "==> building steward and the benchmarks in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target steward gateway_bench engine_bench tool_bench

echo
echo "==> gateway_bench: the core's own cost on /v1 (in-process server, raw-socket client)"
# shellcheck disable=SC2086  # word splitting of the extra arguments is intended
"$BUILD/bench/gateway_bench" ${GATEWAY_BENCH_ARGS:-}

echo
echo "==> whole_path.py: CLI -> core -> worker -> model -> core -> CLI"
# shellcheck disable=SC2086
.venv/bin/python bench/gateway/whole_path.py --steward "$BUILD/core/steward" ${WHOLE_PATH_ARGS:-}

echo
echo "==> engine_bench: the workflow engine's cost per durable no-op step (PostgreSQL commit included)"
"$BUILD/bench/engine_bench" --pg="$STEWARD_BENCH_PG"

echo
echo "==> tool_bench: what the tool hub adds to a tool call (registry, /mcp), tracing off and on"
# shellcheck disable=SC2086
"$BUILD/bench/tool_bench" ${TOOL_BENCH_ARGS:-}
