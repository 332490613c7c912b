"""A complete Pydantic AI run against a canned in-memory `/v1`, done once before `ready`.

Importing pydantic-ai is not enough to be warm: the first real run would still build pydantic schemas of the
OpenAI SDK's response types, import transport backends and load the CA store. Running one agent turn with
a tool call through the same code as a real run pays all of that up front, with no network.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx2
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from pydantic_ai import Agent, AgentRunResultEvent, ModelMessage
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset

__all__ = ["LAZY_MODULES", "canned_chat_completions", "run_warm_up_turn"]

LAZY_MODULES: Final = ("anyio._backends._asyncio", "jsonschema.validators", "mcp.client.streamable_http")
"""Modules a first MCP-using run would otherwise import on the request path (found by diffing sys.modules)."""

_WARM_UP_TOOL: Final = "warm_up_tool"


def _sse(*chunks: dict[str, Any]) -> bytes:
    events = [
        {"id": "warm-up", "object": "chat.completion.chunk", "created": 0, "model": "warm-up", "choices": [c]}
        for c in chunks
    ]
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def canned_chat_completions(request: httpx2.Request) -> httpx2.Response:
    """Answers like an OpenAI stream: a tool call first, then (once a tool result is sent) plain text."""
    body = json.loads(request.content)
    if any(message.get("role") == "tool" for message in body["messages"]):
        content = _sse(
            {"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": "stop"},
        )
    else:
        call = {"index": 0, "id": "call_0", "type": "function"}
        call["function"] = {"name": _WARM_UP_TOOL, "arguments": "{}"}
        content = _sse(
            {"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": "tool_calls"},
        )
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=content)


async def run_warm_up_turn(
    make_agent: Callable[[AsyncOpenAI, Sequence[AbstractToolset[Any]]], Agent[None, str]],
    history: list[ModelMessage],
) -> None:
    """Builds an agent with `make_agent` (as a real run does) and runs one turn: a tool call, then text."""
    for module in LAZY_MODULES:
        importlib.import_module(module)
    # The MCP client validates tool results with jsonschema; its first use loads the metaschemas.
    validator_for = importlib.import_module("jsonschema.validators").validator_for
    validator_for({"type": "object"})({"type": "object"}).validate({})

    tools: FunctionToolset[Any] = FunctionToolset()

    @tools.tool_plain(name=_WARM_UP_TOOL)
    def warm_up_tool() -> str:
        return "ok"

    http_client = DefaultAsyncHttpxClient(transport=httpx2.MockTransport(canned_chat_completions))
    client = AsyncOpenAI(
        base_url="http://warm-up.invalid/v1", api_key="warm-up", max_retries=0, http_client=http_client
    )
    try:
        agent = make_agent(client, [tools])
        async with agent.run_stream_events("warm up", message_history=history) as events:
            async for event in events:
                if isinstance(event, AgentRunResultEvent) and event.result.output != "ok":
                    raise RuntimeError(f"warm-up run answered {event.result.output!r}")
    finally:
        await client.close()
        await http_client.aclose()
