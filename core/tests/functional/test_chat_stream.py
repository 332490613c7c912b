"""POST /api/chat: the SSE event sequence of DESIGN.md, and tokens that really stream."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from steward_harness import StewardServer, events_of, text_of

HONESTY_LINE = "(Steward offline model: extractive answer, no LLM configured.)"
ALLOWED = {"session", "status", "tool_call", "tool_result", "token", "done"}


def test_chat_emits_session_status_tokens_done_in_order(steward: StewardServer) -> None:
    events = steward.chat("What can you do?")
    names = [name for name, _ in events]

    assert set(names) <= ALLOWED, names
    assert names[0] == "session"
    assert names[1] == "status"
    assert names[-1] == "done"
    assert names.count("done") == 1
    assert names.count("session") == 1
    first_token = names.index("token")
    assert "status" in names[1:first_token]
    assert all(name in {"token", "status"} for name in names[first_token:-1]), names
    assert names.count("token") >= 5


def test_every_event_carries_the_same_run_id(steward: StewardServer) -> None:
    events = steward.chat("What can you do?")

    run_ids = {data.get("run_id") for _, data in events}
    assert len(run_ids) == 1
    [run_id] = run_ids
    assert re.fullmatch(r"[0-9a-f-]{36}", str(run_id))


def test_done_reports_confidence_usage_trace_and_the_stored_message(steward: StewardServer) -> None:
    events = steward.chat("What can you do?")
    [session] = events_of(events, "session")
    [done] = events_of(events, "done")

    assert isinstance(done["confidence"], int)
    assert 0 <= done["confidence"] <= 100
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["completion_tokens"] > 0
    assert (
        done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + done["usage"]["completion_tokens"]
    )
    assert re.fullmatch(r"[0-9a-f]{32}", done["trace_id"])
    assert done["trace_id"] == session["trace_id"]
    assert isinstance(done["message_id"], int)
    assert done["session_id"] == session["session_id"]
    # The message id names the stored answer, which is exactly what was streamed.
    answer = text_of(events)
    assert HONESTY_LINE in answer
    stored = {m["id"]: m for m in steward.messages(session["session_id"])}
    assert stored[done["message_id"]]["role"] == "assistant"
    assert stored[done["message_id"]]["content"] == answer


def test_run_row_records_the_outcome(steward: StewardServer) -> None:
    events = steward.chat("What can you do?")
    [done] = events_of(events, "done")

    [row] = steward.query(f"SELECT status, confidence, trace_id FROM run WHERE id = '{done['run_id']}'")
    assert row == {"status": "succeeded", "confidence": done["confidence"], "trace_id": done["trace_id"]}


def test_first_token_arrives_well_before_the_run_ends(steward: StewardServer) -> None:
    # slowpoke's scripted model sends ten chunks 100 ms apart (steward_harness.STANDARD_SCRIPT).
    timed = steward.chat_timed("count slowly please", agent="slowpoke")
    token_times = [t for name, _, t in timed if name == "token"]
    [done_time] = [t for name, _, t in timed if name == "done"]

    assert len(token_times) >= 5, [name for name, _, _ in timed]
    assert token_times[0] < done_time - 0.5, f"first token {done_time - token_times[0]:.3f} s before done"
    assert text_of([(name, data) for name, data, _ in timed]) == "".join(f"tick{i} " for i in range(10))


def test_concurrent_chats_each_complete_in_their_own_session(steward: StewardServer) -> None:
    messages = ["count slowly", "What can you do?", "count slowly", "hello there"]
    agents = ["slowpoke", "researcher", "slowpoke", "slowpoke"]
    with ThreadPoolExecutor(len(messages)) as pool:
        results = list(
            pool.map(lambda ma: steward.chat(ma[0], agent=ma[1]), zip(messages, agents, strict=True))
        )

    assert [events[-1][0] for events in results] == ["done"] * len(messages)
    sessions = {events_of(events, "session")[0]["session_id"] for events in results}
    assert len(sessions) == len(messages)
    # No run's tokens leaked into another's stream.
    assert text_of(results[0]) == text_of(results[2]) == "".join(f"tick{i} " for i in range(10))
    assert text_of(results[3]) == "This is the scripted default answer."


def test_model_failure_ends_the_run_with_an_error_event(steward: StewardServer) -> None:
    events = steward.chat("please overload", agent="slowpoke")
    names = [name for name, _ in events]

    assert names[0] == "session"
    assert names[-1] == "error"
    assert "done" not in names
    [error] = events_of(events, "error")
    assert error["code"] == "model_error"
    assert "the scripted model is overloaded" in error["message"]
    [row] = steward.query(f"SELECT status, error FROM run WHERE id = '{error['run_id']}'")
    assert row["status"] == "failed"
    assert row["error"]["code"] == "model_error"
    # The user's message is kept; there is no answer to keep.
    session_id = events_of(events, "session")[0]["session_id"]
    assert [m["role"] for m in steward.messages(session_id)] == ["user"]
