"""Nothing said is lost when `steward serve` is SIGKILLed, and no answer is ever stored half-written.

One server (on the test PostgreSQL) goes through the crash once, in the `crash` fixture: several
finished conversations, then a SIGKILL while an answer is streaming, then a restart on the same
home and database. The tests check different consequences of that one crash. Its run leases are
short (STEWARD_WORKFLOW_LEASE_MS), so the turn the kill cut short is seen to end soon after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

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

CONVERSATIONS = {  # name -> (agent, turns)
    "capabilities": ("researcher", ["What can you do?", "And what else can you do?"]),
    "remembered": ("researcher", ["Remember: the boat is called Marigold", "What can you do?", "thanks"]),
    "scripted": ("slowpoke", ["hello there"]),
    "boiler": ("plain", ["The boiler code is 4417"]),
}
# Run leases of the crash fixture's server: renewed every ~0.5 s, adopted (or ended) 0.5 s apart.
SHORT_LEASES = {"STEWARD_WORKFLOW_LEASE_MS": "1500", "STEWARD_WORKFLOW_ADOPT_MS": "500"}
INTERRUPTED = {
    "code": "interrupted",
    "message": "the core stopped while this turn was running; send the message again to retry",
}


def converse(server: StewardServer, turns: list[str], agent: str | None = None) -> str:
    """Chats `turns` in one new session; returns its id."""
    session_id: str | None = None
    for turn in turns:
        events = server.chat(turn, session_id=session_id, agent=agent)
        assert events[-1][0] == "done", events[-1]
        session_id = events_of(events, "session")[0]["session_id"]
    assert session_id is not None
    return session_id


def snapshot(server: StewardServer, session_id: str) -> list[tuple[Any, ...]]:
    return [(m["id"], m["role"], m["content"]) for m in server.messages(session_id)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def kill_and_wait_for_workers(server: StewardServer) -> list[int]:
    """SIGKILLs steward serve; returns its workers' pids once they are gone too."""
    workers: list[int] = server.worker_pids()
    assert workers, "the server should have worker processes"
    server.kill()
    wait_for(
        lambda: not any(alive(pid) for pid in workers),
        timeout=10,
        what=f"workers {workers} to exit after the core was killed",
    )
    return workers


@dataclass
class Crash:
    server: StewardServer
    sessions: dict[str, str]  # conversation name -> session id
    before: dict[str, list[tuple[Any, ...]]]  # messages as the API showed them before the kill
    streaming_session: str  # the session whose answer was streaming when the core was killed
    streaming_run: str
    streaming_run_row: dict[str, Any]  # its run row (status, owner, leased) just before the kill
    workers: list[int]  # the killed core's workers


@pytest.fixture(scope="module")
def crash(module_launcher: Launcher) -> Crash:
    server = module_launcher.launch(standard_spec(pool_size=1), extra_env=SHORT_LEASES)
    sessions = {name: converse(server, turns, agent) for name, (agent, turns) in CONVERSATIONS.items()}
    before = {name: snapshot(server, sid) for name, sid in sessions.items()}
    # slowpoke's "very slow" answer takes ~10 s: 40 chunks 250 ms apart. Kill after three.
    with stream_chat(
        server.url, server.token, {"message": "answer very slow", "agent": "slowpoke"}
    ) as response:
        assert response.status_code == 200
        seen: list[tuple[str, dict[str, Any]]] = []
        for event in parse_sse_lines(response.iter_lines()):
            seen.append(event)
            if sum(1 for name, _ in seen if name == "token") >= 3:
                break
        [session] = events_of(seen, "session")
        [row] = server.query(
            "SELECT status, owner, lease_until > now() AS leased FROM run "
            f"WHERE id = '{session['run_id']}'"
        )
        workers = kill_and_wait_for_workers(server)
    server.restart()
    return Crash(server, sessions, before, session["session_id"], session["run_id"], row, workers)


def test_finished_conversations_were_whole_before_the_kill(crash: Crash) -> None:
    for name, (_, turns) in CONVERSATIONS.items():
        assert [m[1] for m in crash.before[name]] == ["user", "assistant"] * len(turns)
        assert [m[2] for m in crash.before[name] if m[1] == "user"] == turns


def test_workers_die_with_the_killed_core(crash: Crash) -> None:
    assert crash.workers
    assert not any(alive(pid) for pid in crash.workers)
    assert set(crash.workers).isdisjoint(crash.server.worker_pids())


def test_every_message_survives_sigkill_and_restart(crash: Crash) -> None:
    for name, session_id in crash.sessions.items():
        after = snapshot(crash.server, session_id)
        # (A later test may add turns to a conversation; none may lose any.)
        assert after[: len(crash.before[name])] == crash.before[name], name
    listed = {s["id"] for s in crash.server.api("GET", "/api/sessions").json()["sessions"]}
    assert set(crash.sessions.values()) <= listed


def test_kill_while_answer_streams_keeps_user_message_and_no_partial_answer(crash: Crash) -> None:
    messages = crash.server.messages(crash.streaming_session)

    assert messages[0]["role"] == "user"
    assert messages[0]["content"] == "answer very slow"
    assistant = [m["content"] for m in messages if m["role"] == "assistant"]
    assert assistant in ([], [SLOW_TEXT]), assistant
    # The same holds in the table, whatever the API shows.
    rows = crash.server.query(
        f"SELECT role, content FROM chat_message WHERE session_id = '{crash.streaming_session}' ORDER BY id"
    )
    assert rows[0] == {"role": "user", "content": "answer very slow"}
    assert all(r == {"role": "assistant", "content": SLOW_TEXT} for r in rows[1:]), rows
    [run] = crash.server.query(f"SELECT status FROM run WHERE id = '{crash.streaming_run}'")
    assert run["status"] != "succeeded" or len(rows) == 2


def test_turn_cut_by_the_kill_is_recorded_failed_interrupted_after_restart(crash: Crash) -> None:
    # While it streamed, the run was owned by the core, with a lease that core kept renewing.
    assert crash.streaming_run_row["status"] == "running"
    assert crash.streaming_run_row["owner"]
    assert crash.streaming_run_row["leased"] is True

    def ended() -> dict[str, Any] | None:
        response = crash.server.api("GET", f"/api/runs/{crash.streaming_run}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return None if run["status"] == "running" else run

    # The lease (1.5 s) ran out while the core was down; the restarted core ends the run on its
    # next pass (every 0.5 s).
    run = wait_for(
        ended, timeout=20, what=f"run {crash.streaming_run} to end after the restart", interval=0.2
    )

    assert run["kind"] == "chat"
    assert run["status"] == "failed"
    assert run["error"] == INTERRUPTED
    assert run["finished_at"]
    [row] = crash.server.query(f"SELECT owner, lease_until FROM run WHERE id = '{crash.streaming_run}'")
    assert row == {"owner": None, "lease_until": None}
    # The user's message is kept, to be sent again; no answer was stored.
    assert [m["role"] for m in crash.server.messages(crash.streaming_session)] == ["user"]


def test_restarted_server_continues_an_old_conversation_with_its_history(crash: Crash) -> None:
    session_id = crash.sessions["boiler"]

    events = crash.server.chat("What is the boiler code?", session_id=session_id, agent="plain")

    assert events[-1][0] == "done"
    assert "The boiler code is 4417" in "".join(d.get("text", "") for n, d in events if n == "token")
    assert len(crash.server.messages(session_id)) == 4


def test_embedded_cluster_keeps_data_across_sigkill_and_restart(launcher: Launcher) -> None:
    server = launcher.prepare(standard_spec(pool_size=1), embedded=True)
    server.start_timeout = 180  # initdb on a busy disk
    server.start()
    assert (server.home / "postgres" / "PG_VERSION").exists(), (
        "expected the cluster in $STEWARD_HOME/postgres"
    )
    session_id = converse(server, ["Remember: the embedded cluster keeps data", "What can you do?"])
    before = snapshot(server, session_id)

    kill_and_wait_for_workers(server)
    server.restart()

    assert snapshot(server, session_id) == before
    assert server.stop() == 0
    # The last user of the cluster stops it on a clean shutdown.
    assert not (server.home / "postgres" / "postmaster.pid").exists()
