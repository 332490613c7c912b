"""Resource limits of workflow steps (`run.limits`): a run with CPU or memory limits runs in a process of its
own that holds them; the worker reports `budget_exceeded` and keeps serving. Driven over stdio of a real
worker with a probe runner (fixtures/limits_runner.py) added through STEWARD_WORKER_EXTRA_RUNNERS."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TRACEPARENT, new_run_id, run_message
from fixtures.fake_core import FakeCore
from fixtures.mcp_fixture import ToolCall
from fixtures.worker_process import Message, WorkerProcess

_TESTS_DIR = Path(__file__).resolve().parent
# The first limited run starts the fork server, which imports and warms up every framework.
_FIRST_RUN_TIMEOUT_S = 90.0


def probe_worker() -> WorkerProcess:
    """A worker that also has the probe runner."""
    pythonpath = os.pathsep.join(filter(None, [str(_TESTS_DIR), os.environ.get("PYTHONPATH")]))
    env = {"STEWARD_WORKER_EXTRA_RUNNERS": "probe=fixtures.limits_runner", "PYTHONPATH": pythonpath}
    return WorkerProcess(env=env)


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerProcess]:
    with probe_worker() as process:
        process.expect_type("ready", timeout=60)
        yield process


def probe(run_id: str, what: str, limits: dict[str, Any] | None) -> Message:
    message: Message = {
        "type": "run",
        "run_id": run_id,
        "runner": "probe",
        "agent": {"name": "probe", "model": "fixture-model"},
        "input": {"message": what},
        "core": {"base_url": "http://127.0.0.1:9", "token": "t"},
        "trace": {"traceparent": TRACEPARENT},
    }
    if limits is not None:
        message["limits"] = limits
    return message


def start(worker: WorkerProcess, what: str, limits: dict[str, Any] | None) -> tuple[str, int]:
    """Starts a probe run; returns its id and the pid of the process it runs in."""
    run_id = new_run_id()
    worker.send(probe(run_id, what, limits))
    status = worker.expect_type("status", run_id=run_id, timeout=_FIRST_RUN_TIMEOUT_S)
    return run_id, int(status["text"])


def final(worker: WorkerProcess, run_id: str, timeout: float = 60.0) -> Message:
    return worker.expect(
        lambda m: m.get("run_id") == run_id and m["type"] in ("done", "error"), timeout=timeout
    )


def gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_run_within_its_limits_completes_in_a_process_of_its_own_with_its_spans(
    worker: WorkerProcess,
) -> None:
    run_id, pid = start(worker, "span", {"cpu_seconds": 30, "memory_mb": 1024})
    assert pid != worker.pid
    spans = worker.expect_type("spans", run_id=run_id)
    done = final(worker, run_id)
    assert done["type"] == "done"
    assert done["output"] == "worked"
    (probe_span,) = [s for s in spans["spans"] if s["name"] == "probe.work"]
    assert probe_span["traceId"] == TRACEPARENT.split("-")[1]
    assert probe_span["parentSpanId"] == TRACEPARENT.split("-")[2]
    assert gone(pid)


@pytest.mark.parametrize(
    ("what", "limits", "named"),
    [
        ("allocate", {"memory_mb": 300}, ["300 MB", "limits.memory_mb"]),
        ("spin", {"cpu_seconds": 1}, ["1 s of CPU time", "limits.cpu_seconds"]),
    ],
    ids=["memory", "cpu"],
)
def test_going_over_a_limit_ends_the_run_with_budget_exceeded_naming_it(
    worker: WorkerProcess, what: str, limits: dict[str, Any], named: list[str]
) -> None:
    run_id, pid = start(worker, what, limits)
    assert pid != worker.pid
    error = final(worker, run_id)
    assert error["type"] == "error"
    assert error["code"] == "budget_exceeded"
    for words in named:
        assert words in error["message"]
    assert gone(pid)


def test_cancelling_a_limited_run_kills_its_process(worker: WorkerProcess) -> None:
    run_id, pid = start(worker, "wait", {"memory_mb": 512})
    worker.send({"type": "cancel", "run_id": run_id})
    error = final(worker, run_id)
    assert error["code"] == "cancelled"
    assert gone(pid)


def test_the_worker_keeps_serving_after_limited_runs_and_runs_without_limits_stay_in_it(
    worker: WorkerProcess,
) -> None:
    run_id, pid = start(worker, "spin", {"cpu_seconds": 1})
    assert final(worker, run_id)["code"] == "budget_exceeded"
    # A wall-clock limit alone is the core's to enforce: no process of its own.
    run_id, pid = start(worker, "pid", {"wall_seconds": 30})
    assert pid == worker.pid
    assert final(worker, run_id)["output"] == "ok"
    run_id, pid = start(worker, "pid", None)
    assert pid == worker.pid
    assert final(worker, run_id)["output"] == "ok"
    worker.send({"type": "ping", "id": 77})
    worker.expect_type("pong", id=77)


def test_a_limit_that_is_not_a_positive_integer_fails_the_run_naming_the_field(worker: WorkerProcess) -> None:
    run_id = new_run_id()
    worker.send(probe(run_id, "pid", {"memory_mb": 0}))
    error = final(worker, run_id)
    assert error["code"] == "internal"
    assert "limits.memory_mb" in error["message"]


def test_a_pydantic_ai_run_with_tools_works_under_limits(core: FakeCore, worker: WorkerProcess) -> None:
    # The real framework in a run process: its HTTP clients to /v1 and /mcp are made in that process.
    core.openai.add(
        {"tool_calls": [{"name": "echo", "arguments": {"text": "ping from model"}}]},
        {"text": "The tool said: ping from model", "chunk_size": 6},
    )
    run_id = new_run_id()
    message = run_message(core, run_id, "use the echo tool")
    message["limits"] = {"cpu_seconds": 60, "memory_mb": 1024, "wall_seconds": 60}
    worker.send(message)
    events = worker.run_events(run_id, timeout=_FIRST_RUN_TIMEOUT_S)
    assert core.mcp.calls == [ToolCall("echo", {"text": "ping from model"})]
    done = events[-1]
    assert done["type"] == "done"
    assert done["output"] == "The tool said: ping from model"
    assert done["stats"] == {"model_calls": 2, "tool_calls": 1, "tool_errors": 0, "retries": 0}
    spans = [e for e in events if e["type"] == "spans"]
    assert spans, "the run process's spans reach the core"
    assert {s["traceId"] for s in spans[0]["spans"]} == {TRACEPARENT.split("-")[1]}
    assert any(s["resource"] for s in spans)


def test_a_run_process_does_not_outlive_a_killed_worker() -> None:
    with probe_worker() as process:
        process.expect_type("ready", timeout=60)
        _, pid = start(process, "wait", {"memory_mb": 512})
        assert pid != process.pid
        os.kill(process.pid, signal.SIGKILL)
        assert gone(pid, within_s=20)
