"""Failures mid-run: a worker killed under a run, a client that hangs up, a cancel, a SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from steward_harness import (
    Event,
    ServerSpec,
    StewardServer,
    events_of,
    parse_sse_lines,
    standard_spec,
    stream_chat,
    wait_for,
)


@pytest.fixture(scope="module")
def steward_spec() -> ServerSpec:
    """A server of its own: these tests kill its workers and, last, the server itself."""
    return standard_spec()


def health(steward: StewardServer) -> dict[str, Any]:
    body: dict[str, Any] = steward.api("GET", "/healthz").json()
    return body


def run_status(steward: StewardServer, run_id: str) -> str:
    [row] = steward.query(f"SELECT status FROM run WHERE id = '{run_id}'")
    return str(row["status"])


@contextlib.contextmanager
def slow_run(steward: StewardServer) -> Iterator[tuple[list[Event], Iterator[Event]]]:
    """Starts a ~10 s answer (slowpoke: 40 chunks 250 ms apart) and reads it up to its first token.

    Yields the events so far and the rest of the stream; leaving the block closes the connection.
    """
    body = {"message": "answer very slow", "agent": "slowpoke"}
    with stream_chat(steward.url, steward.token, body) as response:
        assert response.status_code == 200
        rest = parse_sse_lines(response.iter_lines())
        events: list[Event] = []
        for event in rest:
            events.append(event)
            if event[0] == "token":
                break
        assert events[-1][0] == "token", events
        yield events, rest


def test_worker_killed_mid_run_fails_the_run_and_the_pool_recovers(steward: StewardServer) -> None:
    serve_children = steward.worker_pids()
    with slow_run(steward) as (events, rest):
        busy = [w for w in health(steward)["workers"] if w["in_flight"] > 0]
        assert len(busy) == 1, health(steward)
        victim = busy[0]["pid"]
        assert victim in serve_children, f"worker {victim} is not a child of steward serve ({serve_children})"
        os.kill(victim, signal.SIGKILL)
        events.extend(rest)  # up to the terminal event

    names = [name for name, _ in events]
    assert names[-1] == "error", names
    assert "done" not in names
    [error] = events_of(events, "error")
    assert f"worker {victim}" in error["message"]
    assert "killed by signal 9" in error["message"]
    run_id = events_of(events, "session")[0]["run_id"]
    assert error["run_id"] == run_id
    assert run_status(steward, run_id) == "failed"

    # A replacement worker starts; the pool is whole again and serves the next chats.
    def recovered() -> bool:
        workers = health(steward)["workers"]
        return len(workers) == 2 and all(w["state"] == "ready" and w["pid"] != victim for w in workers)

    wait_for(recovered, timeout=60, what="the worker pool to replace the killed worker")
    assert sum(w["restarts"] for w in health(steward)["workers"]) >= 1
    for agent, message in (("slowpoke", "hello"), ("researcher", "What can you do?")):
        after = steward.chat(message, agent=agent)
        assert after[-1][0] == "done", after[-1]


def test_client_disconnect_mid_stream_cancels_the_run(steward: StewardServer) -> None:
    with slow_run(steward) as (seen, _):
        run_id = events_of(seen, "session")[0]["run_id"]
        status = run_status(steward, run_id)
        assert status == "running", (status, seen)
    # Leaving the block closed the connection with ~9 s of the answer still to come.

    wait_for(
        lambda: run_status(steward, run_id) == "cancelled",
        timeout=10,
        what=f"run {run_id} to be recorded cancelled",
    )
    wait_for(lambda: health(steward)["live_runs"] == 0, timeout=10, what="no live runs")
    after = steward.chat("hello", agent="slowpoke")
    assert after[-1][0] == "done"


def test_cancel_endpoint_stops_a_streaming_run(steward: StewardServer) -> None:
    with slow_run(steward) as (events, rest):
        run_id = events_of(events, "session")[0]["run_id"]
        answer = steward.api("POST", f"/api/runs/{run_id}/cancel")
        assert answer.status_code == 202, answer.text
        events.extend(rest)

    assert events[-1][0] == "error", events[-1]
    assert events[-1][1]["code"] == "cancelled"
    assert "done" not in [name for name, _ in events]
    assert run_status(steward, run_id) == "cancelled"


def test_sigterm_mid_run_records_the_run_cancelled_and_exits_cleanly(steward: StewardServer) -> None:
    # Last in this module: it stops the module's server.
    with slow_run(steward) as (seen, rest):
        run_id = events_of(seen, "session")[0]["run_id"]
        workers = steward.worker_pids()
        started = time.monotonic()
        assert steward.process is not None
        steward.process.send_signal(signal.SIGTERM)
        status = steward.process.wait(30)
        stopped_in = time.monotonic() - started
        # The connection may be closed under the stream: that is all a client can see of it.
        with contextlib.suppress(httpx.HTTPError):
            seen.extend(rest)

    assert status == 0, steward.log_tail()
    assert stopped_in < 15, f"shutdown took {stopped_in:.1f} s"
    assert "done" not in [name for name, _ in seen]
    assert run_status(steward, run_id) == "cancelled"
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")], "workers outlived the core"
