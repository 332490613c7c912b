"""The pydantic_ai runner end to end: real worker process, scripted /v1, real MCP server on /mcp."""

from __future__ import annotations

import time

from conftest import TRACEPARENT, new_run_id, run_message, tokens
from fixtures.fake_core import FakeCore
from fixtures.legacy_mcp_fixture import LegacyMCPFixture
from fixtures.mcp_fixture import MCPFixture, ToolCall
from fixtures.worker_process import WorkerProcess


def _tool_names(request: dict[str, object]) -> list[str]:
    tools = request.get("tools") or []
    assert isinstance(tools, list)
    return [t["function"]["name"] for t in tools]


def test_tokens_concatenate_to_done_output(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"text": "The capital of France is Paris.", "chunk_size": 3})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "capital of France?"))
    events = worker.run_events(run_id)

    assert events[0] == {"type": "status", "run_id": run_id, "text": "thinking…"}
    done = events[-1]
    assert done["type"] == "done"
    assert done["output"] == "The capital of France is Paris."
    assert tokens(events) == done["output"]
    assert len([e for e in events if e["type"] == "token"]) > 5  # streamed, not sent in one piece
    assert done["stats"] == {"model_calls": 1, "tool_calls": 0, "tool_errors": 0, "retries": 0}


def test_agent_settings_and_system_prompt_reach_the_model(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"text": "ok"})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "hi", model="steward-small", temperature=0.7, tools=[]))
    assert worker.run_events(run_id)[-1]["type"] == "done"

    (request,) = core.openai.completion_requests()
    assert request["model"] == "steward-small"
    assert request["temperature"] == 0.7
    assert request["stream"] is True
    assert request["messages"][0] == {"role": "system", "content": "You are a test agent."}


def test_history_reaches_the_model_oldest_first(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"text": "Your name is Ada."})
    history = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
    ]
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "What is my name?", history=history, tools=[]))
    assert worker.run_events(run_id)[-1]["output"] == "Your name is Ada."

    (request,) = core.openai.completion_requests()
    assert [(m["role"], m["content"]) for m in request["messages"]] == [
        ("system", "You are a test agent."),
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]


def test_tool_call_is_executed_on_mcp_and_the_answer_follows(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add(
        {"tool_calls": [{"name": "echo", "arguments": {"text": "ping from model"}}]},
        {"text": "The tool said: ping from model", "chunk_size": 6},
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "use the echo tool"))
    events = worker.run_events(run_id)

    assert core.mcp.calls == [ToolCall("echo", {"text": "ping from model"})]
    assert {"type": "status", "run_id": run_id, "text": "calling echo…"} in events
    done = events[-1]
    assert done["output"] == "The tool said: ping from model"
    assert tokens(events) == done["output"]
    assert done["stats"] == {"model_calls": 2, "tool_calls": 1, "tool_errors": 0, "retries": 0}
    first, second = core.openai.completion_requests()
    assert "echo" in _tool_names(first)
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["ping from model"]


def test_dotted_tool_names_are_aliased_for_the_model_and_restored_for_mcp(
    core: FakeCore, worker: WorkerProcess
) -> None:
    core.openai.add(
        {"tool_calls": [{"name": "memory_search", "arguments": {"query": "ada"}}]},
        {"text": "Found a note."},
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "search memory", tools=["memory.*"]))
    events = worker.run_events(run_id)

    assert events[-1]["type"] == "done", events
    (first, _) = core.openai.completion_requests()
    assert _tool_names(first) == ["memory_search"]  # only tools matching the agent's globs, OpenAI-safe
    assert core.mcp.calls == [ToolCall("memory.search", {"query": "ada"})]
    assert {"type": "status", "run_id": run_id, "text": "calling memory.search…"} in events


def test_text_before_a_tool_call_is_streamed_and_kept_in_the_output(
    core: FakeCore, worker: WorkerProcess
) -> None:
    core.openai.add(
        {"text": "Let me check.", "tool_calls": [{"name": "echo", "arguments": {"text": "x"}}]},
        {"text": "It says x."},
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "check"))
    events = worker.run_events(run_id)

    done = events[-1]
    assert done["output"] == "Let me check.\n\nIt says x."
    assert tokens(events) == done["output"]


def test_failing_tool_is_reported_to_the_model_and_counted(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add(
        {"tool_calls": [{"name": "fail", "arguments": {"reason": "disk full"}}]},
        {"text": "The tool failed, sorry."},
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "try the tool"))
    done = worker.run_events(run_id)[-1]

    assert done["output"] == "The tool failed, sorry."
    assert done["stats"] == {"model_calls": 2, "tool_calls": 1, "tool_errors": 1, "retries": 1}
    second = core.openai.completion_requests()[1]
    (tool_message,) = [m for m in second["messages"] if m["role"] == "tool"]
    assert "disk full" in tool_message["content"]


def test_authorization_and_traceparent_carry_the_run_token_on_v1_and_mcp(
    core: FakeCore, worker: WorkerProcess
) -> None:
    assert isinstance(core.mcp, MCPFixture)
    core.openai.add({"tool_calls": [{"name": "echo", "arguments": {"text": "t"}}]}, {"text": "done"})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "go"))
    assert worker.run_events(run_id)[-1]["type"] == "done"

    v1 = [r.headers for r in core.openai.requests]
    mcp = core.mcp.request_headers
    assert len(v1) == 2
    assert mcp
    for headers in [*v1, *mcp]:
        assert headers["authorization"] == f"Bearer {core.token}"
        # The run's trace; the parent is the worker's span for the call (see test_tracing.py).
        assert headers["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]


def test_agent_without_tools_answers_without_contacting_mcp(core: FakeCore, worker: WorkerProcess) -> None:
    assert isinstance(core.mcp, MCPFixture)
    core.openai.add({"text": "No tools needed."})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "hi", tools=[]))
    assert worker.run_events(run_id)[-1]["output"] == "No tools needed."
    assert core.mcp.request_headers == []
    (request,) = core.openai.completion_requests()
    assert "tools" not in request


def test_agent_whose_globs_match_no_tool_answers_without_tools(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"text": "Still answering."})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "hi", tools=["calendar.*"]))
    assert worker.run_events(run_id)[-1]["output"] == "Still answering."
    (request,) = core.openai.completion_requests()
    assert "tools" not in request


def test_mcp_server_with_zero_tools_still_answers(worker: WorkerProcess) -> None:
    with FakeCore(token="zero-tools-token", mcp=MCPFixture(token="zero-tools-token", tools=False)) as core:
        core.openai.add({"text": "Nothing to call."})
        run_id = new_run_id()
        worker.send(run_message(core, run_id, "hi", tools=["*"]))
        assert worker.run_events(run_id)[-1]["output"] == "Nothing to call."


def test_minimal_handshake_era_mcp_server_works(worker: WorkerProcess) -> None:
    legacy = LegacyMCPFixture(token="legacy-token")
    with FakeCore(token="legacy-token", mcp=legacy) as core:
        core.openai.add(
            {"tool_calls": [{"name": "echo", "arguments": {"text": "old school"}}]}, {"text": "Echoed."}
        )
        run_id = new_run_id()
        worker.send(run_message(core, run_id, "echo please"))
        assert worker.run_events(run_id)[-1]["output"] == "Echoed."
        assert legacy.calls == [ToolCall("echo", {"text": "old school"})]
        assert "initialize" in legacy.methods


def test_mcp_rejecting_the_token_fails_the_run_with_tool_error(worker: WorkerProcess) -> None:
    with FakeCore(token="good-token", mcp=MCPFixture(token="another-token")) as core:
        run_id = new_run_id()
        worker.send(run_message(core, run_id, "hi"))
        error = worker.run_events(run_id)[-1]
        assert error["type"] == "error"
        assert error["code"] == "tool_error"
        assert "/mcp" in error["message"]


def test_model_http_error_reports_the_cores_message(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add(
        {"error": {"status": 402, "message": "budget of agent tester exhausted (5.00 USD)", "type": "budget"}}
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "hi", tools=[]))
    error = worker.run_events(run_id)[-1]
    assert error["type"] == "error"
    assert error["code"] == "model_error"
    assert "402" in error["message"]
    assert "budget of agent tester exhausted (5.00 USD)" in error["message"]


def test_cancel_mid_stream_yields_cancelled_and_worker_keeps_serving(
    core: FakeCore, worker: WorkerProcess
) -> None:
    core.openai.add({"text": "slow " * 100, "chunk_size": 5, "delay": 0.1})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "be slow", tools=[]))
    worker.expect_type("token", run_id=run_id)
    worker.send({"type": "cancel", "run_id": run_id})
    events = worker.run_events(run_id, timeout=10)
    assert events[-1]["type"] == "error"
    assert events[-1]["code"] == "cancelled"

    worker.send({"type": "ping", "id": 99})
    worker.expect_type("pong", id=99)
    core.openai.add({"text": "fresh answer"})
    next_run = new_run_id()
    worker.send(run_message(core, next_run, "again", tools=[]))
    assert worker.run_events(next_run)[-1]["output"] == "fresh answer"
    time.sleep(0.3)  # nothing more may arrive for the cancelled run
    assert [m for m in worker.unread() if m.get("run_id") == run_id] == []


def test_concurrent_runs_stream_independently(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add(
        {"match": "first", "text": "answer one " * 10, "chunk_size": 4, "delay": 0.01},
        {"match": "second", "text": "answer two " * 10, "chunk_size": 4, "delay": 0.01},
    )
    one, two = new_run_id(), new_run_id()
    worker.send(run_message(core, one, "first question", tools=[]))
    worker.send(run_message(core, two, "second question", tools=[]))
    events_one = worker.run_events(one)
    events_two = worker.run_events(two)
    assert events_one[-1]["output"] == "answer one " * 10
    assert events_two[-1]["output"] == "answer two " * 10
    assert tokens(events_one) == events_one[-1]["output"]
    assert tokens(events_two) == events_two[-1]["output"]


def test_tool_failing_past_the_retry_budget_fails_the_run_with_tool_error(
    core: FakeCore, worker: WorkerProcess
) -> None:
    core.openai.add({"tool_calls": [{"name": "fail", "arguments": {"reason": "quota"}}]})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "try", max_retries=0))
    error = worker.run_events(run_id)[-1]
    assert error["type"] == "error"
    assert error["code"] == "tool_error"
    assert "tool fail kept failing" in error["message"]
    assert "fixture failure: quota" in error["message"]
