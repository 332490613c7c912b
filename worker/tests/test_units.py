"""In-process unit tests: message parsing and tool naming."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from steward_worker._stdio import LineReader, LineTooLong
from steward_worker.errors import ProtocolError
from steward_worker.protocol import (
    DoneEvent,
    PingMessage,
    RunMessage,
    RunStats,
    TokenEvent,
    encode,
    parse_line,
)
from steward_worker.runners._tool_names import matches_any, provider_safe_names

_RUN = {
    "type": "run",
    "run_id": "r1",
    "runner": "pydantic_ai",
    "agent": {"name": "a", "model": "m", "future_field": 1},
    "input": {"message": "hi"},
    "core": {"base_url": "http://127.0.0.1:8377/", "token": "secret-token"},
}


def test_run_message_parses_with_defaults_and_ignores_unknown_fields() -> None:
    message = parse_line(json.dumps(_RUN).encode())
    assert isinstance(message, RunMessage)
    assert message.agent.tools == []
    assert message.agent.max_retries == 1
    assert message.input.history == []
    assert message.trace.traceparent is None
    assert message.core.url("/v1") == "http://127.0.0.1:8377/v1"


def test_run_token_never_appears_in_reprs() -> None:
    message = parse_line(json.dumps(_RUN).encode())
    assert "secret-token" not in repr(message)
    assert "secret-token" not in str(message)


def test_invalid_run_error_carries_its_run_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_line(b'{"type": "run", "run_id": "r9", "runner": "x"}')
    assert caught.value.run_id == "r9"
    assert "agent" in caught.value.message


@pytest.mark.parametrize(
    "line", [b"", b"{", b"null", b'"ping"', b'{"type": "ping", "id": 1.5}', b'{"type": "run", "run_id": 3}']
)
def test_unusable_lines_raise_protocol_error_without_run_id(line: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_line(line)
    assert caught.value.run_id is None


def test_ping_parses() -> None:
    assert parse_line(b'{"type":"ping","id":3}') == PingMessage(type="ping", id=3)


def test_encoded_events_are_single_lines_even_with_newlines_in_text() -> None:
    line = encode(TokenEvent(run_id="r", text="a\nb\r\n\u2028c"))
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {"type": "token", "run_id": "r", "text": "a\nb\r\n\u2028c"}


def test_done_event_shape_matches_the_protocol() -> None:
    done = json.loads(encode(DoneEvent(run_id="r", output="x", stats=RunStats(model_calls=2))))
    assert done == {
        "type": "done",
        "run_id": "r",
        "output": "x",
        "stats": {"model_calls": 2, "tool_calls": 0, "tool_errors": 0, "retries": 0},
    }


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("memory.search", ["memory.*"], True),
        ("memory.search", ["*"], True),
        ("memory.search", ["web.*", "memory.search"], True),
        ("memory.search", ["mem"], False),
        ("web.fetch", ["memory.*"], False),
        ("anything", [], False),
    ],
)
def test_tool_globs(name: str, patterns: list[str], expected: bool) -> None:
    assert matches_any(name, patterns) is expected


def test_provider_safe_names_alias_only_unsafe_names_and_never_collide() -> None:
    aliases = provider_safe_names(["echo", "memory.search", "memory_search", "memory/search", "x" * 70])
    assert "echo" not in aliases  # already safe
    assert aliases["memory_search_2"] == "memory.search"  # `memory_search` is a real tool: keep it
    assert aliases["memory_search_3"] == "memory/search"
    assert aliases["x" * 64] == "x" * 70
    assert all(len(alias) <= 64 for alias in aliases)


def test_line_reader_skips_an_overlong_line_and_goes_on() -> None:
    async def read_all(fd: int) -> list[bytes | str | None]:
        reader = LineReader(fd, limit=16)
        await reader.start()
        seen: list[bytes | str | None] = []
        while True:
            try:
                line = await reader.readline()
            except LineTooLong:
                seen.append("too long")
                continue
            seen.append(line)
            if line is None:
                return seen

    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"short\n" + b"x" * 40 + b"\nafter\nend")
    os.close(write_fd)
    try:
        assert asyncio.run(read_all(read_fd)) == [b"short", "too long", b"after", b"end", None]
    finally:
        os.close(read_fd)
