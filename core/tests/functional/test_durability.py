"""Nothing said is lost when `steward serve` is SIGKILLed, and no answer is ever stored half-written."""

from __future__ import annotations

import os
from typing import Any

from steward_harness import (
    SLOW_TEXT,
    Launcher,
    StewardServer,
    events_of,
    parse_sse_lines,
    standard_spec,
    stream_chat,
    wait_for,
)


def converse(server: StewardServer, turns: list[str]) -> str:
    """Chats `turns` in one new session; returns its id."""
    session_id: str | None = None
    for turn in turns:
        events = server.chat(turn, session_id=session_id)
        assert events[-1][0] == "done", events[-1]
        session_id = events_of(events, "session")[0]["session_id"]
    assert session_id is not None
    return session_id


def snapshot(server: StewardServer, session_id: str) -> list[tuple[Any, ...]]:
    return [(m["id"], m["role"], m["content"]) for m in server.messages(session_id)]


def kill_and_wait_for_workers(server: StewardServer) -> None:
    workers = server.worker_pids()
    assert workers, "the server should have worker processes"
    server.kill()
    # PR_SET_PDEATHSIG: the workers die with the core.
    wait_for(lambda: not any(os.path.exists(f"/proc/{pid}/status") and _alive(pid) for pid in workers),
             timeout=10, what=f"workers {workers} to exit after the core was killed")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def test_every_message_survives_sigkill_and_restart(launcher: Launcher) -> None:
    server = launcher.launch(standard_spec())
    conversations = {
        "capabilities": ["What can you do?", "And what else can you do?"],
        "recall": ["Remember: the boat is called Marigold", "What can you do?", "thanks"],
        "scripted": ["hello there"],
    }
    sessions = {name: converse(server, turns) for name, turns in conversations.items()}
    before = {name: snapshot(server, sid) for name, sid in sessions.items()}
    for name, turns in conversations.items():
        assert [m[1] for m in before[name]] == ["user", "assistant"] * len(turns)

    kill_and_wait_for_workers(server)
    server.restart()

    after = {name: snapshot(server, sid) for name, sid in sessions.items()}
    assert after == before
    listed = {s["id"] for s in server.api("GET", "/api/sessions").json()["sessions"]}
    assert set(sessions.values()) <= listed
    # The restarted server continues an old conversation with its history.
    events = server.chat("What can you do?", session_id=sessions["capabilities"])
    assert events[-1][0] == "done"
    assert len(server.messages(sessions["capabilities"])) == 6


def test_kill_while_answer_streams_keeps_user_message_and_no_partial_answer(launcher: Launcher) -> None:
    server = launcher.launch(standard_spec())
    # slowpoke's "very slow" answer takes ~10 s: 40 chunks 250 ms apart.
    with stream_chat(server.url, server.token, {"message": "answer very slow", "agent": "slowpoke"}) as response:
        assert response.status_code == 200
        seen: list[tuple[str, dict[str, Any]]] = []
        for event in parse_sse_lines(response.iter_lines()):
            seen.append(event)
            if sum(1 for name, _ in seen if name == "token") >= 3:
                break
        session_id = events_of(seen, "session")[0]["session_id"]
        run_id = events_of(seen, "session")[0]["run_id"]
        kill_and_wait_for_workers(server)

    server.restart()

    messages = server.messages(session_id)
    assert [m["role"] for m in messages][:1] == ["user"]
    assert messages[0]["content"] == "answer very slow"
    assistant = [m for m in messages if m["role"] == "assistant"]
    assert assistant == [] or [m["content"] for m in assistant] == [SLOW_TEXT], assistant
    # The same holds in the table, whatever the API shows.
    rows = server.query(f"SELECT role, content FROM chat_message WHERE session_id = '{session_id}' ORDER BY id")
    assert rows[0] == {"role": "user", "content": "answer very slow"}
    assert all(r["content"] == SLOW_TEXT for r in rows[1:]), rows
    [run] = server.query(f"SELECT status FROM run WHERE id = '{run_id}'")
    assert run["status"] in {"running", "failed", "cancelled"}


def test_embedded_cluster_keeps_data_across_sigkill_and_restart(launcher: Launcher) -> None:
    server = launcher.prepare(standard_spec(pool_size=1), embedded=True)
    server.start_timeout = 180  # initdb on a busy disk
    server.start()
    assert (server.home / "postgres" / "PG_VERSION").exists(), "expected the cluster in $STEWARD_HOME/postgres"
    session_id = converse(server, ["Remember: the embedded cluster keeps data", "What can you do?"])
    before = snapshot(server, session_id)

    kill_and_wait_for_workers(server)
    server.restart()

    assert snapshot(server, session_id) == before
    assert server.stop() == 0
    # The last user of the cluster stops it on a clean shutdown.
    assert not (server.home / "postgres" / "postmaster.pid").exists()
