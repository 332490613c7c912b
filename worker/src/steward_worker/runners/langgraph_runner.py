"""The LangGraph runner: runs a graph (graphs/) with models through the core's /v1 and tools through its /mcp,
checkpointed in PostgreSQL per thread, its interrupts turned into Steward approvals.

Input (docs/runner-protocol.md):
- a workflow whose orchestrator is `langgraph`: {graph, inputs, thread_id}; `inputs.question` (or `topic`)
  is what to research, other inputs tune the graph (ResearchSettings);
- an `agent` step or a chat turn of an agent with `runner: langgraph`: {message} (optionally thread_id):
  the research graph on that question.

Thread: `thread_id` (default: the run id) keys the checkpoints. A run on a thread that already has a
checkpoint resumes it instead of starting over: from the node after the last completed one (a worker that
died mid-graph), from a pending interrupt (asking the owner again), or, for a finished thread, by returning
its result without doing anything.

Interrupts: when the graph stops at an `interrupt()`, the runner calls `steward.escalate` through /mcp with
the interrupt's value; the core's approval gate holds the call until the owner decides, and the graph
resumes with `Command(resume=decision)`.

Output: `done.output` is the answer with its sources listed (also sent as one `token`); `done.data` the
structured result (graphs/research.py `result_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import Any, Final

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode
from pydantic import ValidationError

from .. import __version__
from .._tracing import tracer_provider
from ..errors import InternalError, RunError
from ..graphs.research import (
    ResearchContext,
    ResearchSettings,
    ToolOutcome,
    build_research_graph,
    initial_state,
    result_of,
)
from ..protocol import DoneEvent, RunMessage, TokenEvent
from . import Emit
from ._checkpoints import checkpointer
from ._core_session import CoreSession

__all__ = ["RUNNER", "LangGraphRunner"]

_log = logging.getLogger(__name__)

_GRAPHS: Final = ("research",)
_MAX_INTERRUPT_ROUNDS: Final = 10


def _question(request: RunMessage) -> str:
    inputs = request.input.inputs
    for key in ("question", "topic", "query"):
        value = inputs.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping) and isinstance(value.get("title"), str):
            return str(value["title"]).strip()  # a for_each item such as an HN story
    return request.input.message.strip()


def _traced(request: RunMessage) -> bool:
    sampled = otel_trace.get_current_span().get_span_context().trace_flags.sampled
    return bool(sampled and request.trace.traceparent)


class _WarmUpDeps:
    """Canned answers for the warm-up run: no network, nothing recorded."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        hit = {"title": "Warm-up", "url": "https://example.org/warm-up", "content": "Warm up the graph [1]."}
        return ToolOutcome(ok=True, structured={"results": [hit]}, text="")

    async def complete(self, messages: list[dict[str, str]]) -> str:
        return "Warm-up answer [1]."

    async def status(self, text: str, *, node: str | None = None, iteration: int | None = None) -> None:
        return None

    @contextmanager
    def node_span(self, node: str, iteration: int) -> Iterator[None]:
        yield None


class LangGraphRunner:
    """Runs LangGraph graphs against the core's /v1 and /mcp."""

    @property
    def name(self) -> str:
        return "langgraph"

    def versions(self) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for package in ("langgraph", "langgraph-checkpoint-postgres", "langchain-core", "psycopg"):
            try:
                found[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                continue
        return found

    async def warm_up(self) -> None:
        graph = build_research_graph(InMemorySaver())
        config: RunnableConfig = {"configurable": {"thread_id": "warm-up"}}
        settings = ResearchSettings(min_sources=1, max_iterations=1, escalate="never")
        await graph.ainvoke(
            initial_state("warm up", settings), config, context=ResearchContext(_WarmUpDeps())
        )

    async def run(self, request: RunMessage, emit: Emit) -> None:
        graph_name = request.input.graph or "research"
        if not _traced(request):
            await emit(await self._run(request, emit, graph_name, traced=False))
            return
        tracer = tracer_provider().get_tracer("steward_worker", __version__)
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": request.agent.name,
            "gen_ai.request.model": request.agent.model,
            "steward.runner": self.name,
            "langgraph.graph": graph_name,
        }
        with tracer.start_as_current_span(
            f"invoke_agent {request.agent.name}",
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                done = await self._run(request, emit, graph_name, traced=True)
            except RunError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.message))
                raise
            if done.data is not None:
                span.set_attribute("langgraph.iterations", int(done.data.get("iterations", 1)))
                span.set_attribute("langgraph.thread_id", str(done.data.get("thread_id", "")))
        await emit(done)  # after the span ended: the run's spans go with `done`

    async def _run(self, request: RunMessage, emit: Emit, graph_name: str, *, traced: bool) -> DoneEvent:
        if graph_name not in _GRAPHS:
            raise InternalError(
                f"the langgraph runner has no graph {graph_name!r} (it has: {', '.join(_GRAPHS)})"
            )
        thread_id = request.input.thread_id or request.run_id
        try:
            settings = ResearchSettings.model_validate(request.input.inputs)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InternalError(f"invalid inputs for the {graph_name} graph: {problems}") from None
        graph = build_research_graph(await checkpointer())
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        async with CoreSession(request, emit, traced=traced, graph=graph_name) as session:
            snapshot = await graph.aget_state(config)
            pending: Any
            if snapshot.values and not snapshot.next:
                await session.status(
                    f"langgraph {graph_name}: thread {thread_id} already finished; its result"
                )
            else:
                if snapshot.values:
                    iteration = snapshot.values.get("iteration", 1)
                    await session.status(
                        f"langgraph {graph_name}: resuming thread {thread_id} from its checkpoint "
                        f"(iteration {iteration}, next: {', '.join(snapshot.next)})"
                    )
                    pending = None
                else:
                    question = _question(request)
                    if not question:
                        raise InternalError(
                            f"the {graph_name} graph needs a question: input.message, or inputs.question"
                        )
                    await session.status(
                        f"langgraph {graph_name}: researching {question!r} (thread {thread_id})"
                    )
                    pending = initial_state(question, settings)
                await session.connect_tools()
                for _ in range(_MAX_INTERRUPT_ROUNDS):
                    interrupts = (
                        [i for task in snapshot.tasks for i in task.interrupts] if pending is None else []
                    )
                    if interrupts:
                        resume: dict[str, Any] = {}
                        for item in interrupts:
                            value = (
                                item.value if isinstance(item.value, Mapping) else {"reason": str(item.value)}
                            )
                            decision = await session.escalate(value)
                            await session.status(
                                f"escalate: the owner's decision: {decision.get('decision')}"
                                + (f" ({decision['by']})" if decision.get("by") else "")
                            )
                            resume[item.id] = decision
                        pending = Command(resume=resume)
                    async for _chunk in graph.astream(
                        pending,
                        config,
                        context=ResearchContext(session),
                        durability="sync",
                        stream_mode="updates",
                    ):
                        pass
                    snapshot = await graph.aget_state(config)
                    pending = None
                    if not snapshot.next:
                        break
                    if not any(task.interrupts for task in snapshot.tasks):
                        raise InternalError(
                            f"the {graph_name} graph stopped before {snapshot.next} without an interrupt"
                        )
                else:
                    raise InternalError(
                        f"the {graph_name} graph kept interrupting ({_MAX_INTERRUPT_ROUNDS} times)"
                    )
            text, data = result_of(snapshot.values, thread_id)
            stats = session.stats(retries=max(0, int(data["iterations"]) - 1))
        await emit(TokenEvent(run_id=request.run_id, text=text))
        return DoneEvent(run_id=request.run_id, output=text, stats=stats, data=data)


RUNNER: Final = LangGraphRunner()
