"""The Pydantic AI runner: one `Agent` per run, models through the core's /v1, tools through its /mcp.

Streaming: every text delta the model writes for the user is sent as a `token` as it arrives. Text a model
writes before calling tools ("let me look that up") is shown too, so `done.output` is everything the user
saw: such commentary, a blank line, then the final answer. Without tool calls it is just the answer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from importlib import metadata
from typing import Any, Final

import httpx2
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode
from pydantic_ai import (
    Agent,
    AgentRunResult,
    AgentRunResultEvent,
    AgentStreamEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    PartDeltaEvent,
    PartStartEvent,
    RetryFeedbackPart,
    TextPart,
    TextPartDelta,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai import exceptions as pai_errors
from pydantic_ai.capabilities.instrumentation import Instrumentation
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.profiles.openai import OpenAIModelProfile
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider
from pydantic_ai.toolsets import AbstractToolset

from .. import __version__
from .._tracing import inject_traceparent, tool_traceparent, tracer_provider
from ..errors import ModelError, RunCancelled, RunError, ToolError
from ..protocol import (
    AgentSpec,
    DoneEvent,
    HistoryMessage,
    RunMessage,
    RunStats,
    StatusEvent,
    TokenEvent,
)
from . import Emit
from ._pydantic_ai_warm_up import run_warm_up_turn
from ._tool_names import matches_any, restrict_tools

__all__ = ["RUNNER", "PydanticAIRunner", "to_message_history"]

_log = logging.getLogger(__name__)

_PROVIDER_NAME: Final = "steward"
_ANSWER_SEPARATOR: Final = "\n\n"
_MCP_CONNECT_TIMEOUT_S: Final = 10.0
# Pydantic AI's own spans (invoke_agent, chat, execute_tool with GenAI attributes) cost about a millisecond
# of CPU per turn; by default the runner records just the run and its tool calls, and the core's spans
# show each model call under the run. STEWARD_WORKER_FRAMEWORK_SPANS=1 switches to Pydantic AI's.
_FRAMEWORK_SPANS: Final = os.environ.get("STEWARD_WORKER_FRAMEWORK_SPANS", "") == "1"
# The MCP SDK's own defaults for its HTTP client: 30 s per request, 5 min for a streamed answer.
_MCP_HTTP_TIMEOUT: Final = httpx2.Timeout(30.0, read=300.0)
_RETRIES_EXCEEDED = re.compile(r"Tool '(?P<name>.+?)' exceeded max retries count of (?P<count>\d+)")

# The core's /v1 is OpenAI-compatible but not OpenAI: send plain 'system' messages and nothing that only
# OpenAI's own API accepts. Merged over the profile pydantic-ai picks for the model name.
_PROFILE: Final = OpenAIModelProfile(openai_system_prompt_role="system")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every HTTP client: building one loads the CA store (~50 ms), even for http://."""
    return ssl.create_default_context()


@functools.cache
def _instrumentation() -> Instrumentation:
    """Pydantic AI's OpenTelemetry spans (invoke_agent, chat, execute_tool) without message content: prompts,
    answers and tool arguments stay out of telemetry (the core records what it needs, redacted)."""
    settings = InstrumentationSettings(
        tracer_provider=tracer_provider(),
        include_content=False,
        include_binary_content=False,
        include_model_request_parameters=False,
    )
    return Instrumentation(settings=settings)


async def _traceparent_hook(request: httpx2.Request) -> None:
    """Each /v1 call names the framework span it belongs to, so the core's model span nests under it."""
    inject_traceparent(request.headers)


def to_message_history(history: Sequence[HistoryMessage]) -> list[ModelMessage]:
    """Converts the core's conversation (oldest first) into pydantic-ai messages."""
    messages: list[ModelMessage] = []
    for turn in history:
        if turn.role == "user":
            messages.append(ModelRequest(parts=[UserPromptPart(turn.content)]))
        else:
            messages.append(ModelResponse(parts=[TextPart(turn.content)], model_name=None))
    return messages


def _build_model(model_name: str, openai_client: AsyncOpenAI) -> OpenAIChatModel:
    provider = OpenAICompatibleProvider(_PROVIDER_NAME, openai_client=openai_client, profile=_PROFILE)
    return OpenAIChatModel(model_name, provider=provider)


def _build_agent(
    spec: AgentSpec, model: OpenAIChatModel, toolsets: Sequence[AbstractToolset[Any]], *, traced: bool = False
) -> Agent[None, str]:
    settings = ModelSettings()
    if spec.temperature is not None:
        settings["temperature"] = spec.temperature
    return Agent(
        model,
        # Instructions, not system_prompt: pydantic-ai sends a system prompt only when there is no history.
        instructions=spec.system_prompt or None,
        name=spec.name,
        model_settings=settings,
        retries=spec.max_retries,
        toolsets=list(toolsets),
        capabilities=[_instrumentation()] if traced else [],
    )


def _traced(request: RunMessage) -> bool:
    """Whether the core records this run (its traceparent's sampled flag)."""
    sampled = otel_trace.get_current_span().get_span_context().trace_flags.sampled
    return sampled and bool(request.trace.traceparent)


def _mcp_traceparent_hook(aliases: Mapping[str, str]) -> Callable[[httpx2.Request], Awaitable[None]]:
    """A /mcp request hook: a `tools/call` names the framework's `execute_tool` span of that tool as parent.

    The MCP client sends from a task started when it connected, whose context is the run's, not the tool
    call's; so the span is found by tool name among the run's open `execute_tool` spans.
    """
    trace_id = otel_trace.get_current_span().get_span_context().trace_id

    async def hook(request: httpx2.Request) -> None:
        inject_traceparent(request.headers)
        if request.method != "POST" or not trace_id:
            return
        try:
            body = json.loads(request.content)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(body, dict) or body.get("method") != "tools/call":
            return
        name = str((body.get("params") or {}).get("name", ""))
        model_facing = next((alias for alias, real in aliases.items() if real == name), name)
        if traceparent := tool_traceparent(trace_id, model_facing):
            request.headers["traceparent"] = traceparent

    return hook


class _Answer:
    """The text the user sees, streamed as `token` events; its concatenation is `done.output`."""

    def __init__(self, run_id: str, emit: Emit) -> None:
        self._run_id = run_id
        self._emit = emit
        self._parts: list[str] = []
        self._after_tools = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def tools_called(self) -> None:
        """Marks a step boundary: text after it starts a new paragraph."""
        self._after_tools = True

    async def add(self, chunk: str) -> None:
        if not chunk:
            return
        if self._after_tools and self._parts:
            chunk = _ANSWER_SEPARATOR + chunk
        self._after_tools = False
        self._parts.append(chunk)
        await self._emit(TokenEvent(run_id=self._run_id, text=chunk))


class _RunState:
    """Per-run bookkeeping while events stream."""

    def __init__(
        self, request: RunMessage, emit: Emit, aliases: Mapping[str, str], tracer: otel_trace.Tracer | None
    ) -> None:
        self.request = request
        self.emit = emit
        self.aliases = aliases
        self.answer = _Answer(request.run_id, emit)
        self.tool_calls = 0
        self.tool_errors = 0
        self.tracer = tracer
        self.tool_spans: dict[str, otel_trace.Span] = {}

    def tool_name(self, model_facing: str) -> str:
        return self.aliases.get(model_facing, model_facing)

    async def on_event(self, event: AgentStreamEvent) -> None:
        if isinstance(event, PartStartEvent):
            if isinstance(event.part, TextPart):
                await self.answer.add(event.part.content)
        elif isinstance(event, PartDeltaEvent):
            if isinstance(event.delta, TextPartDelta):
                await self.answer.add(event.delta.content_delta)
        elif isinstance(event, FunctionToolCallEvent):
            self.tool_calls += 1
            self.answer.tools_called()
            name = self.tool_name(event.part.tool_name)
            if self.tracer is not None:
                # Open while the tool runs, so the /mcp call names it as parent (_mcp_traceparent_hook).
                self.tool_spans[event.part.tool_call_id] = self.tracer.start_span(
                    f"execute_tool {name}",
                    attributes={
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": event.part.tool_name,
                        "gen_ai.tool.call.id": event.part.tool_call_id,
                        "tool.name": name,
                    },
                )
            await self.emit(StatusEvent(run_id=self.request.run_id, text=f"calling {name}…"))
        elif isinstance(event, FunctionToolResultEvent):
            span = self.tool_spans.pop(event.part.tool_call_id, None)
            if event.part.outcome != "success":
                self.tool_errors += 1
                name = self.tool_name(event.part.tool_name)
                _log.info("run %s: tool %s %s", self.request.run_id, name, event.part.outcome)
                if span is not None:
                    span.set_status(Status(StatusCode.ERROR, f"tool {event.part.outcome}"))
            if span is not None:
                span.end()

    def stats(self, result: AgentRunResult[str]) -> RunStats:
        retries = 0
        for message in result.new_messages():
            if isinstance(message, ModelRequest):
                for part in message.parts:
                    if isinstance(part, RetryFeedbackPart) or (
                        isinstance(part, ToolReturnPart) and part.outcome == "retried"
                    ):
                        retries += 1
        return RunStats(
            model_calls=result.usage.requests,
            tool_calls=self.tool_calls,
            tool_errors=self.tool_errors,
            retries=retries,
        )


def _error_text(body: object) -> str | None:
    """The readable message of an OpenAI-style error body: {"error": {"message": ...}} or its inside."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    if isinstance(body, str) and body.strip():
        return body.strip()
    return None


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _translate(exc: BaseException, state: _RunState) -> RunError:
    """Turns a pydantic-ai / MCP / HTTP failure into the error the user is shown."""
    exc = _leaf(exc)
    model = state.request.agent.model
    if isinstance(exc, RunError):
        return exc
    if isinstance(exc, pai_errors.RunCancelled):
        return RunCancelled("the run was cancelled")
    if isinstance(exc, pai_errors.ModelHTTPError):
        detail = _error_text(exc.body) or exc.message
        return ModelError(f"the model call to {model!r} failed with HTTP {exc.status_code}: {detail}")
    if isinstance(exc, pai_errors.ModelAPIError):
        return ModelError(f"the model call to {model!r} failed: {exc.message}")
    if isinstance(exc, pai_errors.UnexpectedModelBehavior):
        if match := _RETRIES_EXCEEDED.match(exc.message):
            name = state.tool_name(match["name"])
            cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
            return ToolError(f"tool {name} kept failing ({match['count']} retries used){cause}")
        return ModelError(f"the model {model!r} answered in a way the agent could not use: {exc.message}")
    if isinstance(exc, pai_errors.UsageLimitExceeded):
        return ModelError(f"the run hit a usage limit: {exc}")
    # Model-side HTTP failures arrive as ModelAPIError above; what is left from these libraries is the MCP
    # client (fastmcp on the MCP SDK, over httpx2).
    if type(exc).__module__.split(".")[0] in {"fastmcp", "mcp", "mcp_types", "httpx2", "httpcore2"}:
        return ToolError(f"the tool endpoint failed: {type(exc).__name__}: {exc}")
    raise exc


class PydanticAIRunner:
    """Runs agents with Pydantic AI against the core's /v1 and /mcp."""

    @property
    def name(self) -> str:
        return "pydantic_ai"

    def versions(self) -> Mapping[str, str]:
        packages = ("pydantic-ai-slim", "pydantic", "openai", "mcp", "fastmcp-slim")
        found: dict[str, str] = {}
        for package in packages:
            try:
                found[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                continue
        return found

    async def warm_up(self) -> None:
        spec = AgentSpec(name="warm-up", model="warm-up", temperature=0.0, tools=["*"])
        _tls_context()
        # Building (not connecting) an MCP toolset imports the client's transports.
        MCPToolset(
            "http://127.0.0.1:9/mcp", headers={"Authorization": "Bearer warm-up"}, verify=_tls_context()
        )
        history = to_message_history(
            [HistoryMessage(role="user", content="hi"), HistoryMessage(role="assistant", content="hi")]
        )
        # Traced, so the instrumentation's code paths are warm too (its spans belong to no run: dropped).
        await run_warm_up_turn(
            lambda client, toolsets: _build_agent(
                spec, _build_model(spec.model, client), toolsets, traced=True
            ),
            history,
        )

    async def run(self, request: RunMessage, emit: Emit) -> None:
        traced = _traced(request)
        if not traced or _FRAMEWORK_SPANS:
            await emit(await self._run(request, emit, framework_spans=traced, tracer=None))
            return
        tracer = tracer_provider().get_tracer("steward_worker", __version__)
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": request.agent.name,
            "gen_ai.request.model": request.agent.model,
            "steward.runner": self.name,
        }
        with tracer.start_as_current_span(
            f"invoke_agent {request.agent.name}",
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                done = await self._run(request, emit, framework_spans=False, tracer=tracer)
            except RunError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.message))
                raise
        # After the span ended: the run's spans are sent with `done`.
        await emit(done)

    async def _run(
        self, request: RunMessage, emit: Emit, *, framework_spans: bool, tracer: otel_trace.Tracer | None
    ) -> DoneEvent:
        aliases: dict[str, str] = {}
        state = _RunState(request, emit, aliases, tracer)
        await emit(StatusEvent(run_id=request.run_id, text="thinking…"))
        token = request.core.token.get_secret_value()
        # The core owns retries, budgets and circuit breakers for model calls: the SDK must not retry too.
        http_client = DefaultAsyncHttpxClient(
            verify=_tls_context(), event_hooks={"request": [_traceparent_hook]}
        )
        client = AsyncOpenAI(
            base_url=request.core.url("/v1"),
            api_key=token,
            max_retries=0,
            http_client=http_client,
        )
        result: AgentRunResult[str] | None = None
        try:
            async with AsyncExitStack() as stack:
                stack.push_async_callback(http_client.aclose)
                stack.push_async_callback(client.close)
                toolsets = await self._open_tools(request, stack, aliases)
                model = _build_model(request.agent.model, client)
                agent = _build_agent(request.agent, model, toolsets, traced=framework_spans)
                async with agent.run_stream_events(
                    request.input.message,
                    message_history=to_message_history(request.input.history),
                ) as events:
                    async for event in events:
                        if isinstance(event, AgentRunResultEvent):
                            result = event.result
                        else:
                            await state.on_event(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _translate(exc, state) from exc
        if result is None:
            raise ModelError("the agent run ended without a result")
        output = state.answer.text
        if not output and result.output:
            # Nothing streamed (a model that answered without deltas): send the answer as one token.
            await state.answer.add(result.output)
            output = state.answer.text
        elif not output.endswith(result.output):
            _log.warning("run %s: streamed text does not end with the agent's output", request.run_id)
        return DoneEvent(run_id=request.run_id, output=output, stats=state.stats(result))

    async def _open_tools(
        self, request: RunMessage, stack: AsyncExitStack, aliases: dict[str, str]
    ) -> list[AbstractToolset[Any]]:
        """Connects to the core's /mcp if the agent may use tools; returns [] when no tool is available."""
        patterns = request.agent.tools
        if not patterns:
            return []
        url = request.core.url("/mcp")
        mcp_http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {request.core.token.get_secret_value()}"},
            verify=_tls_context(),
            timeout=_MCP_HTTP_TIMEOUT,
            follow_redirects=True,
            event_hooks={"request": [_mcp_traceparent_hook(aliases)]},
        )
        stack.push_async_callback(mcp_http.aclose)
        toolset: MCPToolset[Any] = MCPToolset(url, http_client=mcp_http, init_timeout=_MCP_CONNECT_TIMEOUT_S)
        try:
            await stack.enter_async_context(toolset)
            listed = await toolset.list_tools()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            leaf = _leaf(exc)
            raise ToolError(f"could not list tools at {url}: {type(leaf).__name__}: {leaf}") from exc
        if not any(matches_any(tool.name, patterns) for tool in listed):
            _log.info(
                "run %s: no tool at %s matches %s; running without tools", request.run_id, url, patterns
            )
            return []
        return [restrict_tools(toolset, patterns, aliases)]


RUNNER: Final = PydanticAIRunner()
