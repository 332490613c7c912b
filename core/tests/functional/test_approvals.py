"""Risk policy and approvals end to end, and tool-gap reports (issue #3, parts 5 and 6).

A scripted model makes the agent call memory.remember, which this configuration tiers `high`
(policy.tiers), so every call of it must wait for the owner. Each test shows what happened (the
stream, the approval record) and what did not (no memory item when a call was not approved):
- the call waits, `approval_required` is streamed and GET /api/approvals lists it;
- approving runs the tool exactly once; denying means it never runs;
- an approval is single-use: deciding again is refused, and the same call made again needs a new one;
- a decision shown with other arguments, or made with a run token (the agent's own credential,
  read from what the core sent its worker), is refused;
- timing out denies, marks the approval expired and escalated, and logs a warning;
- an owner's MCP client is held by the same gate;
- `steward chat` without a terminal prints the approval id, and `steward approve` answers it;
- a task with zero tools yields a schema-valid tool-gap report in `done` and in `steward tools gaps`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from steward_harness import (
    FIXTURES_DIR,
    REPO,
    STEWARD_BIN,
    WORKER_PYTHON,
    Event,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
    stream_chat,
    wait_for,
)

SCHEMA = json.loads((REPO / "docs" / "tool-gap-report.schema.json").read_text())


def remember(word: str) -> dict[str, Any]:
    """A script entry: a message containing `remember <word>` makes the model save `<word>-fact`."""
    return {
        "match": f"remember {word}",
        "tool_calls": [
            {"name": "memory_remember", "arguments": {"content": f"{word}-fact for the approval tests"}}
        ],
    }


SCRIPT: dict[str, Any] = {
    "responses": [
        *(remember(w) for w in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "india")),
        {"when": "after_tool", "content": "Finished."},
        {"content": "Nothing to do."},
    ]
}


def approval_spec(tap_dir: Path, *, timeout_s: float = 60) -> ServerSpec:
    """The offline setup plus `scribe` (scripted, may use memory.*) and `bare` (offline, no tools);
    memory.remember is high risk; workers run behind the stdin tap (fixtures/worker_tap.py)."""
    config = base_config(None)
    shim = tap_dir / "python-tap"
    shim.write_text(f'#!/bin/sh\nexec "$WORKER_TAP_PYTHON" {FIXTURES_DIR / "worker_tap.py"} "$@"\n')
    shim.chmod(0o755)
    config["workers"]["python"] = str(shim)
    config["providers"]["replay"] = {"kind": "scripted", "script": "approvals.yaml", "timeout_s": 120}
    config["models"]["scripted"] = {"provider": "replay", "model": "replay"}
    config["agents"]["scribe"] = {
        "runner": "pydantic_ai",
        "model": "scripted",
        "tools": ["memory.*"],
        "risk_threshold": "medium",
    }
    config["agents"]["bare"] = {"runner": "pydantic_ai", "model": "offline", "tools": []}
    config["default_agent"] = "researcher"
    config["memory"] = {"embeddings": {"provider": "none"}}
    config["policy"] = {
        "tiers": {"memory.remember": "high"},
        "approval_timeout_s": timeout_s,
        "scratch_dir": str(tap_dir / "scratch"),
    }
    env = {"WORKER_TAP_PYTHON": WORKER_PYTHON, "WORKER_TAP_FILE": str(tap_dir / "worker-stdin.jsonl")}
    return ServerSpec(config, {"approvals.yaml": SCRIPT}, env)


@pytest.fixture(scope="module")
def tap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tap")


@pytest.fixture(scope="module")
def steward_spec(tap_dir: Path) -> ServerSpec:
    return approval_spec(tap_dir)


# --- helpers -------------------------------------------------------------------------------------


class LiveChat:
    """A chat whose stream is read on a background thread, so the test can act while the run waits."""

    def __init__(self, steward: StewardServer, message: str, agent: str = "scribe") -> None:
        self.events: list[Event] = []
        self._cv = threading.Condition()
        self._done = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(steward, message, agent), daemon=True)
        self._thread.start()

    def _read(self, steward: StewardServer, message: str, agent: str) -> None:
        try:
            with stream_chat(
                steward.url, steward.token, {"message": message, "agent": agent}, timeout=180
            ) as r:
                assert r.status_code == 200, r.read()
                for name, data in parse_sse_lines(r.iter_lines()):
                    with self._cv:
                        self.events.append((name, data))
                        self._cv.notify_all()
        except BaseException as e:
            self._error = e
        finally:
            with self._cv:
                self._done = True
                self._cv.notify_all()

    def wait_for_event(self, kind: str, *, count: int = 1, timeout: float = 60) -> dict[str, Any]:
        """The `count`-th event of `kind`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                found = [d for n, d in self.events if n == kind]
                if len(found) >= count:
                    return found[count - 1]
                if self._done:
                    raise AssertionError(
                        f"stream ended without {kind} #{count}: {self.names()} {self._error!r}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind} #{count} within {timeout} s; got {self.names()}")
                self._cv.wait(left)

    def finish(self, timeout: float = 120) -> list[Event]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the stream did not end: {self.names()}"
        assert self._error is None, self._error
        return list(self.events)

    def names(self) -> list[str]:
        return [n for n, _ in self.events]


def memory_items(steward: StewardServer, word: str) -> int:
    rows = steward.query(f"SELECT count(*) AS n FROM memory_item WHERE content LIKE '{word}-fact%'")
    return int(rows[0]["n"])


def decide(
    steward: StewardServer, approval_id: str, decision: str, token: str | None = None, **extra: Any
) -> httpx.Response:
    return steward.api(
        "POST", f"/api/approvals/{approval_id}", json={"decision": decision, **extra}, token=token
    )


def pending(steward: StewardServer) -> list[dict[str, Any]]:
    response = steward.api("GET", "/api/approvals?status=pending")
    assert response.status_code == 200, response.text
    got: list[dict[str, Any]] = response.json()["approvals"]
    return got


def run_token(tap_file: Path, run_id: str) -> str:
    """The token the core gave the worker for `run_id` (from the stdin tap)."""

    def find() -> str | None:
        if not tap_file.exists():
            return None
        for line in tap_file.read_text().splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("run_id") == run_id and isinstance(message.get("core"), dict):
                return str(message["core"]["token"])
        return None

    return wait_for(find, timeout=10, what=f"the run message of {run_id} in the worker tap")


def cli_env(steward: StewardServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(steward.home), STEWARD_URL=steward.url, STEWARD_WORKER_PYTHON=WORKER_PYTHON)
    return env


# --- the gate ------------------------------------------------------------------------------------


def test_a_high_risk_call_waits_and_runs_once_after_approval(steward: StewardServer) -> None:
    chat = LiveChat(steward, "please remember alpha")
    required = chat.wait_for_event("approval_required")
    [session] = events_of(chat.events, "session")

    assert required["tool"] == "memory.remember"
    assert required["arguments"] == {"content": "alpha-fact for the approval tests"}
    assert required["tier"] == "high"
    assert "policy.tiers" in required["reason"]
    assert required["run_id"] == session["run_id"]
    listed = {a["id"]: a for a in pending(steward)}
    assert required["approval_id"] in listed
    entry = listed[required["approval_id"]]
    assert entry["run_id"] == session["run_id"]
    assert entry["tool"] == "memory.remember"
    assert entry["arguments"] == required["arguments"]
    assert entry["tier"] == "high"
    assert entry["reason"]
    assert entry["requested_at"]
    # It waits: nothing ran, nothing was answered.
    time.sleep(1.0)
    assert memory_items(steward, "alpha") == 0
    assert "tool_result" not in chat.names()
    assert "done" not in chat.names()

    answer = decide(steward, required["approval_id"], "approve", note="fine by me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"

    events = chat.finish()
    [resolved] = events_of(events, "approval_resolved")
    assert resolved == {
        **resolved,
        "approval_id": required["approval_id"],
        "decision": "approved",
        "by": "owner",
    }
    [result] = events_of(events, "tool_result")
    assert result["ok"] is True
    assert events[-1][0] == "done"
    assert memory_items(steward, "alpha") == 1
    names = [n for n, _ in events]
    assert (
        names.index("tool_call")
        < names.index("approval_required")
        < names.index("approval_resolved")
        < names.index("tool_result")
    )
    # The decision is recorded: who, when, what.
    record = steward.api("GET", f"/api/approvals/{required['approval_id']}").json()
    assert record["status"] == "approved"
    assert record["decided_by"] == "owner"
    assert record["note"] == "fine by me"
    assert record["decided_at"]
    assert record["used"] is True


def test_a_denied_call_never_runs_and_the_agent_is_told(steward: StewardServer) -> None:
    chat = LiveChat(steward, "please remember bravo")
    required = chat.wait_for_event("approval_required")
    answer = decide(steward, required["approval_id"], "deny", note="not this one")
    assert answer.status_code == 200, answer.text

    events = chat.finish()
    [resolved] = events_of(events, "approval_resolved")
    assert resolved["decision"] == "denied"
    assert resolved["by"] == "owner"
    [result] = events_of(events, "tool_result")
    assert result["ok"] is False
    assert "denied" in result["summary"]
    assert events[-1][0] == "done"
    assert memory_items(steward, "bravo") == 0
    record = steward.api("GET", f"/api/approvals/{required['approval_id']}").json()
    assert record["status"] == "denied"
    assert record["used"] is False
    assert record["note"] == "not this one"


def test_an_approval_cannot_be_replayed_or_reused_for_another_call(steward: StewardServer) -> None:
    first = LiveChat(steward, "please remember delta")
    first_required = first.wait_for_event("approval_required")
    assert decide(steward, first_required["approval_id"], "approve").status_code == 200
    first.finish()
    assert memory_items(steward, "delta") == 1

    # Replayed: the decision is final.
    for decision in ("approve", "deny"):
        again = decide(steward, first_required["approval_id"], decision)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "conflict"

    # The same call again (same tool, same arguments) is a new call: it waits for its own approval,
    # and the old approval does not cover it.
    second = LiveChat(steward, "please remember delta")
    second_required = second.wait_for_event("approval_required")
    assert second_required["approval_id"] != first_required["approval_id"]
    assert second_required["arguments"] == first_required["arguments"]
    assert decide(steward, first_required["approval_id"], "approve").status_code == 409
    time.sleep(0.5)
    assert memory_items(steward, "delta") == 1, "the old approval ran the new call"
    # A decision bound to other arguments than the waiting call's is refused, and changes nothing.
    wrong = decide(steward, second_required["approval_id"], "approve", arguments_hash="0" * 64)
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["context"] == "arguments_hash"
    assert second_required["approval_id"] in {a["id"] for a in pending(steward)}
    assert decide(steward, second_required["approval_id"], "deny").status_code == 200
    second.finish()
    assert memory_items(steward, "delta") == 1


def test_a_run_token_cannot_list_or_decide_approvals(steward: StewardServer, tap_dir: Path) -> None:
    chat = LiveChat(steward, "please remember charlie")
    required = chat.wait_for_event("approval_required")
    token = run_token(tap_dir / "worker-stdin.jsonl", required["run_id"])
    assert token != steward.token

    refused = decide(steward, required["approval_id"], "approve", token=token)
    assert refused.status_code in (401, 403), refused.text
    assert steward.api("GET", "/api/approvals?status=pending", token=token).status_code in (401, 403)
    assert steward.api("GET", "/api/tool-gaps", token=token).status_code in (401, 403)
    assert decide(steward, required["approval_id"], "approve", token="not-a-token").status_code == 401
    time.sleep(0.5)
    assert memory_items(steward, "charlie") == 0
    assert required["approval_id"] in {a["id"] for a in pending(steward)}

    assert decide(steward, required["approval_id"], "deny").status_code == 200
    chat.finish()
    assert memory_items(steward, "charlie") == 0


def test_bad_decisions_name_the_field(steward: StewardServer) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert decide(steward, unknown, "approve").status_code == 404
    assert decide(steward, "not-a-uuid", "approve").status_code == 404
    cases = [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "approve", "note": 5}, "note"),
        ({"decision": "approve", "why": "x"}, "why"),
    ]
    for body, field in cases:
        got = steward.api("POST", f"/api/approvals/{unknown}", json=body)
        assert got.status_code == 400, (body, got.text)
        assert got.json()["error"]["context"] == field
    got = steward.api("GET", "/api/approvals?status=sometimes")
    assert got.status_code == 400
    assert got.json()["error"]["context"] == "status"


def test_cancelling_the_run_releases_a_waiting_call_as_denied(steward: StewardServer) -> None:
    chat = LiveChat(steward, "please remember golf")
    required = chat.wait_for_event("approval_required")
    cancelled = steward.api("POST", f"/api/runs/{required['run_id']}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    events = chat.finish()
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "cancelled"

    def decided() -> dict[str, Any] | None:
        record = steward.api("GET", f"/api/approvals/{required['approval_id']}").json()
        return record if record["status"] != "pending" else None

    record = wait_for(decided, timeout=10, what="the approval to be decided")
    assert record["status"] == "denied"
    assert record["decided_by"] == "run_cancelled"
    assert memory_items(steward, "golf") == 0


def test_an_owner_mcp_client_is_held_by_the_same_gate(steward: StewardServer) -> None:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def call() -> Any:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {steward.token}"}, timeout=120) as http,
            streamable_http_client(f"{steward.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(
                "memory.remember", {"content": "hotel-fact for the approval tests"}
            )

    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(asyncio.run(call())), daemon=True)
    thread.start()

    def waiting() -> dict[str, Any] | None:
        return next(
            (a for a in pending(steward) if a["tool"] == "memory.remember" and a["run_id"] is None), None
        )

    approval = wait_for(waiting, timeout=30, what="the owner's call to be held")
    assert approval["arguments"] == {"content": "hotel-fact for the approval tests"}
    assert memory_items(steward, "hotel") == 0
    assert decide(steward, approval["id"], "deny").status_code == 200
    thread.join(30)
    assert outcome
    assert outcome[0].is_error
    assert "denied" in outcome[0].content[0].text
    assert memory_items(steward, "hotel") == 0


def test_cli_chat_prints_the_approval_and_steward_approve_answers_it(steward: StewardServer) -> None:
    env = cli_env(steward)
    chat = subprocess.Popen(
        [STEWARD_BIN, "chat", "--agent", "scribe", "please remember foxtrot"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        approval = wait_for(
            lambda: next((a for a in pending(steward) if "foxtrot" in json.dumps(a["arguments"])), None),
            timeout=60,
            what="the CLI chat's approval",
        )
        listed = subprocess.run(
            [STEWARD_BIN, "approvals"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert listed.returncode == 0, listed.stderr
        assert approval["id"] in listed.stdout
        assert "memory.remember" in listed.stdout
        approved = subprocess.run(
            [STEWARD_BIN, "approve", approval["id"], "--note", "from the CLI"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert approved.returncode == 0, approved.stderr
        assert "approved memory.remember" in approved.stdout
        out, err = chat.communicate(timeout=120)
    finally:
        if chat.poll() is None:
            chat.kill()
    assert chat.returncode == 0, err
    assert f"steward approve {approval['id']}" in err
    assert "Finished." in out
    assert memory_items(steward, "foxtrot") == 1
    again = subprocess.run(
        [STEWARD_BIN, "deny", approval["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "already decided" in again.stderr


def test_cli_chat_on_a_terminal_asks_and_posts_the_answer(steward: StewardServer) -> None:
    import pty

    master, slave = pty.openpty()  # the chat's stdin is a terminal; its output stays on pipes
    chat = subprocess.Popen(
        [STEWARD_BIN, "chat", "--agent", "scribe", "please remember india"],
        env=cli_env(steward),
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    err_chunks: list[bytes] = []

    def read_err() -> None:  # raw reads: the question ends without a newline
        assert chat.stderr is not None
        while chunk := os.read(chat.stderr.fileno(), 4096):
            err_chunks.append(chunk)

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: b"Approve memory.remember" in b"".join(err_chunks),
            timeout=60,
            what="the approval question",
        )
        assert memory_items(steward, "india") == 0
        os.write(master, b"y\n")
        chat.wait(120)
        assert chat.stdout is not None
        out = chat.stdout.read().decode()
    finally:
        if chat.poll() is None:
            chat.kill()
        os.close(master)
    reader.join(10)
    err = b"".join(err_chunks).decode()
    assert chat.returncode == 0, err
    assert 'Approve memory.remember {"content":"india-fact for the approval tests"}? [y/N]' in err
    assert "approved" in err
    assert "Finished." in out
    assert memory_items(steward, "india") == 1


def test_timeout_denies_escalates_and_logs(launcher: Any, tmp_path: Path) -> None:
    server = launcher.launch(approval_spec(tmp_path, timeout_s=2))
    chat = LiveChat(server, "please remember echo")
    required = chat.wait_for_event("approval_required")
    assert required["timeout_s"] == 2
    events = chat.finish(timeout=60)

    [resolved] = events_of(events, "approval_resolved")
    assert resolved["decision"] == "expired"
    assert resolved["by"] == "timeout"
    [result] = events_of(events, "tool_result")
    assert result["ok"] is False
    assert memory_items(server, "echo") == 0
    record = server.api("GET", f"/api/approvals/{required['approval_id']}").json()
    assert record["status"] == "expired"
    assert record["escalated"] is True
    assert record["decided_by"] == "timeout"
    assert decide(server, required["approval_id"], "approve").status_code == 409
    assert re.search(
        rf"\bwarn(ing)?\b.*approval {required['approval_id']} expired .* escalated", server.log_text()
    )


# --- tool-gap reports ----------------------------------------------------------------------------


def test_a_zero_tool_task_yields_a_schema_valid_tool_gap_report(steward: StewardServer) -> None:
    events = steward.chat("Send an email to bob@example.com saying the report is ready", agent="bare")
    [done] = events_of(events, "done")
    answer = "".join(d.get("text", "") for n, d in events if n == "token")
    assert "Here is a draft you can send yourself" in answer
    assert "bob@example.com" in answer

    gap = done["tool_gap"]
    assert gap["valid"] is True, gap["errors"]
    report = gap["report"]
    jsonschema.Draft202012Validator(SCHEMA).validate(report)  # independently of Steward's validator
    assert [t["name"] for t in report["missing_tools"]] == ["email.send"]
    assert report["missing_tools"][0]["estimated_risk"] == "high"
    assert report["existing_tools_checked"][0]["name"] == "tools/list"
    assert report["proposed_mcp_server"]["name"] == "email"

    listed = steward.api("GET", "/api/tool-gaps").json()["reports"]
    stored = next(r for r in listed if r["id"] == gap["id"])
    assert stored["report"] == report
    assert stored["valid"] is True
    assert stored["run_id"] == done["run_id"]

    cli = subprocess.run(
        [STEWARD_BIN, "tools", "gaps"],
        env=cli_env(steward),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert f"#{gap['id']}" in cli.stdout
    assert "missing: email.send (high risk)" in cli.stdout


def test_an_answer_without_a_gap_has_no_report(steward: StewardServer) -> None:
    events = steward.chat("What can you do?", agent="bare")
    [done] = events_of(events, "done")
    assert "tool_gap" not in done
