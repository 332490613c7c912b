"""Conversation memory: a new session recalls what an earlier one said (memory.recall_conversation)."""

from __future__ import annotations

from steward_harness import StewardServer, events_of, text_of


def test_new_session_recalls_an_earlier_conversation_and_cites_it(steward: StewardServer) -> None:
    first = steward.chat("For the record: the launch codename is BLUEHERON, and the date is still open.")
    assert first[-1][0] == "done"
    session_a = events_of(first, "session")[0]["session_id"]

    second = steward.chat("What did we discuss earlier about the launch codename?")

    session_b = events_of(second, "session")[0]["session_id"]
    assert session_b != session_a
    names = [name for name, _ in second]
    assert names[-1] == "done", second[-1]
    calls = events_of(second, "tool_call")
    assert [c["tool"] for c in calls] == ["memory.recall_conversation"]
    assert "codename" in calls[0]["arguments"]["query"]
    [result] = events_of(second, "tool_result")
    assert result["ok"] is True
    assert result["call_id"] == calls[0]["call_id"]
    assert names.index("tool_call") < names.index("tool_result") < names.index("token")
    answer = text_of(second)
    assert "the launch codename is BLUEHERON" in answer
    assert f"conversation {session_a}" in answer  # the citation names session A
    [done] = events_of(second, "done")
    assert done["factors"]["tool_calls"] == 1


def test_recall_does_not_return_the_current_conversation(steward: StewardServer) -> None:
    events = steward.chat("What did we discuss earlier about the quartz zebra migration?")

    assert [c["tool"] for c in events_of(events, "tool_call")] == ["memory.recall_conversation"]
    # The only message mentioning it is the question itself, in this session: nothing to recall.
    [result] = events_of(events, "tool_result")
    assert result["ok"] is True
    assert result["count"] == 0, result
    assert "I found nothing" in text_of(events)
