"""The protocol loop, driven over stdio of a real `python -m steward_worker` process."""

from __future__ import annotations

import json

import pytest

from conftest import new_run_id, run_message
from fixtures.fake_core import FakeCore
from fixtures.worker_process import WorkerProcess


def test_ready_is_the_first_line_and_names_runners_and_versions(worker: WorkerProcess) -> None:
    ready = json.loads(worker.raw_stdout[0])
    assert ready["type"] == "ready"
    assert ready["pid"] == worker.pid
    assert ready["runners"] == ["formatter", "langgraph", "pydantic_ai"]
    assert ready["versions"]["pydantic-ai-slim"]
    assert ready["versions"]["python"]


def test_ping_is_answered_with_pong_carrying_the_same_id(worker: WorkerProcess) -> None:
    worker.send({"type": "ping", "id": 41})
    worker.send({"type": "ping", "id": 42})
    assert worker.expect_type("pong", id=41)["id"] == 41
    assert worker.expect_type("pong", id=42)["id"] == 42


@pytest.mark.parametrize(
    "line",
    [
        b"this is not json",
        b"[1, 2, 3]",
        b'{"type": "bogus"}',
        b'{"type": "ping"}',
        b'{"type": "ping", "id": "not a number"}',
        b'{"no_type": true}',
        b"\xff\xfe\x00garbage",
        b'{"type": "cancel"}',
    ],
)
def test_malformed_line_gives_protocol_error_and_worker_keeps_serving(
    worker: WorkerProcess, line: bytes
) -> None:
    worker.send(line)
    error = worker.expect_type("protocol_error")
    assert error["message"]
    assert set(error) == {"type", "message"}
    worker.send({"type": "ping", "id": 7})
    worker.expect_type("pong", id=7)


def test_blank_lines_are_ignored(worker: WorkerProcess) -> None:
    worker.send(b"   ")
    worker.send({"type": "ping", "id": 8})
    assert worker.expect(lambda _m: True)["type"] == "pong"


def test_invalid_run_fails_that_run_instead_of_leaving_it_hanging(worker: WorkerProcess) -> None:
    run_id = new_run_id()
    worker.send({"type": "run", "run_id": run_id, "runner": "pydantic_ai"})
    error = worker.expect_type("error", run_id=run_id)
    assert error["code"] == "internal"
    assert "agent" in error["message"]


def test_unknown_runner_fails_the_run_with_a_message_naming_the_runners(worker: WorkerProcess) -> None:
    run_id = new_run_id()
    worker.send(
        {
            "type": "run",
            "run_id": run_id,
            "runner": "crewai",
            "agent": {"name": "a", "model": "m"},
            "input": {"message": "hi"},
            "core": {"base_url": "http://127.0.0.1:9", "token": "t"},
        }
    )
    error = worker.expect_type("error", run_id=run_id)
    assert error["code"] == "internal"
    assert "'crewai'" in error["message"]
    assert "pydantic_ai" in error["message"]


def test_cancel_of_unknown_run_writes_nothing(worker: WorkerProcess) -> None:
    worker.send({"type": "cancel", "run_id": "never-started"})
    worker.send({"type": "ping", "id": 9})
    assert worker.expect(lambda _m: True) == {"type": "pong", "id": 9}


def test_shutdown_cancels_runs_in_flight_and_exits_with_status_zero(core: FakeCore) -> None:
    core.openai.add({"text": "slow " * 100, "chunk_size": 5, "delay": 0.1})
    with WorkerProcess() as worker:
        worker.expect_type("ready", timeout=60)
        run_id = new_run_id()
        worker.send(run_message(core, run_id, "be slow", tools=[]))
        worker.expect_type("token", run_id=run_id)
        worker.send({"type": "shutdown"})
        error = worker.run_events(run_id)[-1]
        assert error["type"] == "error"
        assert error["code"] == "cancelled"
        assert "shutting down" in error["message"]
        assert worker.wait() == 0


def test_end_of_stdin_exits_cleanly() -> None:
    with WorkerProcess() as worker:
        worker.expect_type("ready", timeout=60)
        worker.close_stdin()
        assert worker.wait() == 0
        assert not [line for line in worker.stderr_lines if "Traceback" in line]


def test_every_stdout_line_is_one_protocol_json_object(worker: WorkerProcess) -> None:
    # Everything the worker wrote so far in this module (logs included) must be protocol JSON lines.
    worker.send({"type": "ping", "id": 10})
    worker.expect_type("pong", id=10)
    assert worker.raw_stdout
    for line in worker.raw_stdout:
        assert line.endswith(b"\n")
        assert isinstance(json.loads(line), dict)
