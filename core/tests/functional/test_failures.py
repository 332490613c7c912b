"""Failures mid-run: a worker killed under a run, and a client that hangs up mid-stream."""

from __future__ import annotations

import os
import signal
from typing import Any

from steward_harness import StewardServer, events_of, parse_sse_lines, stream_chat, wait_for


def health(steward: StewardServer) -> dict[str, Any]:
    body: dict[str, Any] = steward.api("GET", "/healthz").json()
    return body


def run_status(steward: StewardServer, run_id: str) -> str:
    [row] = steward.query(f"SELECT status FROM run WHERE id = '{run_id}'")
    return str(row["status"])


def test_worker_killed_mid_run_fails_the_run_and_the_pool_recovers(steward: StewardServer) -> None:
    serve_children = steward.worker_pids()
    events: list[tuple[str, dict[str, Any]]] = []
    with stream_chat(steward.url, steward.token, {"message": "answer very slow", "agent": "slowpoke"}) as response:
        assert response.status_code == 200
        lines = parse_sse_lines(response.iter_lines())
        for event in lines:
            events.append(event)
            if event[0] == "token":
                break
        busy = [w for w in health(steward)["workers"] if w["in_flight"] > 0]
        assert len(busy) == 1, health(steward)
        victim = busy[0]["pid"]
        assert victim in serve_children, f"worker {victim} is not a child of steward serve ({serve_children})"
        os.kill(victim, signal.SIGKILL)
        events.extend(lines)  # the rest of the stream, up to its terminal event

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
    with stream_chat(steward.url, steward.token, {"message": "answer very slow", "agent": "slowpoke"}) as response:
        assert response.status_code == 200
        seen = []
        for event in parse_sse_lines(response.iter_lines()):
            seen.append(event)
            if event[0] == "token":
                break
        run_id = events_of(seen, "session")[0]["run_id"]
        assert run_status(steward, run_id) == "running"
    # Leaving the block closed the connection with ~9 s of the answer still to come.

    wait_for(lambda: run_status(steward, run_id) == "cancelled", timeout=5,
             what=f"run {run_id} to be recorded cancelled")
    wait_for(lambda: health(steward)["live_runs"] == 0, timeout=5, what="no live runs")
    after = steward.chat("hello", agent="slowpoke")
    assert after[-1][0] == "done"
