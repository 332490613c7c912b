"""A run's connections to the core, for runners that call models and tools themselves (not through a
framework's own model/toolset classes): models through `{base_url}/v1` with the official `openai` client,
tools through `{base_url}/mcp` with the official `mcp` client, both with the run's bearer token.

It also keeps the run's counters (`done.stats`), sends `status` events, and records the run's spans: one per
graph node and one `execute_tool {tool}` per tool call, each HTTP call to the core naming the span it belongs
to in its `traceparent` (so the core's model and tool spans nest under the node that made them).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from typing import Any, Final, cast

import httpx2
import openai
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from .. import __version__
from .._tracing import inject_traceparent, tool_traceparent, tracer_provider
from ..errors import ModelError, ToolError
from ..graphs.research import ToolOutcome
from ..protocol import RunMessage, RunStats, StatusEvent
from . import Emit

__all__ = ["CoreSession"]

_log = logging.getLogger(__name__)

_MCP_CONNECT_TIMEOUT_S: Final = 10.0
_TOOL_TIMEOUT_S: Final = 300.0
# An escalation waits for the owner (policy.approval_timeout, 5 min by default, possibly much longer).
_ESCALATION_TIMEOUT_S: Final = 7 * 24 * 3600.0
_MCP_HTTP_TIMEOUT: Final = httpx2.Timeout(30.0, read=None)  # reads are bounded per call, above


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


async def _traceparent_hook(request: httpx2.Request) -> None:
    inject_traceparent(request.headers)


def _mcp_traceparent_hook(trace_id: int) -> Any:
    """The MCP client posts from a task started when it connected (the run's context), not from the tool
    call's: a `tools/call` finds its open `execute_tool` span by tool name instead."""

    async def hook(request: httpx2.Request) -> None:
        inject_traceparent(request.headers)
        if request.method != "POST" or not trace_id:
            return
        try:
            body = json.loads(request.content)
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(body, dict) and body.get("method") == "tools/call":
            name = str((body.get("params") or {}).get("name", ""))
            if traceparent := tool_traceparent(trace_id, name):
                request.headers["traceparent"] = traceparent

    return hook


def _text_of(content: Any) -> str:
    parts: list[str] = []
    for block in content or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


class CoreSession:
    """One run's model and tool access; use as an async context manager. Not shared between runs."""

    def __init__(self, request: RunMessage, emit: Emit, *, traced: bool, graph: str) -> None:
        self.request = request
        self._emit = emit
        self._graph = graph
        self._token = request.core.token.get_secret_value()
        self._stack = AsyncExitStack()
        self._mcp: Client | None = None
        self._mcp_lock = asyncio.Lock()
        self._openai: AsyncOpenAI | None = None
        self._tracer = tracer_provider().get_tracer("steward_worker", __version__) if traced else None
        self._trace_id = otel_trace.get_current_span().get_span_context().trace_id if traced else 0
        self.model_calls = 0
        self.tool_calls = 0
        self.tool_errors = 0

    async def __aenter__(self) -> CoreSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def stats(self, retries: int) -> RunStats:
        return RunStats(
            model_calls=self.model_calls,
            tool_calls=self.tool_calls,
            tool_errors=self.tool_errors,
            retries=retries,
        )

    # ------------------------------------------------------------------------------------------- progress

    async def status(self, text: str, *, node: str | None = None, iteration: int | None = None) -> None:
        await self._emit(StatusEvent(run_id=self.request.run_id, text=text, node=node, iteration=iteration))

    @contextmanager
    def node_span(self, node: str, iteration: int) -> Iterator[Any]:
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(
            f"langgraph.node {node}",
            attributes={
                "langgraph.graph": self._graph,
                "langgraph.node": node,
                "langgraph.iteration": iteration,
                "steward.runner": "langgraph",
            },
            record_exception=False,
        ) as span:
            yield span

    # ------------------------------------------------------------------------------------------------ /v1

    def _client(self) -> AsyncOpenAI:
        if self._openai is None:
            # The core owns retries, budgets and breakers: the SDK must not retry.
            http_client = DefaultAsyncHttpxClient(
                verify=_tls_context(), event_hooks={"request": [_traceparent_hook]}
            )
            self._stack.push_async_callback(http_client.aclose)
            self._openai = AsyncOpenAI(
                base_url=self.request.core.url("/v1"),
                api_key=self._token,
                max_retries=0,
                http_client=http_client,
            )
            self._stack.push_async_callback(self._openai.close)
        return self._openai

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's answer to `messages` (streamed from the core's /v1, as chat turns are)."""
        agent = self.request.agent
        self.model_calls += 1
        parts: list[str] = []
        try:
            stream = await self._client().chat.completions.create(
                model=agent.model,
                messages=cast(Any, messages),
                stream=True,
                stream_options={"include_usage": True},
                temperature=agent.temperature if agent.temperature is not None else openai.omit,
            )
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
        except openai.APIStatusError as exc:
            detail = exc.message
            body = exc.body
            if isinstance(body, Mapping):
                inner = body.get("error", body)
                if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
                    detail = inner["message"]
            raise ModelError(
                f"the model call to {agent.model!r} failed with HTTP {exc.status_code}: {detail}"
            ) from exc
        except openai.APIError as exc:
            raise ModelError(f"the model call to {agent.model!r} failed: {exc}") from exc
        return "".join(parts)

    # ----------------------------------------------------------------------------------------------- /mcp

    async def connect_tools(self) -> None:
        """Connects to /mcp. Call it from the task that will leave the session (the MCP client's task group
        must be entered and exited by the same task), before graph nodes, which run in tasks of their own."""
        await self._tools()

    async def _tools(self) -> Client:
        async with self._mcp_lock:
            if self._mcp is None:
                url = self.request.core.url("/mcp")
                http = httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {self._token}"},
                    verify=_tls_context(),
                    timeout=_MCP_HTTP_TIMEOUT,
                    event_hooks={"request": [_mcp_traceparent_hook(self._trace_id)]},
                )
                self._stack.push_async_callback(http.aclose)
                client = Client(
                    streamable_http_client(url, http_client=http), read_timeout_seconds=_TOOL_TIMEOUT_S
                )
                try:
                    async with asyncio.timeout(_MCP_CONNECT_TIMEOUT_S):
                        self._mcp = await self._stack.enter_async_context(client)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise ToolError(
                        f"could not connect to the tools at {url}: {type(exc).__name__}: {exc}"
                    ) from exc
            return self._mcp

    async def call_tool(
        self, name: str, arguments: dict[str, Any], *, timeout_s: float = _TOOL_TIMEOUT_S
    ) -> ToolOutcome:
        """Calls `name` through /mcp. A tool error, or a call the core refuses (not allowed, invalid, not
        approved), is an outcome with ok=False; only an unreachable /mcp raises (ToolError)."""
        client = await self._tools()
        self.tool_calls += 1
        span_cm = (
            self._tracer.start_as_current_span(
                f"execute_tool {name}",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": name,
                    "tool.name": name,
                },
                record_exception=False,
                set_status_on_exception=False,
            )
            if self._tracer is not None
            else None
        )
        span = span_cm.__enter__() if span_cm is not None else None
        try:
            try:
                result = await client.call_tool(name, arguments, read_timeout_seconds=timeout_s)
            except MCPError as exc:
                outcome = ToolOutcome(ok=False, structured={"error_code": exc.code}, text=exc.error.message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if type(exc).__module__.split(".")[0] in {"mcp", "mcp_types", "httpx2", "httpcore2", "anyio"}:
                    raise ToolError(
                        f"the tool endpoint failed calling {name}: {type(exc).__name__}: {exc}"
                    ) from exc
                raise
            else:
                outcome = ToolOutcome(
                    ok=not result.is_error,
                    structured=result.structured_content,
                    text=_text_of(result.content),
                )
            if not outcome.ok:
                self.tool_errors += 1
                _log.info("run %s: tool %s failed: %s", self.request.run_id, name, outcome.text[:200])
                if span is not None:
                    span.set_status(Status(StatusCode.ERROR, "tool error"))
            return outcome
        finally:
            if span_cm is not None:
                span_cm.__exit__(None, None, None)

    async def escalate(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """Puts an interrupt to the owner as a `steward.escalate` call (held by the core's approval gate) and
        returns the decision: {"decision": "approved"|"denied"|"expired"|"unavailable", "by", ...}."""
        details = {k: v for k, v in value.items() if k not in {"title", "reason"}}
        arguments = {
            "title": str(value.get("title") or "A decision is needed")[:300],
            "reason": str(value.get("reason") or "The research graph needs the owner's decision.")[:8000],
            "details": json.loads(json.dumps(details, default=str)),
        }
        outcome = await self.call_tool("steward.escalate", arguments, timeout_s=_ESCALATION_TIMEOUT_S)
        structured = outcome.structured if isinstance(outcome.structured, Mapping) else {}
        if outcome.ok:
            return {"decision": "approved", "by": "owner"}
        if isinstance(structured.get("decision"), str):
            decision = {k: structured[k] for k in ("decision", "by", "approval_id") if k in structured}
            decision["note"] = outcome.text
            return decision
        return {"decision": "unavailable", "by": "", "note": outcome.text}
