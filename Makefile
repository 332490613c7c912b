# Thin wrapper over the scripts: `make setup | run | test | bench | lint`.
.PHONY: setup build run test bench lint format

setup:
	scripts/setup.sh

build:
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j$$(nproc)

run: build
	build/core/steward serve

test:
	scripts/test.sh

bench: build
	scripts/bench.sh

lint:
	.venv/bin/ruff check worker core/tests bench
