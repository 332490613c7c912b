"""The `openai` and `anthropic` providers through the whole core, against local wire-format fixtures.

Each upstream is a fixture server (core/tests/fixtures/*_fixture.py) that replays a queued script
and records the requests it got; Steward routes a model to each, and the official `openai` client
talks to Steward's /v1 only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from steward_harness import FixtureServer, ServerSpec, StewardServer, base_config, events_of, text_of

ANTHROPIC_KEY = "sk-ant-fixture-key-0123456789"
OPENAI_KEY = "sk-openai-fixture-key-0123456789"


@pytest.fixture(scope="module")
def openai_upstream() -> Iterator[FixtureServer]:
    server = FixtureServer("openai_wire_fixture.py")
    yield server
    server.close()


@pytest.fixture(scope="module")
def anthropic_upstream() -> Iterator[FixtureServer]:
    server = FixtureServer("anthropic_fixture.py")
    yield server
    server.close()


@pytest.fixture(scope="module")
def steward_spec(openai_upstream: FixtureServer, anthropic_upstream: FixtureServer) -> ServerSpec:
    config = base_config(None, pool_size=1)
    config["providers"]["upstream-openai"] = {
        "kind": "openai",
        "base_url": f"{openai_upstream.url}/v1",
        "api_key": "${FT_OPENAI_KEY}",
        "timeout_s": 30,
    }
    config["providers"]["upstream-anthropic"] = {
        "kind": "anthropic",
        "base_url": anthropic_upstream.url,
        "api_key": "${FT_ANTHROPIC_KEY}",
        "timeout_s": 30,
    }
    config["models"]["gpt-fx"] = {
        "provider": "upstream-openai",
        "model": "gpt-4o-fixture",
        "price": {"input_per_mtok": 2.5, "output_per_mtok": 10},
    }
    config["models"]["claude-fx"] = {
        "provider": "upstream-anthropic",
        "model": "claude-sonnet-fixture",
        "price": {"input_per_mtok": 3, "output_per_mtok": 15},
    }
    config["agents"]["claude-agent"] = {
        "runner": "pydantic_ai",
        "model": "claude-fx",
        "tools": [],
        "system_prompt": "You are terse.",
    }
    return ServerSpec(config, env={"FT_OPENAI_KEY": OPENAI_KEY, "FT_ANTHROPIC_KEY": ANTHROPIC_KEY})


@pytest.fixture(scope="module")
def client(steward: StewardServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{steward.url}/v1", api_key=steward.token, max_retries=0, timeout=60)


@pytest.fixture(autouse=True)
def fresh_upstreams(openai_upstream: FixtureServer, anthropic_upstream: FixtureServer) -> None:
    openai_upstream.reset()
    anthropic_upstream.reset()


def collect_stream(stream: Any) -> tuple[list[str], dict[int, dict[str, str]], str | None]:
    """Content pieces, tool calls assembled by index, and the finish reason of a streamed completion."""
    pieces: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return pieces, calls, finish


def model_calls(steward: StewardServer, where: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = steward.query(
        "SELECT run_id, model, provider, upstream_model, prompt_tokens, completion_tokens, "
        f"cost_usd::float8 AS cost_usd, status FROM model_call WHERE {where} ORDER BY id"
    )
    return rows


LOOKUP_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}


@pytest.mark.parametrize("model", ["gpt-fx", "claude-fx"])
def test_streamed_text_passes_through_chunk_by_chunk(
    client: openai.OpenAI,
    steward: StewardServer,
    openai_upstream: FixtureServer,
    anthropic_upstream: FixtureServer,
    model: str,
) -> None:
    upstream = openai_upstream if model == "gpt-fx" else anthropic_upstream
    usage = (
        {"prompt_tokens": 101, "completion_tokens": 13}
        if model == "gpt-fx"
        else {"input_tokens": 102, "output_tokens": 14}
    )
    upstream.queue({"text": ["Stream", "ing ", "works", "."], "usage": usage})

    pieces, calls, finish = collect_stream(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "say something"}],
            stream=True,
        )
    )

    assert pieces == ["Stream", "ing ", "works", "."]
    assert calls == {}
    assert finish == "stop"
    [request] = upstream.requests()
    assert request["body"]["stream"] is True
    assert request["body"]["model"] == ("gpt-4o-fixture" if model == "gpt-fx" else "claude-sonnet-fixture")
    if model == "gpt-fx":
        assert request["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    else:
        assert request["headers"]["x-api-key"] == ANTHROPIC_KEY
    prompt, completion = (101, 13) if model == "gpt-fx" else (102, 14)
    [row] = model_calls(steward, f"model = '{model}' AND prompt_tokens = {prompt}")
    assert row["completion_tokens"] == completion
    assert row["status"] == "ok"
    assert row["run_id"] is None  # a direct call, not part of a run
    price_in, price_out = (2.5, 10) if model == "gpt-fx" else (3, 15)
    assert row["cost_usd"] == pytest.approx((prompt * price_in + completion * price_out) / 1e6, abs=1e-8)


@pytest.mark.parametrize("model", ["gpt-fx", "claude-fx"])
def test_streamed_tool_calls_pass_through(
    client: openai.OpenAI, openai_upstream: FixtureServer, anthropic_upstream: FixtureServer, model: str
) -> None:
    upstream = openai_upstream if model == "gpt-fx" else anthropic_upstream
    upstream.queue(
        {
            "text": [],
            "tool_calls": [
                {"id": "call_a", "name": "lookup", "arguments": ['{"q":', ' "rust"}']},
                {"id": "call_b", "name": "lookup", "arguments": ['{"q": "go"}']},
            ],
        }
    )

    pieces, calls, finish = collect_stream(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "look up rust and go"}],
            tools=[LOOKUP_TOOL],
            stream=True,
        )
    )

    assert "".join(pieces) == ""
    assert finish == "tool_calls"
    assert [c["id"] for c in calls.values()] == ["call_a", "call_b"]
    assert [c["name"] for c in calls.values()] == ["lookup", "lookup"]
    assert [json.loads(c["arguments"]) for c in calls.values()] == [{"q": "rust"}, {"q": "go"}]
    [request] = upstream.requests()
    sent_tools = request["body"]["tools"]
    names = [t["function"]["name"] if "function" in t else t["name"] for t in sent_tools]
    assert names == ["lookup"]


@pytest.mark.parametrize("model", ["gpt-fx", "claude-fx"])
def test_non_streamed_completion_passes_through(
    client: openai.OpenAI, openai_upstream: FixtureServer, anthropic_upstream: FixtureServer, model: str
) -> None:
    upstream = openai_upstream if model == "gpt-fx" else anthropic_upstream
    upstream.queue({"text": ["Whole", " answer"]})

    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])

    assert completion.choices[0].message.content == "Whole answer"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0


def test_chat_through_an_agent_on_the_anthropic_model_records_its_model_call(
    steward: StewardServer, anthropic_upstream: FixtureServer
) -> None:
    anthropic_upstream.queue(
        {
            "text": ["Bonjour", " from", " the", " fixture"],
            "usage": {"input_tokens": 321, "output_tokens": 17},
        }
    )

    events = steward.chat("Greet me in French", agent="claude-agent")

    assert [name for name, _ in events][-1] == "done", events
    assert text_of(events) == "Bonjour from the fixture"
    [done] = events_of(events, "done")
    assert done["usage"]["prompt_tokens"] == 321
    assert done["usage"]["completion_tokens"] == 17
    assert done["cost_usd"] == pytest.approx((321 * 3 + 17 * 15) / 1e6, abs=1e-8)
    # The worker's request went out through the core in Anthropic's format, with the agent's prompt.
    [request] = anthropic_upstream.requests()
    assert request["path"] == "/v1/messages"
    assert request["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert "You are terse." in json.dumps(request["body"].get("system"))
    assert request["body"]["messages"][-1]["role"] == "user"
    assert "Greet me in French" in json.dumps(request["body"]["messages"][-1]["content"])
    # The call is recorded against the run, with its tokens and cost.
    [row] = model_calls(steward, f"run_id = '{done['run_id']}'")
    assert row["model"] == "claude-fx"
    assert row["provider"] == "upstream-anthropic"
    assert row["upstream_model"] == "claude-sonnet-fixture"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (321, 17)
    assert row["status"] == "ok"


def test_upstream_error_is_recorded_and_reported(
    client: openai.OpenAI, steward: StewardServer, openai_upstream: FixtureServer
) -> None:
    openai_upstream.queue({"status": 503, "error_message": "fixture is overloaded"})

    with pytest.raises(openai.APIStatusError) as excinfo:
        client.chat.completions.create(
            model="gpt-fx", messages=[{"role": "user", "content": "overload me"}], stream=True
        )

    assert excinfo.value.status_code == 503
    assert "fixture is overloaded" in excinfo.value.message
    rows = model_calls(steward, "model = 'gpt-fx' AND status <> 'ok'")
    assert rows
    assert rows[-1]["status"] == "unavailable"
