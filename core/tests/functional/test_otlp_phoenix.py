"""OTLP export to a real receiver: Arize Phoenix (PyPI arize-phoenix, pinned in
core/tests/requirements-phoenix.lock) on loopback, fed by the core's default OTLP/HTTP protobuf export.

A chat with a tool call (the scripted model calls memory.search, then answers) makes one trace of core
and worker spans; every one of them must reach Phoenix with its trace id, parent link, name, times,
status and attributes as the span table has them. The core's `otlp_headers` carry `x-project-name`,
so the spans landing in that project also shows configured headers reach the receiver. Phoenix drops
resource attributes (service.name), so those are checked against the stdlib receiver in
test_tracing.py, which decodes the same protobuf with opentelemetry-proto.

Phoenix runs from its own venv: STEWARD_TEST_PHOENIX names its `phoenix` executable (scripts/test.sh
sets it from core/tests/phoenix_venv.sh); without it these tests skip, saying so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from steward_harness import FIXTURES_DIR, ServerSpec, StewardServer, events_of, standard_spec, wait_for

sys.path.insert(0, str(FIXTURES_DIR))
from phoenix_server import PhoenixServer

PHOENIX = os.environ.get("STEWARD_TEST_PHOENIX", "")
PROJECT = "steward-functional"
PRICE_IN = 3.0  # USD per million tokens
PRICE_OUT = 15.0
SCRIPT: dict[str, Any] = {
    "responses": [
        {
            "match": "paris trip",
            "tool_calls": [{"name": "memory_search", "arguments": {"query": "paris trip"}}],
            "usage": {"prompt_tokens": 561, "completion_tokens": 216},
        },
        {
            "when": "after_tool",
            "content": "Nothing saved about Paris yet.",
            "usage": {"prompt_tokens": 700, "completion_tokens": 9},
        },
    ]
}

pytestmark = pytest.mark.skipif(
    not PHOENIX,
    reason="STEWARD_TEST_PHOENIX is not set (scripts/test.sh sets it from core/tests/phoenix_venv.sh)",
)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    if not Path(PHOENIX).exists():
        pytest.fail(f"STEWARD_TEST_PHOENIX={PHOENIX} does not exist (run core/tests/phoenix_venv.sh)")
    server = PhoenixServer(PHOENIX, tmp_path_factory.mktemp("phoenix")).start()
    print(f"phoenix serve healthy after {server.startup_s:.1f} s")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def steward_spec(phoenix: PhoenixServer) -> ServerSpec:
    spec = standard_spec(pool_size=1)
    config = spec.config
    config["models"]["priced"] = {
        "provider": "replay",
        "model": "replay-1",
        "price": {"input_per_mtok": PRICE_IN, "output_per_mtok": PRICE_OUT},
    }
    config["agents"]["tracer"] = {"runner": "pydantic_ai", "model": "priced", "tools": ["memory.*"]}
    # No otlp_protocol: the default (http/protobuf) is what Phoenix needs.
    config["telemetry"] = {"otlp_endpoint": phoenix.endpoint, "otlp_headers": {"x-project-name": PROJECT}}
    spec.files["replay.yaml"] = SCRIPT
    return spec


@pytest.fixture(scope="module")
def exported(steward: StewardServer, phoenix: PhoenixServer) -> dict[str, Any]:
    """One chat with a tool call; its spans from the span table and, once all have arrived, from Phoenix."""
    events = steward.chat("what did we plan for the paris trip?", agent="tracer")
    (done,) = events_of(events, "done")
    (session,) = events_of(events, "session")
    response = steward.api("GET", f"/api/runs/{session['run_id']}/trace")
    assert response.status_code == 200, response.text
    stored: list[dict[str, Any]] = response.json()["spans"]
    assert stored, "the span table has no spans for the run"
    trace_id = done["trace_id"]
    want = {s["span_id"] for s in stored}

    def arrived() -> list[dict[str, Any]] | None:
        got = phoenix.spans(PROJECT, trace_id)
        return got if {s["context"]["span_id"] for s in got} >= want else None

    try:
        spans = wait_for(arrived, timeout=60, interval=0.5, what="the run's spans in Phoenix")
    except TimeoutError:
        got = sorted(s["name"] for s in phoenix.spans(PROJECT, trace_id))
        pytest.fail(
            f"Phoenix has {got} of {sorted(s['name'] for s in stored)}\n"
            f"steward log:\n{steward.log_tail(40)}\nphoenix log:\n{phoenix.log_tail(40)}"
        )
    return {"trace_id": trace_id, "done": done, "stored": stored, "phoenix": spans}


def by_name(exported: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The core's spans named `name` as Phoenix has them (the worker's framework names some spans alike)."""
    ids = {s["span_id"] for s in exported["stored"] if s["name"] == name and s["service"] == "steward"}
    return [s for s in exported["phoenix"] if s["context"]["span_id"] in ids]


def unix_ns(iso: str) -> int:
    """Phoenix's ISO times (microseconds) as unix nanoseconds."""
    moment = datetime.fromisoformat(iso)
    return (int(moment.timestamp()) * 1_000_000 + moment.microsecond) * 1000


def test_every_span_reaches_phoenix_with_its_trace_parent_name_and_times(exported: dict[str, Any]) -> None:
    stored = {s["span_id"]: s for s in exported["stored"]}
    got = {s["context"]["span_id"]: s for s in exported["phoenix"]}
    assert set(got) == set(stored)
    assert {s["context"]["trace_id"] for s in got.values()} == {exported["trace_id"]}
    for span_id, span in got.items():
        mine = stored[span_id]
        assert span["name"] == mine["name"]
        assert span["parent_id"] == mine["parent_span_id"], span["name"]
        # Phoenix keeps microseconds.
        assert abs(unix_ns(span["start_time"]) - int(mine["start_ns"])) < 1000, span["name"]
        assert abs(unix_ns(span["end_time"]) - int(mine["end_ns"])) < 1000, span["name"]
        assert span["status_code"] == {"ok": "OK", "error": "ERROR", "unset": "UNSET"}[mine["status"]]
    (root,) = by_name(exported, "chat.run")
    assert root["parent_id"] is None
    assert root["status_code"] == "OK"
    # The worker's spans (another resource in the same request) are in the same tree.
    (agent,) = [s for s in exported["phoenix"] if s["name"].startswith("invoke_agent")]
    assert agent["parent_id"] == root["context"]["span_id"]


def test_phoenix_has_the_gen_ai_and_tool_attributes(exported: dict[str, Any]) -> None:
    (root,) = by_name(exported, "chat.run")
    attrs = root["attributes"]
    assert attrs["agent.id"] == "tracer"
    assert attrs["workflow.type"] == "chat"
    assert attrs["workflow.orchestrator"] == "pydantic_ai"
    assert attrs["gen_ai.usage.input_tokens"] == 561 + 700  # intValue arrived as an integer
    assert attrs["gen_ai.usage.output_tokens"] == 216 + 9
    expected_cost = ((561 + 700) * PRICE_IN + (216 + 9) * PRICE_OUT) / 1e6
    assert attrs["steward.cost_usd"] == pytest.approx(expected_cost)  # doubleValue
    assert attrs["steward.cost_usd"] == pytest.approx(exported["done"]["cost_usd"])
    assert attrs["steward.tool_calls"] == 1

    models = by_name(exported, "chat priced")
    assert len(models) == 2
    for model in models:
        a = model["attributes"]
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.system"] == "scripted"
        assert a["gen_ai.request.model"] == "replay-1"
    assert sum(m["attributes"]["gen_ai.usage.input_tokens"] for m in models) == 561 + 700

    (tool,) = by_name(exported, "execute_tool memory.search")
    t = tool["attributes"]
    assert t["tool.name"] == "memory.search"
    assert t["tool.server"] == "memory"
    assert t["tool.success"] is True  # boolValue
    assert t["risk.level"] == "low"
    (memory,) = by_name(exported, "memory.search")
    assert memory["parent_id"] == tool["context"]["span_id"]
    assert memory["attributes"]["memory.query"] == "paris trip"
    assert memory["attributes"]["memory.result_count"] == 0  # an int 0 is still sent
    worker = [s for s in exported["phoenix"] if s["attributes"].get("steward.worker.runtime") == "python"]
    assert worker, "no worker spans in Phoenix"
