"""The shipped daily_research workflow end to end, offline: the real `steward serve`, real workers
(the LangGraph and formatter runners), real PostgreSQL (also holding LangGraph's checkpoints) and a
loopback SMTP server (aiosmtpd).

`steward run daily_research` fetches the trending stories (web.hn_top, the shipped feed), researches
each with the LangGraph graph (memory, then the shipped web corpus; the offline model drafts without
citations, so the critique sends each topic round the refine loop once and the answer is extracted from
the sources), formats a digest and mails it; the owner's address is low risk through
policy.owner_addresses, so nothing waits. Checked: the digest arrived once with numbered citations in
both parts, and the steps and the graph's iterations show in the stream, `steward runs` and
`steward trace`.

Then the escalation path through the real approval gate: an agent with `runner: langgraph` asked about
something two memory notes disagree on stops at LangGraph's interrupt, which is a pending approval of
steward.escalate; approving it resumes the graph, whose answer says the owner approved.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from steward_harness import (
    REPO,
    STEWARD_BIN,
    WORKER_PYTHON,
    Launcher,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
    stream_chat,
    wait_for,
)

OWNER = "owner@example.com"
WORKFLOW_FILE = REPO / "config" / "workflows" / "daily_research.yaml"
pytestmark = pytest.mark.skipif(
    not WORKFLOW_FILE.exists(), reason="config/workflows/daily_research.yaml is missing"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """aiosmtpd handler recording every message with its envelope recipients."""

    messages: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def research_spec(smtp_port: int) -> ServerSpec:
    config = base_config(None, pool_size=2)
    config["agents"]["trend_researcher"] = {
        "runner": "langgraph",
        "model": "offline",
        "risk_threshold": "medium",
        "tools": ["memory.search", "web.search", "steward.escalate"],
    }
    config["agents"]["digest_formatter"] = {"runner": "formatter", "model": "offline"}
    config["tools"] = {
        "web": {"search_backend": "local", "offline": True, "timeout_s": 10},
        "email": {
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
            "from": "Steward <steward@example.com>",
            "allow_recipients": [OWNER],
            "timeout_s": 10,
        },
    }
    # Only the owner's own address is low risk: email.send stays high for anyone else.
    # As in config/steward.example.yaml: the feed is a fixed public API, so its step needs no approval.
    config["policy"] = {"owner_addresses": [OWNER], "tiers": {"web.hn_top": "low"}, "approval_timeout_s": 120}
    config["memory"] = {"embeddings": {"provider": "none"}}
    config["workflows"] = {"daily_research": {"file": str(WORKFLOW_FILE)}}
    return ServerSpec(config)


@pytest.fixture(scope="module")
def server(module_launcher: Launcher, smtp: tuple[SmtpSink, int]) -> StewardServer:
    return module_launcher.launch(research_spec(smtp[1]), name="research")


def cli(server: StewardServer, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(server.home), STEWARD_URL=server.url, STEWARD_WORKER_PYTHON=WORKER_PYTHON)
    return subprocess.run(
        [STEWARD_BIN, "--config", str(server.config_path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_steward_run_daily_research_mails_a_cited_digest_and_shows_the_iterations(  # noqa: PLR0915
    server: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    sink = smtp[0]
    done = cli(server, "run", "daily_research", "--input", f"to={OWNER}", "--input", "topics=2")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    progress = done.stderr
    # The graph's nodes stream as step progress, with their iterations.
    assert "search (iteration 1)" in progress, progress
    assert "critique (iteration 1)" in progress, progress
    assert "refine (iteration 2 of 2)" in progress, progress
    assert "finalize (iteration 2)" in progress, progress
    assert "digest: 2 topic(s)" in progress, progress
    run_id = progress.rsplit("(run ", 1)[1].split(";")[0].split(",")[0].split(")")[0].strip()

    # Exactly one digest, to the owner, with numbered citations in both parts.
    assert len(sink.messages) == 1, [m["Subject"] for _, m in sink.messages]
    recipients, message = sink.messages[0]
    assert recipients == [OWNER]
    assert str(message["Subject"]).startswith("Daily research digest — ")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    text = plain.get_content()
    assert "## 1. " in text
    assert "## 2. " in text
    assert "[1]" in text
    assert "## Sources" in text
    assert "\n[1] " in text
    assert '<a href="#src-1">[1]</a>' in html.get_content()
    assert '<li id="src-1">' in html.get_content()

    # The run and its steps, over the API: each topic went round the loop twice.
    details = server.api("GET", f"/api/runs/{run_id}").json()
    assert details["status"] == "succeeded", details
    paths = [s["path"] for s in details["steps"]]
    for step in ("trending", "research", "digest", "send"):
        assert step in paths, paths
    investigations = [s for s in details["steps"] if s["path"].endswith("investigate")]
    assert len(investigations) == 2, paths
    for step in investigations:
        assert step["status"] == "succeeded"
        data = step["output"]["data"]
        assert data["graph"] == "research"
        assert data["iterations"] == 2
        assert data["sources"], data
        assert "[1]" in data["answer"]

    shown = cli(server, "runs", run_id)
    assert shown.returncode == 0, shown.stderr
    for step in ("trending", "digest", "send"):
        assert f"✓ {step}" in shown.stdout, shown.stdout
    investigate_lines = [line for line in shown.stdout.splitlines() if "investigate" in line]
    assert len(investigate_lines) == 2, shown.stdout
    for line in investigate_lines:
        assert line.strip().startswith("✓ ")
        assert line.endswith("research 2 iterations"), line

    # The trace holds the workflow, the agent runs and the graph's nodes with their iterations.
    def traced() -> str | None:
        out = cli(server, "trace", run_id, timeout=60)
        return out.stdout if out.returncode == 0 and "langgraph.node finalize" in out.stdout else None

    trace = wait_for(traced, timeout=30, what="the graph's spans in `steward trace`", interval=0.5)
    assert "worker: langgraph.node critique" in trace, trace
    assert "iteration 1" in trace, trace
    assert "iteration 2" in trace, trace
    assert "execute_tool web.search" in trace, trace
    assert "execute_tool email.send" in trace or "email.send" in trace, trace


def test_an_interrupt_is_a_pending_approval_and_approving_resumes_the_graph(
    server: StewardServer, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "zephyrflow-a.md").write_text(
        "# Zephyrflow history\n\nZephyrflow was first released in 2019 by a small team of glaciologists.\n"
    )
    (notes / "zephyrflow-b.md").write_text(
        "# Zephyrflow notes\n\nThe Zephyrflow library was released in 2021, according to its changelog.\n"
    )
    ingested = cli(server, "ingest", str(notes))
    assert ingested.returncode == 0, ingested.stderr

    result: dict[str, Any] = {}

    def chat() -> None:
        body = {"message": "When was Zephyrflow released?", "agent": "trend_researcher"}
        with stream_chat(server.url, server.token, body, timeout=180) as response:
            result["status"] = response.status_code
            result["events"] = list(parse_sse_lines(response.iter_lines()))

    thread = threading.Thread(target=chat, daemon=True)
    thread.start()

    def pending() -> dict[str, Any] | None:
        rows = server.api("GET", "/api/approvals?status=pending").json()["approvals"]
        return next((r for r in rows if r["tool"] == "steward.escalate"), None)

    approval = wait_for(pending, timeout=120, what="a pending steward.escalate approval", interval=0.2)
    assert approval["tier"] == "high"
    assert "Zephyrflow released" in approval["arguments"]["title"]
    assert "2019" in approval["arguments"]["reason"]
    assert "2021" in approval["arguments"]["reason"]
    assert thread.is_alive(), "the run must wait for the owner"

    decided = server.api("POST", f"/api/approvals/{approval['id']}", json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    thread.join(timeout=120)
    assert not thread.is_alive()
    events = result["events"]
    assert events[-1][0] == "done", events[-3:]
    assert any(e[0] == "approval_required" for e in events)
    statuses = [d.get("text", "") for d in events_of(events, "status")]
    assert any(s.startswith("escalate (iteration") for s in statuses), statuses
    assert "escalate: the owner's decision: approved (owner)" in statuses, statuses
    answer = "".join(d["text"] for d in events_of(events, "token"))
    assert "The owner reviewed this and approved publishing it." in answer
    assert "Zephyrflow released: " in answer
