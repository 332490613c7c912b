"""Worker spans: they join the core's trace, are sent before `done`, and parent the core's own spans."""

from __future__ import annotations

from typing import Any

from conftest import TRACEPARENT, new_run_id, run_message
from fixtures.fake_core import FakeCore
from fixtures.mcp_fixture import MCPFixture
from fixtures.worker_process import Message, WorkerProcess

TRACE_ID = TRACEPARENT.split("-")[1]
CORE_SPAN_ID = TRACEPARENT.split("-")[2]


def _spans_and_done(
    worker: WorkerProcess, run_id: str
) -> tuple[list[dict[str, Any]], Message, list[Message]]:
    events = worker.run_events(run_id)
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "done", events
    spans_events = [e for e in events if e["type"] == "spans"]
    assert len(spans_events) == 1, kinds
    assert kinds.index("spans") == len(kinds) - 2, "spans must come right before done"
    return spans_events[0]["spans"], events[-1], events


def _attr(span: dict[str, Any], key: str) -> Any:
    for kv in span["attributes"]:
        if kv["key"] == key:
            return next(iter(kv["value"].values()))
    return None


def _parent_of(traceparent: str) -> str:
    return traceparent.split("-")[2]


def test_spans_join_the_core_trace_under_its_run_span(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"tool_calls": [{"name": "echo", "arguments": {"text": "t"}}]}, {"text": "done"})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "go"))
    spans, _, events = _spans_and_done(worker, run_id)

    message = next(e for e in events if e["type"] == "spans")
    resource = {kv["key"]: next(iter(kv["value"].values())) for kv in message["resource"]["attributes"]}
    assert resource["service.name"] == "steward-worker"
    assert resource["telemetry.sdk.language"] == "python"
    assert {s["traceId"] for s in spans} == {TRACE_ID}
    by_name = {s["name"]: s for s in spans}
    root = by_name["invoke_agent tester"]
    assert root["parentSpanId"] == CORE_SPAN_ID
    assert root["scope"]["name"] == "steward_worker"
    assert _attr(root, "gen_ai.operation.name") == "invoke_agent"
    assert _attr(root, "gen_ai.request.model") == "fixture-model"
    ids = {s["spanId"] for s in spans}
    assert all(s.get("parentSpanId") in ids | {CORE_SPAN_ID} for s in spans)
    assert all(int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]) for s in spans)
    (tool,) = [s for s in spans if _attr(s, "gen_ai.operation.name") == "execute_tool"]
    assert tool["name"] == "execute_tool echo"
    assert tool["parentSpanId"] == root["spanId"]
    assert tool["status"] == {"code": 0}


def test_each_http_call_names_the_framework_span_it_belongs_to(core: FakeCore, worker: WorkerProcess) -> None:
    assert isinstance(core.mcp, MCPFixture)
    core.openai.add({"tool_calls": [{"name": "echo", "arguments": {"text": "t"}}]}, {"text": "done"})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "go"))
    spans, _, _ = _spans_and_done(worker, run_id)

    root_ids = {s["spanId"] for s in spans if _attr(s, "gen_ai.operation.name") == "invoke_agent"}
    tool_ids = {s["spanId"] for s in spans if _attr(s, "gen_ai.operation.name") == "execute_tool"}
    v1_parents = {_parent_of(r.headers["traceparent"]) for r in core.openai.requests}
    assert v1_parents == root_ids  # the core's model span nests under the worker's run span
    mcp_parents = {_parent_of(h["traceparent"]) for h in core.mcp.request_headers}
    assert mcp_parents & tool_ids, "the tools/call request should name its execute_tool span"


def test_spans_carry_no_prompt_answer_or_tool_argument(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add(
        {"tool_calls": [{"name": "echo", "arguments": {"text": "argument-canary-42"}}]},
        {"text": "answer-canary-17"},
    )
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "prompt-canary-99"))
    spans, _, _ = _spans_and_done(worker, run_id)
    text = repr(spans)
    for canary in ("argument-canary-42", "answer-canary-17", "prompt-canary-99"):
        assert canary not in text


def test_a_failing_tool_marks_its_span_and_a_failed_run_still_sends_spans(
    core: FakeCore, worker: WorkerProcess
) -> None:
    core.openai.add({"tool_calls": [{"name": "fail", "arguments": {"reason": "x"}}]}, {"text": "sorry"})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "try"))
    spans, _, _ = _spans_and_done(worker, run_id)
    (tool,) = [s for s in spans if s["name"] == "execute_tool fail"]
    assert tool["status"]["code"] == 2

    core.openai.add({"error": {"status": 503, "message": "overloaded"}})
    run_id = new_run_id()
    worker.send(run_message(core, run_id, "hi", tools=[]))
    events = worker.run_events(run_id)
    assert [e["type"] for e in events][-2:] == ["spans", "error"]
    (root,) = events[-2]["spans"]
    assert root["status"]["code"] == 2
    assert "503" in root["status"]["message"]


def test_a_trace_the_core_does_not_record_sends_no_spans(core: FakeCore, worker: WorkerProcess) -> None:
    core.openai.add({"text": "quiet"})
    run_id = new_run_id()
    message = run_message(core, run_id, "hi", tools=[])
    message["trace"] = {"traceparent": TRACEPARENT[:-2] + "00"}
    worker.send(message)
    events = worker.run_events(run_id)
    assert events[-1]["type"] == "done"
    assert not [e for e in events if e["type"] == "spans"]
    # Calls still carry the (unsampled) context, so the core can tell they belong together.
    assert core.openai.requests[0].headers["traceparent"].endswith("-00")


def test_encode_span_uses_the_otlp_json_encoding() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from steward_worker._tracing import RunTrace, tracer_provider

    run = RunTrace("00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    tracer = tracer_provider().get_tracer("test-scope", "1.2")
    with run.activated(), tracer.start_as_current_span("op", kind=SpanKind.CLIENT) as span:
        span.set_attributes({"s": "x", "n": 3, "f": 0.5, "b": True, "l": ["a", "b"]})
        span.set_status(Status(StatusCode.ERROR, "broke"))
    assert trace.get_current_span().get_span_context().is_valid is False
    (encoded,) = run.finish()
    assert run.finish() == []
    assert encoded["traceId"] == "1af7651916cd43dd8448eb211c80319c"
    assert encoded["parentSpanId"] == "b7ad6b7169203331"
    assert len(encoded["spanId"]) == 16
    assert encoded["kind"] == 3  # OTLP SPAN_KIND_CLIENT
    assert encoded["status"] == {"code": 2, "message": "broke"}
    assert encoded["scope"] == {"name": "test-scope", "version": "1.2"}
    assert isinstance(encoded["startTimeUnixNano"], str)
    attributes = {kv["key"]: kv["value"] for kv in encoded["attributes"]}
    assert attributes == {
        "s": {"stringValue": "x"},
        "n": {"intValue": "3"},
        "f": {"doubleValue": 0.5},
        "b": {"boolValue": True},
        "l": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}},
    }
