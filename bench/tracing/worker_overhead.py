"""worker_overhead: the Python worker's CPU cost of tracing one agent turn, immune to machine load.

Measures process CPU time (not wall time) of a Pydantic AI turn against an in-memory model, untraced vs
traced as the runner does it (the run's `invoke_agent` span under the core's traceparent, collected and
encoded into the `spans` message), and with Pydantic AI's own instrumentation as
STEWARD_WORKER_FRAMEWORK_SPANS=1 enables it. Interleaved; medians of --turns each.

    .venv/bin/python bench/tracing/worker_overhead.py [--turns 600]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from steward_worker._tracing import RunTrace, resource_json, tracer_provider
from steward_worker.protocol import SpansEvent, encode
from steward_worker.runners.pydantic_ai_runner import _instrumentation

TRACEPARENT = "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("A short scripted answer of about a dozen words for the benchmark.")])


async def turn(mode: str) -> float:
    run = RunTrace(TRACEPARENT if mode != "off" else TRACEPARENT[:-2] + "00")
    agent = Agent(FunctionModel(answer), name="bench", capabilities=[_instrumentation()] if mode == "framework" else [])
    start = time.process_time()
    with run.activated():
        if mode == "runner":
            with tracer_provider().get_tracer("steward_worker").start_as_current_span(
                "invoke_agent bench", attributes={"gen_ai.operation.name": "invoke_agent"}
            ):
                await agent.run("hello")
        else:
            await agent.run("hello")
    spans = run.finish()
    if spans:
        encode(SpansEvent(run_id="r", resource=resource_json(), spans=spans))
    return (time.process_time() - start) * 1000


async def main(turns: int) -> None:
    modes = ("off", "runner", "framework")
    for _ in range(50):
        for mode in modes:
            await turn(mode)
    cpu: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(turns):
        for mode in modes:
            cpu[mode].append(await turn(mode))
    off = statistics.median(cpu["off"])
    print(f"worker_overhead: CPU per agent turn (in-memory model), median of {turns}")
    print(f"  tracing off                         {off:6.3f} ms")
    for mode, label in (("runner", "traced (runner spans, default)"), ("framework", "traced (Pydantic AI spans)")):
        median = statistics.median(cpu[mode])
        print(f"  {label:34s}  {median:6.3f} ms   (+{median - off:.3f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=600)
    asyncio.run(main(parser.parse_args().turns))
