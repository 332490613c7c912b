"""Tracing end to end: the span tree of a chat with tool use (core and worker spans in one trace), its
export over OTLP/HTTP (protobuf by default, JSON when configured) to a receiver on loopback, `steward
trace`, sampling, and secret redaction. Export to a real receiver (Phoenix): test_otlp_phoenix.py.

The scripted model makes the agent call memory.search once and then answer; its price makes every
model call cost something, so costs can be checked from span to root.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from steward_harness import (
    FIXTURES_DIR,
    STEWARD_BIN,
    Launcher,
    ServerSpec,
    StewardServer,
    events_of,
    standard_spec,
    wait_for,
)

sys.path.insert(0, str(FIXTURES_DIR))
from otlp_receiver import OtlpReceiver, spans_of

PRICE_IN = 3.0  # USD per million tokens
PRICE_OUT = 15.0
TOOL_SCRIPT: dict[str, Any] = {
    "responses": [
        {
            "match": "paris trip",
            "tool_calls": [{"name": "memory_search", "arguments": {"query": "paris trip"}}],
            "usage": {"prompt_tokens": 561, "completion_tokens": 216},
        },
        {"match": "overload", "error": {"status": 503, "message": "overloaded"}},
        {
            "when": "after_tool",
            "content": "Nothing saved about Paris yet.",
            "usage": {"prompt_tokens": 700, "completion_tokens": 9},
        },
        {"content": "Plain answer."},
    ]
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


def tracing_spec(receiver: OtlpReceiver | None, **telemetry: Any) -> ServerSpec:
    spec = standard_spec(pool_size=1)
    config = spec.config
    config["models"]["priced"] = {
        "provider": "replay",
        "model": "replay-1",
        "price": {"input_per_mtok": PRICE_IN, "output_per_mtok": PRICE_OUT},
    }
    config["agents"]["tracer"] = {"runner": "pydantic_ai", "model": "priced", "tools": ["memory.*"]}
    config["telemetry"] = {"service_name": "steward", **telemetry}
    if receiver is not None:
        config["telemetry"]["otlp_endpoint"] = receiver.endpoint
    spec.files["replay.yaml"] = TOOL_SCRIPT
    return spec


@pytest.fixture(scope="module")
def steward_spec(receiver: OtlpReceiver) -> ServerSpec:
    return tracing_spec(receiver)


def run_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    (session,) = events_of(events, "session")
    return str(session["run_id"])


def trace_of(server: StewardServer, run_id: str) -> dict[str, Any]:
    response = server.api("GET", f"/api/runs/{run_id}/trace")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_id(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["span_id"]: s for s in spans}


def named(spans: list[dict[str, Any]], name: str, service: str = "steward") -> list[dict[str, Any]]:
    return [s for s in spans if s["name"] == name and s["service"] == service]


def ancestors(span: dict[str, Any], index: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    chain = []
    while span.get("parent_span_id") in index:
        span = index[span["parent_span_id"]]
        chain.append(span)
    return chain


@pytest.fixture(scope="module")
def tool_run(steward: StewardServer) -> dict[str, Any]:
    """One chat with tool use, shared by the tests that inspect its trace."""
    events = steward.chat("what did we plan for the paris trip?", agent="tracer")
    (done,) = events_of(events, "done")
    run_id = run_of(events)
    return {"run_id": run_id, "done": done, "trace": trace_of(steward, run_id)}


def test_chat_with_tool_use_stores_a_linked_span_tree(tool_run: dict[str, Any]) -> None:  # noqa: PLR0915
    trace = tool_run["trace"]
    spans = trace["spans"]
    index = by_id(spans)
    assert trace["run"]["id"] == tool_run["run_id"]
    assert trace["trace_id"] == tool_run["done"]["trace_id"] == trace["run"]["trace_id"]
    assert {s["trace_id"] for s in spans} == {trace["trace_id"]}

    (root,) = named(spans, "chat.run")
    assert root["parent_span_id"] is None
    assert root["status"] == "ok"
    assert root["run_id"] == tool_run["run_id"]
    attrs = root["attributes"]
    assert attrs["service.name"] == "steward"
    assert attrs["service.version"]
    assert attrs["workflow.type"] == "chat"
    assert attrs["workflow.orchestrator"] == "pydantic_ai"
    assert attrs["agent.id"] == "tracer"
    assert attrs["agent.model"] == "priced"
    assert attrs["gen_ai.usage.input_tokens"] == 561 + 700
    assert attrs["gen_ai.usage.output_tokens"] == 216 + 9
    expected_cost = ((561 + 700) * PRICE_IN + (216 + 9) * PRICE_OUT) / 1e6
    assert attrs["steward.cost_usd"] == pytest.approx(expected_cost)
    assert attrs["steward.cost_usd"] == pytest.approx(tool_run["done"]["cost_usd"])
    assert attrs["steward.confidence"] == tool_run["done"]["confidence"]
    assert attrs["steward.tool_calls"] == 1

    # Spans created inside the Python worker: same trace, under the run's root.
    worker = [s for s in spans if s["service"] == "steward-worker"]
    assert worker, "no spans from the worker"
    assert all(s["attributes"].get("steward.worker.runtime") == "python" for s in worker)
    (agent,) = [s for s in worker if s["name"].startswith("invoke_agent")]
    assert agent["parent_span_id"] == root["span_id"]

    # Every model call: a GenAI client span, child of the framework's own span for it.
    models = named(spans, "chat priced")
    assert len(models) == 2
    for span in models:
        a = span["attributes"]
        assert span["kind"] == "client"
        assert span["service"] == "steward"
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.system"] == "scripted"
        assert a["gen_ai.request.model"] == "replay-1"
        assert a["steward.cost_usd"] > 0
        parent = index[span["parent_span_id"]]
        assert parent["service"] == "steward-worker"
        assert root in ancestors(span, index)
    assert sorted(m["attributes"]["gen_ai.response.finish_reasons"] for m in models) == ["stop", "tool_calls"]
    assert sum(m["attributes"]["gen_ai.usage.input_tokens"] for m in models) == 561 + 700
    assert sum(m["attributes"]["steward.cost_usd"] for m in models) == pytest.approx(expected_cost)

    # The tool call: the core's span under the framework's execute_tool span, the memory query under it.
    (tool,) = named(spans, "execute_tool memory.search")
    t = tool["attributes"]
    assert t["tool.name"] == "memory.search"
    assert t["tool.server"] == "memory"
    assert t["tool.success"] is True
    assert t["tool.duration_ms"] >= 0
    assert t["risk.level"] == "low"
    assert json.loads(t["tool.arguments"]) == {"query": "paris trip"}
    assert "tool.error_type" not in t
    parent = index[tool["parent_span_id"]]
    assert parent["service"] == "steward-worker"
    assert parent["attributes"].get("gen_ai.operation.name") == "execute_tool"
    (memory,) = named(spans, "memory.search")
    assert memory["parent_span_id"] == tool["span_id"]
    assert memory["attributes"]["memory.query"] == "paris trip"
    assert memory["attributes"]["memory.result_count"] == 0


def test_get_run_answers_the_run_or_says_what_is_wrong(
    steward: StewardServer, tool_run: dict[str, Any]
) -> None:
    response = steward.api("GET", f"/api/runs/{tool_run['run_id']}")
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded"
    assert run["agent"] == "tracer"
    assert run["trace_id"] == tool_run["done"]["trace_id"]
    assert steward.api("GET", "/api/runs/00000000-0000-4000-8000-000000000000").status_code == 404
    assert steward.api("GET", "/api/runs/not-a-run/trace").status_code == 400
    assert steward.api("GET", f"/api/runs/{tool_run['run_id']}/trace", token="wrong").status_code == 401


def exported_spans(receiver: OtlpReceiver, trace_id: str, stored: set[str]) -> list[dict[str, Any]]:
    """The trace's spans at the receiver, once every span stored in the span table has arrived."""

    def exported() -> list[dict[str, Any]] | None:
        got = [s for s in spans_of(receiver.bodies()) if s["traceId"] == trace_id]
        return got if {s["spanId"] for s in got} >= stored else None

    return wait_for(exported, timeout=15, what="the run's spans at the OTLP receiver")


def check_exported_tree(spans: list[dict[str, Any]]) -> None:
    """The OTLP form of the tool run's tree: resources, scopes, times, status, typed attributes, links."""
    (root,) = [s for s in spans if s["name"] == "chat.run"]
    assert root["_resource"]["service.name"] == "steward"
    assert root["_scope"] == "steward"
    assert "parentSpanId" not in root
    assert isinstance(root["startTimeUnixNano"], str)
    assert int(root["endTimeUnixNano"]) > int(root["startTimeUnixNano"])
    assert root["status"]["code"] == 1
    attrs = {kv["key"]: kv["value"] for kv in root["attributes"]}
    assert attrs["agent.id"] == {"stringValue": "tracer"}
    assert attrs["gen_ai.usage.input_tokens"] == {"intValue": str(561 + 700)}
    assert "doubleValue" in attrs["steward.cost_usd"]
    model = next(s for s in spans if s["name"] == "chat priced")
    assert model["kind"] == 3  # SPAN_KIND_CLIENT
    model_attrs = {kv["key"]: kv["value"] for kv in model["attributes"]}
    assert model_attrs["gen_ai.operation.name"] == {"stringValue": "chat"}
    assert model_attrs["gen_ai.system"] == {"stringValue": "scripted"}
    core = [s for s in spans if s["_resource"]["service.name"] == "steward"]
    (tool,) = [s for s in core if s["name"] == "execute_tool memory.search"]
    assert {kv["key"]: kv["value"] for kv in tool["attributes"]}["tool.success"] == {"boolValue": True}
    worker = [s for s in spans if s["_resource"].get("service.name") == "steward-worker"]
    assert worker
    assert all(s["_scope"] == "steward_worker" for s in worker)
    ids = {s["spanId"] for s in spans}
    assert all(s.get("parentSpanId") in ids for s in spans if s is not root)


def test_otlp_export_reaches_a_receiver_on_loopback_as_protobuf(
    receiver: OtlpReceiver, tool_run: dict[str, Any]
) -> None:
    stored = {s["span_id"] for s in tool_run["trace"]["spans"]}
    spans = exported_spans(receiver, tool_run["done"]["trace_id"], stored)
    # The default encoding; the receiver parsed it with opentelemetry-proto's generated classes.
    assert {r["headers"]["content-type"] for r in receiver.requests} == {"application/x-protobuf"}
    assert {r["encoding"] for r in receiver.requests} == {"protobuf"}
    check_exported_tree(spans)


def test_otlp_export_as_json_when_configured(launcher: Launcher) -> None:
    json_receiver = OtlpReceiver().start()
    try:
        server = launcher.launch(tracing_spec(json_receiver, otlp_protocol="http/json"))
        events = server.chat("what did we plan for the paris trip?", agent="tracer")
        (done,) = events_of(events, "done")
        stored = {s["span_id"] for s in trace_of(server, run_of(events))["spans"]}
        spans = exported_spans(json_receiver, done["trace_id"], stored)
        assert {r["headers"]["content-type"] for r in json_receiver.requests} == {"application/json"}
        check_exported_tree(spans)
        assert "exporting traces over OTLP/HTTP (http/json)" in server.log_text()
    finally:
        json_receiver.stop()


def test_steward_trace_prints_the_tree(steward: StewardServer, tool_run: dict[str, Any]) -> None:
    env = {**os.environ, "STEWARD_URL": steward.url, "STEWARD_HOME": str(steward.home)}
    done = subprocess.run([STEWARD_BIN, "trace", tool_run["run_id"]], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"trace {tool_run['done']['trace_id']}")
    assert lines[1].startswith("chat.run tracer (")
    assert "confidence" in lines[1]
    assert "$0.00" in lines[1]
    assert any("─ worker: invoke_agent tracer (" in line and line.endswith("[python]") for line in lines)
    assert any("└─ memory.search (" in line for line in lines)
    assert any("chat priced (" in line and "561→216 tokens" in line for line in lines)
    assert any("execute_tool memory.search (" in line and "0 results" in line for line in lines)
    missing = subprocess.run([STEWARD_BIN, "trace", "00000000-0000-4000-8000-000000000000"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1
    assert "no run with id" in missing.stderr


def test_a_failed_run_records_its_error_in_the_trace(steward: StewardServer) -> None:
    events = steward.chat("overload please", agent="tracer")
    assert events_of(events, "error")
    spans = trace_of(steward, run_of(events))["spans"]
    (root,) = named(spans, "chat.run")
    assert root["status"] == "error"
    assert root["attributes"]["error.type"]
    (model,) = named(spans, "chat priced")
    assert model["status"] == "error"
    assert "overloaded" in model["status_message"]


def test_sampling_keeps_failed_traces_and_drops_ordinary_ones(launcher: Launcher) -> None:
    server = launcher.launch(tracing_spec(None, sample_ratio=0))
    ok = server.chat("what did we plan for the paris trip?", agent="tracer")
    failed = server.chat("overload please", agent="tracer")
    assert events_of(ok, "done")
    assert events_of(failed, "error")
    assert trace_of(server, run_of(ok))["spans"] == []
    kept = trace_of(server, run_of(failed))["spans"]
    assert {"chat.run", "chat priced"} <= {s["name"] for s in kept}
    assert any(s["service"] == "steward-worker" for s in kept)


def test_tracing_off_records_nothing_and_chat_still_works(launcher: Launcher) -> None:
    server = launcher.launch(tracing_spec(None, enabled=False))
    events = server.chat("what did we plan for the paris trip?", agent="tracer")
    (done,) = events_of(events, "done")
    assert done["trace_id"]
    assert trace_of(server, run_of(events))["spans"] == []
    assert server.query("SELECT count(*) AS n FROM span") == [{"n": 0}]


# --- redaction ---------------------------------------------------------------------------------


class _KeyEchoingUpstream(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible upstream that rejects every call the way OpenAI does: echoing the key."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                outer.authorizations.append(auth)
                key = auth.removeprefix("Bearer ")
                error = {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error"}
                body = json.dumps({"error": error}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_secrets_appear_in_no_log_span_export_or_database_row(launcher: Launcher) -> None:
    api_key = "sk-redact-" + secrets.token_hex(12)
    tool_token = "tok-" + secrets.token_hex(12)
    upstream = _KeyEchoingUpstream()
    receiver = OtlpReceiver().start()
    try:
        spec = tracing_spec(receiver)
        config = spec.config
        config["providers"]["leaky"] = {
            "kind": "openai",
            "base_url": f"http://127.0.0.1:{upstream.server_address[1]}/v1",
            "api_key": "${STEWARD_FT_LEAKY_KEY}",
            "timeout_s": 10,
        }
        config["models"]["leaky-model"] = {"provider": "leaky", "model": "gpt-leak"}
        config["agents"]["leaky"] = {"runner": "pydantic_ai", "model": "leaky-model", "tools": []}
        spec.files["replay.yaml"] = {
            "responses": [
                {
                    "match": "secret tool",
                    "tool_calls": [
                        {"name": "memory_search", "arguments": {"query": "weather", "api_key": tool_token}}
                    ],
                },
                {"when": "after_tool", "content": "Done with the tool."},
                {"content": "Plain answer."},
            ]
        }
        spec.env["STEWARD_FT_LEAKY_KEY"] = api_key
        server = launcher.launch(spec)

        failed = server.chat("hello there", agent="leaky")
        (error,) = events_of(failed, "error")
        used = server.chat("please use the secret tool", agent="tracer")
        assert events_of(used, "done")

        # The secrets were really in play: the key reached the upstream, which echoed it back...
        assert f"Bearer {api_key}" in upstream.authorizations
        # ...and the token reached the core's tool call, whose span shows the argument redacted.
        tool_spans = named(trace_of(server, run_of(used))["spans"], "execute_tool memory.search")
        assert tool_spans, "the tool call never reached the core"
        arguments = json.loads(tool_spans[0]["attributes"]["tool.arguments"])
        assert arguments == {"query": "weather", "api_key": "[REDACTED]"}
        model_spans = named(trace_of(server, run_of(failed))["spans"], "chat leaky-model")
        assert model_spans
        assert model_spans[0]["status"] == "error"
        assert "Incorrect API key provided" in model_spans[0]["status_message"]  # the echo, minus the key

        spans = json.dumps([trace_of(server, run_of(e))["spans"] for e in (failed, used)])
        wait_for(lambda: len(receiver.bodies()) > 0, timeout=15, what="an OTLP export")
        exported = json.dumps(receiver.bodies())
        server.stop()  # flushes logs and spans
        logs = server.log_text()
        dump = subprocess.run(["pg_dump", "--data-only", server.database_url or ""], capture_output=True,
                              text=True, timeout=120, check=True).stdout
        assert "span" in dump
        assert "model_call" in dump
        assert "run" in dump
        for secret in (api_key, tool_token):
            assert secret not in error["message"]
            assert secret not in logs, "a secret reached the log"
            assert secret not in spans, "a secret reached a stored span"
            assert secret not in exported, "a secret reached the OTLP export"
            assert secret not in dump, "a secret reached the database"
    finally:
        receiver.stop()
        upstream.shutdown()
