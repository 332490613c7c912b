"""The langgraph runner in a real worker process, against a fake core speaking the real wire formats:
scripted OpenAI chat completions on /v1 and an MCP server on /mcp (fixtures/research_mcp_fixture.py), with
checkpoints in a real PostgreSQL database (STEWARD_TEST_PG, default the local trust-auth server).

Proves: the critique → refine loop runs again when the draft fails; conflicting sources are detected; an
interrupt becomes a held steward.escalate call, and the owner's decision resumes the graph; a thread's
checkpoint survives SIGKILL of the worker, and a rerun resumes it (without searching again).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from conftest import TRACEPARENT, new_run_id, tokens
from fixtures.fake_core import FakeCore
from fixtures.research_mcp_fixture import Doc, ResearchMCPFixture
from fixtures.worker_process import Message, WorkerProcess

PG = os.environ.get("STEWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

WEB = [
    Doc(
        "LangGraph overview",
        "https://langchain-ai.github.io/langgraph/",
        "LangGraph is a library for stateful agent graphs. LangGraph was first released in January 2024. "
        "A checkpointer saves the graph state after every step.",
    ),
    Doc(
        "LangGraph on a blog",
        "https://blog.example.com/langgraph-history",
        "The LangGraph library was released in 2023 by the LangChain team. It supports cycles and "
        "human-in-the-loop interrupts for agent graphs.",
    ),
    Doc("Unrelated", "https://example.com/cooking", "How to bake bread with sourdough."),
]
MEMORY = [
    Doc(
        "My note on agent graphs",
        "note:agents",
        "I liked LangGraph checkpoints for agent graphs: they make resuming after a crash easy.",
    )
]
QUESTION = "When was LangGraph released, and what are its agent graphs good for?"
GOOD_DRAFT = (
    "LangGraph builds stateful agent graphs with checkpoints [1][2]. The sources disagree on its release: "
    "2024 [1] versus 2023 [2]."
)


def _fresh_database() -> Iterator[str]:
    name = f"lgtest_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the suite needs PostgreSQL
        pytest.fail(f"PostgreSQL at {PG} is needed for checkpoints: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield psycopg.conninfo.make_conninfo(PG, dbname=name)
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def checkpoint_db() -> Iterator[str]:
    """A fresh database for this module's checkpoints."""
    yield from _fresh_database()


@pytest.fixture
def empty_db() -> Iterator[str]:
    """A fresh database without checkpoint tables yet."""
    yield from _fresh_database()


@pytest.fixture
def research_core() -> Iterator[FakeCore]:
    token = f"run-token-{uuid.uuid4().hex[:8]}"
    mcp = ResearchMCPFixture(token=token, memory=list(MEMORY), web=list(WEB))
    with FakeCore(token=token, mcp=mcp) as fake:
        yield fake
        for item in mcp.escalations:  # never leave a held call behind
            if not item.decided.is_set():
                mcp.decide(item, "denied", "test over")


def _mcp(core: FakeCore) -> ResearchMCPFixture:
    assert isinstance(core.mcp, ResearchMCPFixture)
    return core.mcp


@pytest.fixture
def lg_worker(checkpoint_db: str) -> Iterator[WorkerProcess]:
    with WorkerProcess(env={"STEWARD_CHECKPOINT_DB": checkpoint_db}) as process:
        process.expect_type("ready", timeout=90)
        yield process


def research_run(
    core: FakeCore,
    *,
    message: str = "",
    graph: str | None = None,
    thread_id: str | None = None,
    **inputs: Any,
) -> Message:
    run_input: dict[str, Any] = {"message": message}
    if graph is not None:
        run_input.update(graph=graph, inputs=inputs)
    if thread_id is not None:
        run_input["thread_id"] = thread_id
    return {
        "type": "run",
        "run_id": new_run_id(),
        "runner": "langgraph",
        "agent": {
            "name": "researcher",
            "model": "fixture-model",
            "tools": ["memory.*", "web.search", "steward.escalate"],
        },
        "input": run_input,
        "core": {"base_url": core.base_url, "token": core.token},
        "trace": {"traceparent": TRACEPARENT},
    }


def statuses(events: list[Message]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "status"]


def test_ready_lists_the_langgraph_runner(lg_worker: WorkerProcess) -> None:
    first = json.loads(lg_worker.raw_stdout[0])
    assert {"langgraph", "formatter", "pydantic_ai"} <= set(first["runners"])
    assert first["versions"]["langgraph"]
    assert first["versions"]["langgraph-checkpoint-postgres"]


def test_failed_critique_refines_and_conflicting_sources_are_detected(
    lg_worker: WorkerProcess, research_core: FakeCore
) -> None:
    research_core.openai.add({"text": "LangGraph is great for agents."}, {"text": GOOD_DRAFT})
    run = research_run(research_core, graph="research", question=QUESTION, escalate="never")
    lg_worker.send(run)
    events = lg_worker.run_events(run["run_id"], timeout=60)
    done = events[-1]
    assert done["type"] == "done", events

    lines = statuses(events)
    assert any(s.startswith("critique (iteration 1): missing citations") for s in lines), lines
    assert any(s.startswith("refine (iteration 2 of 2)") for s in lines), lines
    assert any(s.startswith("critique (iteration 2): passed") for s in lines), lines
    conflict_lines = [s for s in lines if s.startswith("conflicts (iteration 1)")]
    assert conflict_lines, lines
    assert "1 disagreement(s): LangGraph released: " in conflict_lines[0]
    assert "2023 [" in conflict_lines[0]
    assert "2024 [" in conflict_lines[0]
    # Every node reported, in graph order, for both iterations.
    nodes = [s.split(" ", 1)[0] for s in lines if "(iteration" in s]
    assert nodes[:6] == ["search", "rank", "conflicts", "synthesize", "critique", "refine"], nodes
    assert nodes[6:] == ["search", "rank", "conflicts", "synthesize", "critique", "finalize"], nodes

    # Status events name the node and iteration as fields too (the core relays them as step progress).
    critiques = [
        (e["node"], e["iteration"]) for e in events if e["type"] == "status" and e.get("node") == "critique"
    ]
    assert critiques == [("critique", 1), ("critique", 2)]

    data = done["data"]
    assert data["iterations"] == 2
    assert data["critique"] == {"passed": True, "issues": []}
    (conflict,) = data["conflicts"]
    assert conflict["entity"] == "LangGraph"
    assert conflict["attribute"] == "released"
    assert {v["value"] for v in conflict["values"]} == {"2023", "2024"}
    assert data["answer"].startswith(GOOD_DRAFT)
    assert "Note: the sources disagree on LangGraph released" in data["answer"]
    assert {s["origin"] for s in data["sources"]} == {"memory", "web"}
    assert "Unrelated" not in {s["title"] for s in data["sources"]}, "a source sharing no term is dropped"
    assert done["output"] == tokens(events)
    assert "\n\nSources:\n[1] " in done["output"]
    assert done["stats"] == {"model_calls": 2, "tool_calls": 4, "tool_errors": 0, "retries": 1}

    # The second draft was asked to fix what the critique found, through the core's /v1 with the run token.
    bodies = research_core.openai.completion_requests()
    assert len(bodies) == 2
    assert "A reviewer rejected the previous draft: missing citations" in bodies[1]["messages"][-1]["content"]
    assert "The sources disagree on:\n- LangGraph released: " in bodies[0]["messages"][-1]["content"]
    assert bodies[0]["model"] == "fixture-model"
    assert bodies[0]["stream"] is True
    auth = {r.headers.get("authorization") for r in research_core.openai.requests}
    assert auth == {f"Bearer {research_core.token}"}
    assert _mcp(research_core).count("web.search") == 2  # searched again after refining


def test_an_interrupt_waits_for_the_owner_and_approving_resumes(
    lg_worker: WorkerProcess, research_core: FakeCore
) -> None:
    research_core.openai.add({"text": GOOD_DRAFT})
    run = research_run(research_core, message=QUESTION)  # an agent step / chat turn: just a message
    lg_worker.send(run)
    mcp = _mcp(research_core)
    held = mcp.pending(timeout=60)
    assert held.arguments["title"].startswith("Sources disagree: LangGraph released: 20")
    assert "Approve to publish" in held.arguments["reason"]
    escalate_status = lg_worker.expect(
        lambda m: m.get("run_id") == run["run_id"] and str(m.get("text", "")).startswith("escalate"),
        timeout=10,
    )
    assert "asking the owner about 1 disagreement" in escalate_status["text"]
    with pytest.raises(TimeoutError):  # nothing ends while the owner has not decided
        lg_worker.expect(
            lambda m: m.get("run_id") == run["run_id"] and m["type"] in {"done", "error"}, timeout=1
        )

    mcp.decide(held, "approved")
    events = lg_worker.run_events(run["run_id"], timeout=60)
    done = events[-1]
    assert done["type"] == "done", events
    assert "escalate: the owner's decision: approved (owner)" in statuses(events)
    assert done["data"]["escalation"] == {"decision": "approved", "by": "owner"}
    assert done["data"]["withheld"] is False
    assert "The owner reviewed this and approved publishing it." in done["output"]
    assert done["data"]["thread_id"] == run["run_id"]  # no thread given: the run's own
    assert mcp.count("steward.escalate") == 1


def test_a_denied_escalation_withholds_the_answer(lg_worker: WorkerProcess, research_core: FakeCore) -> None:
    research_core.openai.add({"text": GOOD_DRAFT})
    run = research_run(research_core, message=QUESTION)
    lg_worker.send(run)
    mcp = _mcp(research_core)
    mcp.decide(mcp.pending(timeout=60), "denied", "not sure about either")
    done = lg_worker.run_events(run["run_id"], timeout=60)[-1]
    assert done["type"] == "done", done
    assert done["data"]["withheld"] is True
    assert done["data"]["escalation"]["decision"] == "denied"
    assert done["data"]["escalation"]["by"] == "owner"
    assert done["output"].startswith("The owner chose not to publish this topic")
    assert GOOD_DRAFT not in done["output"]


def test_a_checkpoint_survives_a_killed_worker_and_the_rerun_resumes_it(
    checkpoint_db: str, research_core: FakeCore
) -> None:
    thread = f"wf-run-{uuid.uuid4().hex[:8]}"
    mcp = _mcp(research_core)
    # The first draft takes long: the worker is killed while the graph waits in `synthesize`.
    research_core.openai.add({"text": "slow", "chunks": ["slow"], "delay": 60})
    with WorkerProcess(env={"STEWARD_CHECKPOINT_DB": checkpoint_db}) as first:
        first.expect_type("ready", timeout=90)
        run = research_run(
            research_core, graph="research", thread_id=thread, question=QUESTION, escalate="never"
        )
        first.send(run)
        first.expect(
            lambda m: m.get("run_id") == run["run_id"] and str(m.get("text", "")).startswith("synthesize"),
            timeout=60,
        )
        first._proc.kill()  # SIGKILL: nothing of the run's memory survives
        first.wait(timeout=10)
    searches = (mcp.count("memory.search"), mcp.count("web.search"))
    assert searches == (1, 1)

    research_core.openai.set_script({"responses": [{"text": GOOD_DRAFT}]})
    with WorkerProcess(env={"STEWARD_CHECKPOINT_DB": checkpoint_db}) as second:
        second.expect_type("ready", timeout=90)
        rerun = research_run(
            research_core, graph="research", thread_id=thread, question=QUESTION, escalate="never"
        )
        second.send(rerun)
        events = second.run_events(rerun["run_id"], timeout=60)
        done = events[-1]
        assert done["type"] == "done", events
        lines = statuses(events)
        resumed = f"langgraph research: resuming thread {thread} from its checkpoint"
        assert lines[0] == f"{resumed} (iteration 1, next: synthesize)"
        assert not any(s.startswith("search") for s in lines), "completed nodes are not run again"
        assert (mcp.count("memory.search"), mcp.count("web.search")) == searches
        assert done["data"]["thread_id"] == thread
        assert done["data"]["answer"].startswith(GOOD_DRAFT)

        # A finished thread gives its result again without doing anything.
        requests_before = len(research_core.openai.completion_requests())
        again = research_run(research_core, graph="research", thread_id=thread, question=QUESTION)
        second.send(again)
        events = second.run_events(again["run_id"], timeout=60)
        assert events[-1]["type"] == "done"
        assert statuses(events) == [f"langgraph research: thread {thread} already finished; its result"]
        assert events[-1]["data"]["answer"] == done["data"]["answer"]
        assert len(research_core.openai.completion_requests()) == requests_before

    # The checkpoints are in their own schema, not among Steward's tables.
    with psycopg.connect(checkpoint_db) as conn:
        rows = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'checkpoints'"
        ).fetchall()
        assert rows == [("steward_langgraph",)]
        count = conn.execute(
            "SELECT count(*) FROM steward_langgraph.checkpoints WHERE thread_id = %s", (thread,)
        ).fetchone()
        assert count is not None
        assert count[0] > 0


def test_an_unknown_graph_fails_the_run_with_a_message(
    lg_worker: WorkerProcess, research_core: FakeCore
) -> None:
    run = research_run(research_core, graph="nonesuch", question="x")
    lg_worker.send(run)
    error = lg_worker.run_events(run["run_id"], timeout=30)[-1]
    assert error["type"] == "error"
    assert error["code"] == "internal"
    assert "no graph 'nonesuch'" in error["message"]


def test_two_workers_creating_the_checkpoint_tables_at_once_both_go_on(
    empty_db: str, research_core: FakeCore
) -> None:
    """The saver's setup runs CREATE INDEX CONCURRENTLY, which waits for every open snapshot: a second
    worker waiting for the setup lock must not hold one (it polls), or both would hang."""
    research_core.openai.set_script({"default": {"text": GOOD_DRAFT}})
    env = {"STEWARD_CHECKPOINT_DB": empty_db}
    with WorkerProcess(env=env) as first, WorkerProcess(env=env) as second:
        first.expect_type("ready", timeout=90)
        second.expect_type("ready", timeout=90)
        runs = [
            research_run(research_core, graph="research", question=QUESTION, escalate="never")
            for _ in range(2)
        ]
        first.send(runs[0])
        second.send(runs[1])
        assert first.run_events(runs[0]["run_id"], timeout=60)[-1]["type"] == "done"
        assert second.run_events(runs[1]["run_id"], timeout=60)[-1]["type"] == "done"
