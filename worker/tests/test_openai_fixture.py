"""The OpenAI fixture server speaks the wire format the official `openai` client expects."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from fixtures.openai_fixture import FixtureServer, OpenAIFixture

FIXTURE_SCRIPT = Path(__file__).parent / "fixtures" / "openai_fixture.py"


@pytest.fixture
def fixture_process(tmp_path: Path) -> Iterator[str]:
    """The fixture run as a script, as other suites use it; yields its base URL."""
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "responses": [
                    {"text": "Hello from the script.", "chunk_size": 4},
                    {"tool_calls": [{"name": "lookup", "arguments": {"q": "steward", "n": 2}}]},
                ],
                "api_key": "k",
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE_SCRIPT), "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "PORT"
        yield f"http://127.0.0.1:{int(first[1])}"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_script_mode_streams_text_and_tool_calls_to_the_official_client(fixture_process: str) -> None:
    client = openai.OpenAI(base_url=f"{fixture_process}/v1", api_key="k", max_retries=0)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

    stream = client.chat.completions.create(
        model="m", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the script."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 15

    stream = client.chat.completions.create(model="m", messages=messages, stream=True)
    arguments, names = "", []
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or []:
            if call.function and call.function.name:
                names.append(call.function.name)
            if call.function and call.function.arguments:
                arguments += call.function.arguments
    assert names == ["lookup"]
    assert json.loads(arguments) == {"q": "steward", "n": 2}

    recorded = httpx.get(f"{fixture_process}/_fixture/requests").json()
    assert [r["body"]["messages"] for r in recorded] == [messages, messages]
    assert recorded[0]["headers"]["authorization"] == "Bearer k"


def test_wrong_api_key_gets_openai_style_401(fixture_process: str) -> None:
    client = openai.OpenAI(base_url=f"{fixture_process}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401


def test_non_streaming_completion_and_exhausted_script() -> None:
    fixture = OpenAIFixture([{"text": "plain answer"}])
    with FixtureServer(fixture.app) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="any", max_retries=0)
        completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
        assert completion.choices[0].message.content == "plain answer"
        with pytest.raises(openai.InternalServerError, match="script exhausted"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])


def test_responses_with_match_are_chosen_by_the_last_user_message() -> None:
    fixture = OpenAIFixture([{"match": "weather", "text": "Sunny."}, {"text": "General."}])
    with FixtureServer(fixture.app) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="any", max_retries=0)

        def ask(question: str) -> str | None:
            completion = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": question}]
            )
            return completion.choices[0].message.content

        assert ask("hello") == "General."
        assert ask("what is the weather?") == "Sunny."
