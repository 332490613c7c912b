"""tracing_bench: what tracing costs a chat turn, end to end, with a zero-latency scripted model.

Two real `steward serve` processes run side by side on scratch databases, identical but for
`telemetry.enabled` (true: every span recorded, redacted, batched into the span table, and the worker's
Pydantic AI spans shipped back over stdio; false: no tracer at all). Each chat turn is one POST /api/chat
to a `done` event, timed at the client: session row, user message, run row, a warm worker, one model
call through /v1, the answer stored. Turns alternate between the two servers (ABBA order) so machine
noise lands on both alike; the overhead is the difference of medians relative to tracing off.

    .venv/bin/python bench/tracing/tracing_bench.py [--turns 300] [--tools] [--warmup 30]

`--tools` makes every turn also call memory.search once (two model calls, one tool call), the shape
that produces the most spans per turn. Needs the `steward` binary (STEWARD_BIN or the usual build dirs)
and PostgreSQL (STEWARD_TEST_PG, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "core" / "tests" / "functional"))

import httpx
from steward_harness import (
    Launcher,
    ServerSpec,
    StewardServer,
    base_config,
    parse_sse_lines,
)

TARGET_OVERHEAD = 0.02


def spec(enabled: bool, tools: bool) -> ServerSpec:
    config = base_config(None, pool_size=1)
    config["workers"]["start_timeout_s"] = 300  # a loaded 2-core machine takes over a minute to import the worker
    config["providers"]["zero"] = {"kind": "scripted", "script": "zero.yaml", "timeout_s": 30}
    config["models"]["zero"] = {"provider": "zero", "model": "zero", "price": {"input_per_mtok": 1, "output_per_mtok": 2}}
    config["agents"]["bench"] = {"runner": "pydantic_ai", "model": "zero", "tools": ["memory.*"] if tools else []}
    config["telemetry"] = {"enabled": enabled}
    responses: list[dict[str, Any]] = []
    if tools:
        responses.append({"match": "look", "tool_calls": [{"name": "memory.search", "arguments": {"query": "bench"}}]})
        responses.append({"when": "after_tool", "content": "Nothing about that yet, as far as memory goes."})
    responses.append({"content": "A short scripted answer of about a dozen words for the benchmark."})
    return ServerSpec(config, {"zero.yaml": {"responses": responses}})


def turn(client: httpx.Client, server: StewardServer, message: str) -> float:
    start = time.perf_counter()
    with client.stream("POST", f"{server.url}/api/chat", json={"message": message, "agent": "bench"},
                       headers=server.headers()) as response:
        if response.status_code != 200:
            raise RuntimeError(f"POST /api/chat answered {response.status_code}")
        for name, data in parse_sse_lines(response.iter_lines()):
            if name == "error":
                raise RuntimeError(f"the turn failed: {data}")
            if name == "done":
                break
    return (time.perf_counter() - start) * 1000


def trimmed_mean(samples: list[float], cut: float = 0.2) -> float:
    ordered = sorted(samples)
    k = int(len(ordered) * cut)
    return statistics.fmean(ordered[k : len(ordered) - k])


def summary(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return (f"p10 {q[1]:7.2f} ms   p25 {q[4]:7.2f}   median {statistics.median(samples):7.2f}   "
            f"trimmed mean {trimmed_mean(samples):7.2f}   p90 {q[-2]:7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=300, help="measured turns per server")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured turns per server first")
    parser.add_argument("--tools", action="store_true", help="each turn calls memory.search once")
    args = parser.parse_args()
    message = "look it up please" if args.tools else "hello"

    root = Path(__import__("tempfile").mkdtemp(prefix="tracing-bench-"))
    launcher = Launcher(root)
    try:
        on = launcher.launch(spec(True, args.tools), name="tracing-on")
        off = launcher.launch(spec(False, args.tools), name="tracing-off")
        timings: dict[str, list[float]] = {"on": [], "off": []}
        with httpx.Client(timeout=httpx.Timeout(60, connect=10)) as client:
            for _ in range(args.warmup):
                turn(client, on, message)
                turn(client, off, message)
            for i in range(args.turns):
                order = [("on", on), ("off", off)] if i % 4 in (0, 3) else [("off", off), ("on", on)]
                for label, server in order:
                    timings[label].append(turn(client, server, message))
        spans = on.query("SELECT count(*) AS n FROM span")[0]["n"]
        runs = on.query("SELECT count(*) AS n FROM run")[0]["n"]
        assert off.query("SELECT count(*) AS n FROM span")[0]["n"] == 0
    finally:
        launcher.close()

    off_median = statistics.median(timings["off"])
    # Each turn with tracing on is paired with the turn off next to it: the median of the paired
    # differences is robust to the machine getting slower or faster during the run.
    paired = statistics.median(a - b for a, b in zip(timings["on"], timings["off"], strict=True))
    overheads = {
        "median of paired differences": paired / off_median,
        "medians": statistics.median(timings["on"]) / off_median - 1,
        "p25s": statistics.quantiles(timings["on"], n=4)[0] / statistics.quantiles(timings["off"], n=4)[0] - 1,
        "trimmed means": trimmed_mean(timings["on"]) / trimmed_mean(timings["off"]) - 1,
    }
    shape = "chat turn with one tool call (2 model calls)" if args.tools else "chat turn (1 model call)"
    print(f"tracing_bench: {shape}, zero-latency scripted model, {args.turns} turns per server, ABBA order")
    print(f"  tracing off  {summary(timings['off'])}")
    print(f"  tracing on   {summary(timings['on'])}")
    print(f"  spans stored with tracing on: {spans} for {runs} runs ({spans / max(runs, 1):.1f} per turn)")
    for how, overhead in overheads.items():
        print(f"  overhead by {how:30s} {overhead * 100:+6.2f}%   (target <= {TARGET_OVERHEAD * 100:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
