"""Durable workflow runs end to end: the real `steward serve`, real workers, real PostgreSQL, a
loopback SMTP server (aiosmtpd) and a local HTTP site.

The five-step workflow `digest5` ends in email.send: fetch (web.hn_top, offline fixture) →
summarize, critique, format (llm steps on the scripted provider, with delays) → send. The fault
tests SIGKILL `steward serve` right after each step's result is committed (the engine pauses
STEWARD_WORKFLOW_STEP_PAUSE_MS between steps so the kill lands between them) and in the middle of
a slow step, restart it, and check that every run completes exactly once: each step recorded
once, no completed step run again (model calls counted), and exactly one message per run at the
SMTP server. A worker killed in the middle of an agent step is retried on another worker; a
step that always fails ends the run failed, with its attempts' errors recorded and its on_error
handler run.

Policy: email.* and web.* are tiered low here so the steps run without an approval (approvals
of workflow steps are covered by the engine's pgtests).
"""

from __future__ import annotations

import email
import email.policy
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from steward_harness import (
    REPO,
    STEWARD_BIN,
    Launcher,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
    wait_for,
)

HN_FIXTURE = REPO / "config" / "feeds" / "hn_top.json"
CORPUS = REPO / "config" / "corpus"
OWNER = "me@example.com"

SCRIPT = """
responses:
  - match: "^SUMMARIZE"
    content: "Three stories worth reading today."
    first_delay_ms: 1500
  - match: "^CRITIQUE"
    content: "The summary is fair."
    first_delay_ms: 300
  - match: "^FORMAT"
    content: "Digest: three stories worth reading today."
    first_delay_ms: 600
  - match: "^AGENT"
    content: "The agent thought it over."
    first_delay_ms: 2500
"""

RETRY = {"max_attempts": 3, "backoff": "200ms"}
# The engine's pause after each step's result is committed. That commit also starts the next
# step (its row is `running` from then on), which runs after the pause.
STEP_PAUSE_S = 0.4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """aiosmtpd handler recording every message."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"

    def with_subject(self, text: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if text in str(m["Subject"])]


class Down:
    """An HTTP site that answers every request with 503, counting them."""

    def __init__(self) -> None:
        self.requests = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests += 1
                body = b"down for maintenance"
                self.send_response(503)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture(scope="module")
def down() -> Iterator[Down]:
    site = Down()
    yield site
    site.close()


def llm(step_id: str, prompt: str) -> dict[str, Any]:
    return {"id": step_id, "kind": "llm", "model": "scripted", "prompt": prompt, "retry": RETRY}


def workflow_spec(smtp_port: int, down_port: int) -> ServerSpec:
    config = base_config(None, pool_size=2)
    config["workers"]["start_timeout_s"] = 240  # the machine is shared: imports can be slow
    config["providers"]["replay"] = {"kind": "scripted", "script": "replay.yaml", "timeout_s": 60}
    config["models"]["scripted"] = {"provider": "replay", "model": "replay"}
    config["agents"]["thinker"] = {"runner": "pydantic_ai", "model": "scripted", "tools": []}
    config["tools"] = {
        "web": {
            "corpus": str(CORPUS),
            "hn_fixture": str(HN_FIXTURE),
            "offline": True,
            "allow_hosts": [f"127.0.0.1:{down_port}"],
            "timeout_s": 10,
        },
        "email": {
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
            "from": "Steward <steward@example.com>",
            "allow_recipients": ["*@example.com"],
            "timeout_s": 10,
        },
    }
    config["policy"] = {"tiers": {"email.*": "low", "web.*": "low"}}
    config["workflows"] = {
        "digest5": {
            "description": "five steps ending in an email",
            "pattern": "deterministic_pipeline",
            "output": "${steps.format.output.text}",
            "inputs": {"to": OWNER},
            "steps": [
                {"id": "fetch", "kind": "tool", "tool": "web.hn_top", "input": {"limit": 3}, "retry": RETRY},
                llm("summarize", "SUMMARIZE ${steps.fetch.output}"),
                llm("critique", "CRITIQUE ${steps.summarize.output.text}"),
                llm("format", "FORMAT ${steps.summarize.output.text} / ${steps.critique.output.text}"),
                {
                    "id": "send",
                    "kind": "tool",
                    "tool": "email.send",
                    "input": {
                        "to": ["${inputs.to}"],
                        "subject": "Digest ${run.id}",
                        "body": "${steps.format.output.text}",
                    },
                    "retry": RETRY,
                },
            ],
        },
        "agentic": {
            "steps": [
                {
                    "id": "think",
                    "kind": "agent",
                    "agent": "thinker",
                    "message": "AGENT think about ${inputs.topic}",
                    "retry": {"max_attempts": 3, "backoff": "500ms"},
                    "timeout": "60s",
                },
            ],
            "inputs": {"topic": "durability"},
        },
        "doomed": {
            "steps": [
                {
                    "id": "fetch_page",
                    "kind": "tool",
                    "tool": "web.fetch",
                    "input": {"url": f"http://127.0.0.1:{down_port}/status"},
                    "retry": {"max_attempts": 3, "backoff": "100ms"},
                    "on_error": "alert",
                },
                {"id": "never", "kind": "tool", "tool": "web.hn_top", "input": {"limit": 1}},
            ],
            "handlers": [
                {
                    "id": "alert",
                    "kind": "tool",
                    "tool": "email.send",
                    "input": {
                        "to": [OWNER],
                        "subject": "Workflow failed ${run.id}",
                        "body": "${error.step} failed: ${error.message}",
                    },
                }
            ],
        },
    }
    return ServerSpec(config, {"replay.yaml": SCRIPT})


@pytest.fixture(scope="module")
def wf_server(module_launcher: Launcher, smtp: tuple[SmtpSink, int], down: Down) -> Iterator[StewardServer]:
    server = module_launcher.prepare(
        workflow_spec(smtp[1], down.port),
        name="workflows",
        extra_env={
            "STEWARD_WORKFLOW_LEASE_MS": "1500",
            "STEWARD_WORKFLOW_ADOPT_MS": "300",
            "STEWARD_WORKFLOW_STEP_PAUSE_MS": str(int(STEP_PAUSE_S * 1000)),
        },
    )
    server.start_timeout = 300
    server.start()
    return server


def ensure_up(server: StewardServer) -> StewardServer:
    server.start_timeout = 300
    if server.process is None or server.process.poll() is not None:
        server.restart()
    return server


def start_run(server: StewardServer, workflow: str, inputs: dict[str, Any] | None = None) -> str:
    r = server.api("POST", f"/api/workflows/{workflow}/runs", json={"inputs": inputs or {}})
    assert r.status_code == 202, r.text
    run_id: str = r.json()["run_id"]
    return run_id


def step_rows(server: StewardServer, run_id: str) -> dict[str, dict[str, Any]]:
    rows = server.query(
        f"SELECT path, status, attempt, errors, child_run_id FROM workflow_step WHERE run_id = '{run_id}'"
    )
    return {row["path"]: row for row in rows}


def run_row(server: StewardServer, run_id: str) -> dict[str, Any]:
    return server.query(f"SELECT status, error, output FROM run WHERE id = '{run_id}'")[0]


def wait_run_end(server: StewardServer, run_id: str, timeout: float = 60) -> dict[str, Any]:
    try:
        return wait_for(
            lambda: (row := run_row(server, run_id))["status"] != "running" and row,
            timeout=timeout,
            what=f"run {run_id} to end",
            interval=0.1,
        )
    except TimeoutError:
        raise AssertionError(
            f"run {run_id} did not end: steps {step_rows(server, run_id)}\n{server.all_logs()}"
        ) from None


# --- the happy path, through the API and the CLI -------------------------------------------------------


def test_five_step_workflow_streams_its_steps_and_sends_one_email(
    wf_server: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    server = ensure_up(wf_server)
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "POST",
        f"{server.url}/api/workflows/digest5/runs",
        json={"inputs": {}, "stream": True},
        headers=server.headers(),
        timeout=60,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = list(parse_sse_lines(r.iter_lines()))
    kinds = [e[0] for e in events]
    assert kinds[0] == "session", kinds
    assert kinds[-1] == "done", kinds
    run_id = events[-1][1]["run_id"]
    finished = [d["step"] for d in events_of(events, "status") if d.get("state") == "succeeded"]
    assert finished == ["fetch", "summarize", "critique", "format", "send"]
    assert any(e[0] == "tool_call" and e[1]["tool"] == "email.send" for e in events)
    assert "".join(d["text"] for d in events_of(events, "token")).count("Three stories") == 1

    assert len(smtp[0].with_subject(run_id)) == 1
    details = server.api("GET", f"/api/runs/{run_id}").json()
    assert details["status"] == "succeeded"
    assert details["workflow"] == "digest5"
    assert [s["path"] for s in details["steps"]] == ["fetch", "summarize", "critique", "format", "send"]
    for s in details["steps"]:
        assert s["status"] == "succeeded"
        assert s["attempts"] == 1
        assert s["duration_ms"] >= 0
    assert details["steps"][4]["idempotency_key"] == f"{run_id}/send"
    assert details["steps"][1]["output"]["text"] == "Three stories worth reading today."
    listed = server.api("GET", "/api/runs?workflow=digest5&status=succeeded").json()["runs"]
    assert run_id in [r["id"] for r in listed]
    names = [w["name"] for w in server.api("GET", "/api/workflows").json()["workflows"]]
    assert {"digest5", "agentic", "doomed"} <= set(names)


def test_cli_run_streams_progress_and_runs_shows_the_steps(
    wf_server: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    server = ensure_up(wf_server)
    env = {**os.environ, "STEWARD_HOME": str(server.home)}
    args = [STEWARD_BIN, "--config", str(server.config_path)]
    env["STEWARD_URL"] = server.url
    done = subprocess.run(
        [*args, "run", "digest5", "--input", f"to={OWNER}"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Digest: three stories" in done.stdout
    assert "summarize: done" in done.stderr
    assert "send: done" in done.stderr
    run_id = done.stderr.rsplit("(run ", 1)[1].split(";")[0]
    assert len(smtp[0].with_subject(run_id)) == 1
    shown = subprocess.run(
        [*args, "runs", run_id], capture_output=True, text=True, timeout=30, env=env, check=False
    )
    assert shown.returncode == 0, shown.stderr
    for path in ("fetch", "summarize", "critique", "format", "send"):
        assert f"✓ {path} [" in shown.stdout
    listed = subprocess.run(
        [*args, "runs", "--workflow", "digest5"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert run_id in listed.stdout
    bad = subprocess.run(
        [*args, "run", "digest5", "--input", "colour=red"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert "colour" in bad.stderr


# --- SIGKILL of the core -------------------------------------------------------------------------------

KILL_POINTS = [
    ("after", "fetch"),
    ("after", "summarize"),
    ("after", "critique"),
    ("after", "format"),
    ("after", "send"),
    ("during", "summarize"),
    ("during", "format"),
]


@pytest.mark.parametrize(("when", "step"), KILL_POINTS, ids=[f"{w}-{s}" for w, s in KILL_POINTS])
def test_sigkill_of_the_core_resumes_the_run_exactly_once(
    wf_server: StewardServer, smtp: tuple[SmtpSink, int], when: str, step: str
) -> None:
    server = ensure_up(wf_server)
    run_id = start_run(server, "digest5")
    wanted = "succeeded" if when == "after" else "running"

    def reached() -> bool:
        row = step_rows(server, run_id).get(step)
        return row is not None and row["status"] == wanted

    wait_for(reached, timeout=30, what=f"step {step} to be {wanted}", interval=0.02)
    if when == "during":
        # Past the pause, well inside the step's model call (>= 600 ms).
        time.sleep(STEP_PAUSE_S + 0.15)
    server.kill()
    at_kill = step_rows(server, run_id)
    order = ["fetch", "summarize", "critique", "format", "send"]
    later = order[order.index(step) + 1 :]
    if when == "after":
        assert all(at_kill.get(p, {}).get("status") != "succeeded" for p in later), at_kill
        if later:  # the commit of the step's result started the next one
            assert at_kill[later[0]]["status"] == "running", at_kill
    else:
        assert at_kill[step]["status"] == "running"

    server.restart()
    final = wait_run_end(server, run_id)
    assert final["status"] == "succeeded", (final, step_rows(server, run_id))
    steps = step_rows(server, run_id)
    assert sorted(steps) == ["critique", "fetch", "format", "send", "summarize"]
    assert all(s["status"] == "succeeded" for s in steps.values()), steps
    if when == "during":
        assert steps[step]["attempt"] == 2, steps  # the interrupted attempt counted, then retried
    elif later:
        assert steps[later[0]]["attempt"] == 2, steps  # started before the kill: counted
    # Completed steps were not run again: one recorded model call per llm step.
    calls = server.query(f"SELECT count(*) AS n FROM model_call WHERE run_id = '{run_id}' AND status = 'ok'")
    assert calls[0]["n"] == 3, calls
    # Exactly one email for the run, sent once.
    assert len(smtp[0].with_subject(run_id)) == 1
    outbox = server.query(f"SELECT status FROM email_outbox WHERE idempotency_key = '{run_id}/send'")
    assert [r["status"] for r in outbox] == ["sent"]


def test_runs_left_by_a_killed_core_all_finish_once_after_restart(
    wf_server: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    server = ensure_up(wf_server)
    runs = [start_run(server, "digest5") for _ in range(3)]
    time.sleep(1.2)
    server.kill()
    server.restart()
    for run_id in runs:
        assert wait_run_end(server, run_id)["status"] == "succeeded"
        assert len(smtp[0].with_subject(run_id)) == 1


# --- a worker killed mid-step ----------------------------------------------------------------------------


def test_worker_killed_mid_agent_step_is_retried(wf_server: StewardServer) -> None:
    server = ensure_up(wf_server)
    run_id = start_run(server, "agentic")

    def busy_worker() -> int | None:
        row = step_rows(server, run_id).get("think")
        if row is None or row["status"] != "running" or not row["child_run_id"]:
            return None
        health = server.api("GET", "/healthz").json()
        pids = [w["pid"] for w in health["workers"] if w["in_flight"] > 0]
        return pids[0] if pids else None

    pid = wait_for(busy_worker, timeout=30, what="the agent step to run on a worker", interval=0.05)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    final = wait_run_end(server, run_id)
    assert final["status"] == "succeeded", (final, step_rows(server, run_id))
    assert final["output"]["text"] == "The agent thought it over."
    think = step_rows(server, run_id)["think"]
    assert think["attempt"] == 2
    assert "worker" in think["errors"][0]["message"].lower(), think["errors"]
    children = server.query(
        f"SELECT status, kind FROM run WHERE parent_run_id = '{run_id}' ORDER BY started_at"
    )
    assert [c["status"] for c in children] == ["failed", "succeeded"]
    assert {c["kind"] for c in children} == {"agent"}


# --- a step that always fails --------------------------------------------------------------------------


def test_a_step_that_always_fails_ends_the_run_failed_and_runs_its_error_handler(
    wf_server: StewardServer, smtp: tuple[SmtpSink, int], down: Down
) -> None:
    server = ensure_up(wf_server)
    before = down.requests
    run_id = start_run(server, "doomed")
    final = wait_run_end(server, run_id)
    assert final["status"] == "failed"
    assert "503" in final["error"]["message"], final
    assert down.requests - before == 3  # every attempt of its retry policy
    steps = step_rows(server, run_id)
    assert steps["fetch_page"]["status"] == "failed"
    assert steps["fetch_page"]["attempt"] == 3
    assert len(steps["fetch_page"]["errors"]) == 3
    assert steps["fetch_page.on_error"]["status"] == "succeeded"
    assert "never" not in steps
    alerts = smtp[0].with_subject(f"Workflow failed {run_id}")
    assert len(alerts) == 1
    assert "fetch_page failed" in alerts[0].get_content()
    details = server.api("GET", f"/api/runs/{run_id}").json()
    assert details["error"]["message"] == final["error"]["message"]


def test_bad_inputs_and_unknown_workflows_are_refused(wf_server: StewardServer) -> None:
    server = ensure_up(wf_server)
    r = server.api("POST", "/api/workflows/digest5/runs", json={"inputs": {"colour": "red"}})
    assert r.status_code == 400
    assert "colour" in r.text
    r = server.api("POST", "/api/workflows/nope/runs", json={})
    assert r.status_code == 404
    assert "digest5" in r.text
