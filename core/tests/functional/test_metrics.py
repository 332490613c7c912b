"""Metrics end to end (issue #6 part 3): GET /metrics in the Prometheus text format and the success metrics
of `steward metrics` / GET /api/metrics/summary, computed from what the server stored.

One module server, an agent `scribe` on a scripted model (with a price, so cost moves) that may use the
memory tools, with memory.remember tiered `high` so each of its calls waits for the owner. The scenario
runs four chat turns with tool use:
- `look up`: memory.search, runs at once and succeeds;
- `broken search`: memory.search with limit 0, refused by the hub's schema check (a tool error);
- `remember alpha`: held for approval, approved, runs;
- `remember bravo`: held for approval, denied, never runs.
Then it checks that /metrics passes `promtool check metrics`, that the counters and histograms moved by
exactly what the turns did, and that the success metrics count the same calls, approvals and errors.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import threading
from typing import Any

import httpx
import pytest

from steward_harness import (
    STEWARD_BIN,
    Event,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
    stream_chat,
    wait_for,
)

PRICE_IN = 2.0  # USD per million tokens
PRICE_OUT = 10.0
CALL_USAGE = {"prompt_tokens": 1000, "completion_tokens": 100}  # every scripted answer reports this


def answer(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "usage": CALL_USAGE}


SCRIPT: dict[str, Any] = {
    "responses": [
        answer(
            {"match": "look up", "tool_calls": [{"name": "memory_search", "arguments": {"query": "alpha"}}]}
        ),
        answer(
            {
                "match": "broken search",
                "tool_calls": [{"name": "memory_search", "arguments": {"query": "alpha", "limit": 0}}],
            }
        ),
        *(
            answer(
                {
                    "match": f"remember {word}",
                    "tool_calls": [{"name": "memory_remember", "arguments": {"content": f"{word}-fact"}}],
                }
            )
            for word in ("alpha", "bravo")
        ),
        answer({"when": "after_tool", "content": "Finished."}),
        answer({"content": "Nothing to do."}),
    ]
}


@pytest.fixture(scope="module")
def steward_spec() -> ServerSpec:
    config = base_config(None)
    config["workers"]["start_timeout_s"] = 300  # workers import slowly on a loaded machine
    config["providers"]["replay"] = {"kind": "scripted", "script": "metrics.yaml", "timeout_s": 60}
    config["models"]["scripted"] = {
        "provider": "replay",
        "model": "replay",
        "price": {"input_per_mtok": PRICE_IN, "output_per_mtok": PRICE_OUT},
    }
    config["agents"]["scribe"] = {
        "runner": "pydantic_ai",
        "model": "scripted",
        "tools": ["memory.*"],
        "risk_threshold": "medium",
    }
    config["default_agent"] = "scribe"
    config["memory"] = {"embeddings": {"provider": "none"}}
    config["policy"] = {"tiers": {"memory.remember": "high"}, "approval_timeout_s": 60}
    return ServerSpec(config, {"metrics.yaml": SCRIPT})


# --- the Prometheus text format -----------------------------------------------------------------

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse(text: str) -> tuple[Series, dict[str, str]]:
    """Samples keyed by (name, labels), and each family's TYPE."""
    series: Series = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        parsed = frozenset((k, unescape(v)) for k, v in LABEL.findall(labels or ""))
        key = (name, parsed)
        assert key not in series, f"duplicate series: {line!r}"
        series[key] = float(value)
    return series, types


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def scrape(steward: StewardServer) -> tuple[str, Series, dict[str, str]]:
    response = steward.api("GET", "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    series, types = parse(response.text)
    return response.text, series, types


# --- chats ---------------------------------------------------------------------------------------


class LiveChat:
    """A chat read on a background thread, so the test can decide an approval while the run waits."""

    def __init__(self, steward: StewardServer, message: str) -> None:
        self.events: list[Event] = []
        self._cv = threading.Condition()
        self._done = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(steward, message), daemon=True)
        self._thread.start()

    def _read(self, steward: StewardServer, message: str) -> None:
        try:
            with stream_chat(
                steward.url, steward.token, {"message": message, "agent": "scribe"}, timeout=120
            ) as r:
                assert r.status_code == 200, r.read()
                for name, data in parse_sse_lines(r.iter_lines()):
                    with self._cv:
                        self.events.append((name, data))
                        self._cv.notify_all()
        except BaseException as e:  # reported by finish()
            self._error = e
        finally:
            with self._cv:
                self._done = True
                self._cv.notify_all()

    def wait_for(self, kind: str, timeout: float = 60) -> dict[str, Any]:
        with self._cv:
            ok = self._cv.wait_for(lambda: self._done or any(n == kind for n, _ in self.events), timeout)
            found = [d for n, d in self.events if n == kind]
            assert ok, f"no {kind} event: {[n for n, _ in self.events]} {self._error!r}"
            assert found, f"no {kind} event: {[n for n, _ in self.events]} {self._error!r}"
            return found[0]

    def finish(self, timeout: float = 120) -> list[Event]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"
        assert self._error is None, self._error
        return list(self.events)


def chat_with_decision(steward: StewardServer, message: str, decision: str) -> list[Event]:
    chat = LiveChat(steward, message)
    required = chat.wait_for("approval_required")
    answered = steward.api("POST", f"/api/approvals/{required['approval_id']}", json={"decision": decision})
    assert answered.status_code == 200, answered.text
    return chat.finish()


def tool_results(events: list[Event]) -> list[dict[str, Any]]:
    return events_of(events, "tool_result")


def cli(steward: StewardServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STEWARD_URL": steward.url, "STEWARD_HOME": str(steward.home)}
    return subprocess.run(
        [STEWARD_BIN, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


# --- the scenario --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(steward: StewardServer) -> dict[str, Any]:
    """Runs the four turns between two scrapes; returns both scrapes and the turns' events."""
    before_text, before, _ = scrape(steward)
    turns: dict[str, list[Event]] = {}
    turns["search"] = steward.chat("please look up alpha", agent="scribe")
    turns["broken"] = steward.chat("run a broken search", agent="scribe")
    turns["approved"] = chat_with_decision(steward, "please remember alpha", "approve")
    turns["denied"] = chat_with_decision(steward, "please remember bravo", "deny")
    for name, events in turns.items():
        assert events[-1][0] == "done", (name, events)
    assert [r["ok"] for r in tool_results(turns["search"])] == [True]
    [broken] = tool_results(turns["broken"])
    assert broken["ok"] is False, broken
    assert broken["error"] == "invalid_argument", broken
    assert [r["ok"] for r in tool_results(turns["approved"])] == [True]
    assert [r["ok"] for r in tool_results(turns["denied"])] == [False]
    after_text, after, types = scrape(steward)
    return {
        "before": before,
        "before_text": before_text,
        "after": after,
        "after_text": after_text,
        "types": types,
        "turns": turns,
    }


def delta(scenario: dict[str, Any], name: str, **labels: str) -> float:
    return value(scenario["after"], name, **labels) - value(scenario["before"], name, **labels)


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)"
)
def test_metrics_pass_promtool(scenario: dict[str, Any]) -> None:
    for text in (scenario["before_text"], scenario["after_text"]):
        checked = subprocess.run(
            ["promtool", "check", "metrics"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_family_has_help_and_type(scenario: dict[str, Any]) -> None:
    text: str = scenario["after_text"]
    types = scenario["types"]
    helps = set(re.findall(r"^# HELP (\S+) ", text, flags=re.M))
    assert helps == set(types)
    for family in (
        "steward_http_requests_total",
        "steward_http_request_duration_seconds",
        "steward_model_calls_total",
        "steward_model_call_duration_seconds",
        "steward_tool_calls_total",
        "steward_tool_call_duration_seconds",
        "steward_errors_total",
        "steward_runs",
        "steward_workflow_steps",
        "steward_approvals",
        "steward_model_tokens_total",
        "steward_model_cost_usd_total",
        "steward_budget_state",
        "steward_budget_spent_usd",
        "steward_budget_limit_usd",
        "steward_circuit_breaker_state",
        "steward_spans_total",
        "process_cpu_seconds_total",
        "steward_database_up",
    ):
        assert family in types, family
    assert types["steward_model_call_duration_seconds"] == "histogram"
    assert types["steward_tool_calls_total"] == "counter"
    assert types["steward_runs"] == "gauge"
    assert value(scenario["after"], "steward_database_up") == 1


def test_model_calls_and_their_histogram_moved_by_the_calls_made(scenario: dict[str, Any]) -> None:
    # Each turn: one call that asks for the tool and one after its result.
    labels = {"model": "scripted", "provider": "replay", "status": "ok"}
    assert delta(scenario, "steward_model_calls_total", **labels) == 8
    assert delta(scenario, "steward_model_call_duration_seconds_count", **labels) == 8
    assert delta(scenario, "steward_model_call_duration_seconds_bucket", **labels, le="+Inf") == 8
    assert delta(scenario, "steward_model_call_duration_seconds_sum", **labels) > 0
    # Durable: tokens and cost from model_call rows.
    assert delta(scenario, "steward_model_tokens_total", model="scripted", type="prompt") == 8 * 1000
    assert delta(scenario, "steward_model_tokens_total", model="scripted", type="completion") == 8 * 100
    cost = delta(scenario, "steward_model_cost_usd_total", model="scripted")
    assert math.isclose(cost, 8 * (1000 * PRICE_IN + 100 * PRICE_OUT) / 1e6, rel_tol=1e-6)
    # Workers call the core's /v1 once per model call.
    assert (
        delta(
            scenario, "steward_http_requests_total", method="POST", route="/v1/chat/completions", status="200"
        )
        == 8
    )


def test_tool_calls_count_successes_and_failures_per_tool(scenario: dict[str, Any]) -> None:
    search = {"tool": "memory.search", "server": "memory"}
    remember = {"tool": "memory.remember", "server": "memory"}
    assert delta(scenario, "steward_tool_calls_total", **search, success="true") == 1
    assert delta(scenario, "steward_tool_calls_total", **search, success="false") == 1
    assert delta(scenario, "steward_tool_calls_total", **remember, success="true") == 1
    assert delta(scenario, "steward_tool_calls_total", **remember, success="false") == 1
    for labels in (search, remember):
        for success in ("true", "false"):
            assert delta(scenario, "steward_tool_call_duration_seconds_count", **labels, success=success) == 1
    assert delta(scenario, "steward_errors_total", component="tool", code="invalid_argument") == 1
    assert (
        delta(scenario, "steward_errors_total", component="tool", code="tool_error") == 1
    )  # the denied call


def test_histogram_buckets_are_cumulative(scenario: dict[str, Any]) -> None:
    after: Series = scenario["after"]
    buckets: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
    for (name, labels), v in after.items():
        if name == "steward_tool_call_duration_seconds_bucket":
            le = dict(labels)["le"]
            rest = frozenset(kv for kv in labels if kv[0] != "le")
            buckets.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
    assert buckets
    for rest, points in buckets.items():
        points.sort()
        counts = [c for _, c in points]
        assert counts == sorted(counts), points
        assert points[-1][0] == math.inf
        assert counts[-1] == after[("steward_tool_call_duration_seconds_count", rest)]


def test_runs_approvals_and_requests_are_counted(scenario: dict[str, Any]) -> None:
    assert delta(scenario, "steward_runs", kind="chat", status="succeeded") == 4
    assert delta(scenario, "steward_approvals", status="approved", tier="high") == 1
    assert delta(scenario, "steward_approvals", status="denied", tier="high") == 1
    assert delta(scenario, "steward_http_requests_total", method="POST", route="/api/chat", status="200") == 4
    assert (
        delta(
            scenario, "steward_http_requests_total", method="POST", route="/api/approvals/{id}", status="200"
        )
        == 2
    )
    # The second scrape counted the first.
    assert delta(scenario, "steward_http_requests_total", method="GET", route="/metrics", status="200") == 1


def test_metrics_need_the_owner_token(steward: StewardServer) -> None:
    for path in ("/metrics", "/api/metrics/summary"):
        assert steward.api("GET", path, headers={}).status_code == 401
        assert steward.api("GET", path, token="not-the-token").status_code == 401
    unknown = steward.api("GET", "/no/such/thing")
    assert unknown.status_code == 404
    _, series, _ = scrape(steward)
    # Unmatched paths are one series, whatever the path was.
    assert value(series, "steward_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert value(series, "steward_http_requests_total", method="GET", route="/metrics", status="401") >= 2


def test_success_metrics_count_what_the_turns_did(steward: StewardServer, scenario: dict[str, Any]) -> None:
    done = cli(steward, "metrics", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    m = summary["metrics"]
    assert summary["window"]["since"] is None

    decisions = m["decision_approval_rate"]
    assert decisions["n"] == 4
    assert decisions["details"] == {
        **decisions["details"],
        "automatic": 2,
        "held": 2,
        "approved": 1,
        "denied": 1,
        "expired": 0,
    }
    assert decisions["value"] == pytest.approx(3 / 4)

    tools = m["tool_success_rate"]
    assert tools["n"] == 3  # the denied call never ran
    assert tools["details"] == {**tools["details"], "calls": 4, "errors": 1, "not_approved": 1}
    assert tools["value"] == pytest.approx(2 / 3)

    tasks = m["task_completion_rate"]
    assert tasks["n"] == 4
    assert tasks["details"]["with_approval"] == 2
    assert tasks["value"] == pytest.approx(2 / 4)

    assert m["workflow_completion_rate"]["n"] == 0
    assert m["workflow_completion_rate"]["value"] is None

    latency = m["latency_p50"]
    assert latency["n"] == 4
    assert latency["value"] > 0
    assert latency["details"]["p95_ms"] >= latency["value"]

    progress = m["progress_within_2s"]
    assert progress["n"] == 4
    assert progress["details"]["without_progress"] == 0
    assert 0 < progress["details"]["first_progress_p50_ms"] <= progress["details"]["first_token_p50_ms"]

    memory = m["memory_freshness"]
    assert memory["n"] == 1  # alpha's note; bravo's was denied
    assert memory["value"] == 1.0
    assert 0 <= memory["details"]["newest_item_age_s"] < 600
    assert m["memory_indexing"]["value"] is None  # embeddings are off in this configuration

    for metric in m.values():
        assert metric["how"]
        assert metric["title"]
        assert "n" in metric

    # The API answers the same; --since narrows the window (everything here is recent).
    api = steward.api("GET", "/api/metrics/summary?since=7d")
    assert api.status_code == 200, api.text
    assert api.json()["window"]["since"]
    assert api.json()["metrics"]["decision_approval_rate"]["details"] == decisions["details"]
    assert steward.api("GET", "/api/metrics/summary?since=seven").status_code == 400

    text = cli(steward, "metrics", "--since", "7d", "--explain")
    assert text.returncode == 0, text.stderr
    assert "Decision approval rate" in text.stdout
    assert "75.0%" in text.stdout
    assert "how: " in text.stdout
    bad = cli(steward, "metrics", "--since", "soon")
    assert bad.returncode == 2
    assert "7d" in bad.stderr


def test_durable_families_survive_a_restart(steward: StewardServer, scenario: dict[str, Any]) -> None:
    _, before, _ = scrape(steward)
    steward.restart()
    wait_for(lambda: steward.api("GET", "/metrics").status_code == 200 or None, timeout=30, what="/metrics")
    _, after, _ = scrape(steward)
    for name, labels in (
        ("steward_runs", {"kind": "chat", "status": "succeeded"}),
        ("steward_approvals", {"status": "approved", "tier": "high"}),
        ("steward_model_tokens_total", {"model": "scripted", "type": "prompt"}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) > 0, name
    # In-process counters start again from zero.
    assert value(after, "steward_model_calls_total", model="scripted", provider="replay", status="ok") == 0
    response = httpx.get(f"{steward.url}/metrics", headers=steward.headers(), timeout=30)
    assert "steward_tool_calls_total" in response.text
