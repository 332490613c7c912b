"""The official `openai` Python client works against Steward's /v1 unchanged."""

from __future__ import annotations

import json
import time

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from steward_harness import StewardServer

HONESTY_LINE = "(Steward offline model: extractive answer, no LLM configured.)"


@pytest.fixture(scope="module")
def client(steward: StewardServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{steward.url}/v1", api_key=steward.token, max_retries=0, timeout=60)


def test_models_list_names_the_configured_agents_and_models(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}

    assert {"researcher", "slowpoke"} <= ids  # agents
    assert {"offline", "scripted"} <= ids  # models


def test_streaming_agent_completion_arrives_in_several_chunks(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="researcher",
        messages=[{"role": "user", "content": "What can you do?"}],
        stream=True,
    )
    pieces = []
    finish_reasons = []
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)

    answer = "".join(pieces)
    assert len(pieces) >= 5, pieces
    assert answer.strip()
    assert HONESTY_LINE in answer
    assert finish_reasons == ["stop"]


def test_streaming_agent_completion_is_not_buffered(client: openai.OpenAI) -> None:
    # slowpoke's scripted model sends ten chunks 100 ms apart.
    stream = client.chat.completions.create(
        model="slowpoke",
        messages=[{"role": "user", "content": "count slowly"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    arrivals = []
    usage = None
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                arrivals.append((time.monotonic(), choice.delta.content))
        usage = chunk.usage or usage
    end = time.monotonic()

    assert "".join(text for _, text in arrivals) == "".join(f"tick{i} " for i in range(10))
    assert arrivals[0][0] < end - 0.5, "the first chunk came with the last: the stream was buffered"
    assert usage is not None
    assert usage.completion_tokens > 0


def test_agent_completion_uses_the_conversation_history_it_is_sent(client: openai.OpenAI) -> None:
    # `plain` has no tools: the offline model quotes earlier turns that match the question.
    completion = client.chat.completions.create(
        model="plain",
        messages=[
            {"role": "system", "content": "ignored: the agent has its own prompt"},
            {"role": "user", "content": "The spare key is under the blue flowerpot."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "Where is the spare key?"},
        ],
    )

    assert "The spare key is under the blue flowerpot." in (completion.choices[0].message.content or "")


def test_agent_run_failure_is_an_error_for_the_client(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as excinfo:
        client.chat.completions.create(model="slowpoke", messages=[{"role": "user", "content": "overload"}])

    assert excinfo.value.status_code >= 500
    assert "overloaded" in excinfo.value.message


def test_non_streaming_agent_completion_returns_the_whole_answer(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="researcher",
        messages=[{"role": "user", "content": "What can you do?"}],
    )

    assert completion.choices[0].message.role == "assistant"
    content = completion.choices[0].message.content or ""
    assert HONESTY_LINE in content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0


def test_scripted_model_tool_calls_reach_the_client_when_streaming(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[_weather_tool()],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish

    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["id"] == "call_w"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert finish == "tool_calls"


def test_scripted_model_tool_calls_reach_the_client_without_streaming(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[_weather_tool()],
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_scripted_model_answers_after_the_tool_result(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_w",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_w", "content": "sunny, 24 C"},
        ],
        tools=[_weather_tool()],
    )

    assert completion.choices[0].message.content == "It is sunny in Paris."
    assert completion.choices[0].finish_reason == "stop"


def test_wrong_api_key_raises_authentication_error(steward: StewardServer) -> None:
    bad = openai.OpenAI(base_url=f"{steward.url}/v1", api_key="stw_not-the-token", max_retries=0)

    with pytest.raises(openai.AuthenticationError) as excinfo:
        bad.models.list()
    assert excinfo.value.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="researcher", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 7}, "temperature"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "hi"}], "extra_body": {"stream": "yes"}}, "stream"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -3}, "max_tokens"),
    ],
    ids=["temperature-out-of-range", "no-messages", "unknown-role", "stream-not-bool", "negative-max-tokens"],
)
def test_malformed_request_raises_bad_request_naming_the_field(
    client: openai.OpenAI, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.chat.completions.create(model="researcher", **kwargs)  # type: ignore[call-overload]

    assert excinfo.value.status_code == 400
    assert field in excinfo.value.message
    assert excinfo.value.param == field


def test_unknown_model_is_reported_as_such(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])

    assert "no-such-model" in excinfo.value.message


def _weather_tool() -> ChatCompletionFunctionToolParam:
    return {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
