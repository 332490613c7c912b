"""Budgets, prices and circuit breakers end to end (issue #6, part 5).

A scripted model priced through `prices:` costs exactly $0.10 a call (100 completion tokens at
$1000 per million), and its script keeps the agent calling memory.search forever, so only a
budget ends a run. Each test starts its own server, so budgets and breakers start fresh:
- a run stops at its per-run limit with an error naming the scope, the limit and the spending,
  after a warning at 70%;
- at 90% the run waits for the owner's approval (an approval row `steward approve` answers),
  then goes on to the limit;
- ten concurrent runs on one daily budget overshoot it by at most one call;
- the offline (zero-cost) model keeps working once the day's budget is spent;
- a provider answering 500s opens its breaker: calls fail fast naming the provider and when it
  is tried again, `/healthz` and `steward doctor` show it open, and a probe closes it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from steward_harness import (
    STEWARD_BIN,
    WORKER_PYTHON,
    Event,
    FixtureServer,
    Launcher,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
    stream_chat,
    wait_for,
)

CALL_USD = 0.10


def looping_script(*, delay_ms: int = 0) -> dict[str, Any]:
    """Every answer is a memory.search call reporting 100 completion tokens."""
    call = {"name": "memory_search", "arguments": {"query": "budget"}}
    usage = {"prompt_tokens": 10, "completion_tokens": 100}
    step = {"tool_calls": [call], "usage": usage, "first_delay_ms": delay_ms}
    return {
        "responses": [
            {"match": "spend", **step},
            {"when": "after_tool", **step},
            {"content": "Nothing to spend on.", "usage": usage},
        ]
    }


def budget_spec(budgets: dict[str, Any], *, delay_ms: int = 0) -> ServerSpec:
    config = base_config(None)
    config["providers"]["replay"] = {"kind": "scripted", "script": "budget.yaml", "timeout_s": 60}
    config["models"]["priced"] = {"provider": "replay", "model": "replay"}
    config["prices"] = {"replay": {"input_per_mtok": 0, "output_per_mtok": 1000}}
    config["agents"]["spender"] = {"runner": "pydantic_ai", "model": "priced", "tools": ["memory.*"]}
    config["agents"]["plain"] = {"runner": "pydantic_ai", "model": "offline", "tools": []}
    config["memory"] = {"embeddings": {"provider": "none"}}
    config["policy"] = {"approval_timeout_s": 90}
    config["budgets"] = budgets
    return ServerSpec(config, {"budget.yaml": looping_script(delay_ms=delay_ms)})


def spent(server: StewardServer, where: str = "true") -> float:
    rows = server.query(
        f"SELECT coalesce(sum(cost_usd), 0)::float8 AS usd FROM model_call WHERE status = 'ok' AND {where}"
    )
    return float(rows[0]["usd"])


def calls(server: StewardServer, status: str) -> int:
    return int(server.query(f"SELECT count(*) AS n FROM model_call WHERE status = '{status}'")[0]["n"])


def error_of(events: list[Event]) -> dict[str, Any]:
    assert events, "the stream was empty"
    assert events[-1][0] == "error", [n for n, _ in events]
    return events[-1][1]


class LiveChat:
    """A chat whose stream is read on a background thread, so the test can act while it waits."""

    def __init__(self, server: StewardServer, message: str, agent: str) -> None:
        self.events: list[Event] = []
        self._cv = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._read, args=(server, message, agent), daemon=True)
        self._thread.start()

    def _read(self, server: StewardServer, message: str, agent: str) -> None:
        try:
            with stream_chat(
                server.url, server.token, {"message": message, "agent": agent}, timeout=180
            ) as r:
                assert r.status_code == 200, r.read()
                for name, data in parse_sse_lines(r.iter_lines()):
                    with self._cv:
                        self.events.append((name, data))
                        self._cv.notify_all()
        finally:
            with self._cv:
                self._done = True
                self._cv.notify_all()

    def wait_for_event(self, kind: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                found = [d for n, d in self.events if n == kind]
                if found:
                    return found[0]
                assert not self._done, f"the stream ended without {kind}: {[n for n, _ in self.events]}"
                left = deadline - time.monotonic()
                assert left > 0, f"no {kind} within {timeout} s: {[n for n, _ in self.events]}"
                self._cv.wait(left)

    def finish(self, timeout: float = 120) -> list[Event]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"
        return list(self.events)


def cli_env(server: StewardServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(server.home), STEWARD_URL=server.url, STEWARD_WORKER_PYTHON=WORKER_PYTHON)
    return env


# --- budgets ---------------------------------------------------------------------------------------


def test_a_priced_run_stops_at_its_limit_with_a_clear_error(launcher: Launcher) -> None:
    server = launcher.launch(budget_spec({"per_run_usd": 1.0, "approve_at": 1}))
    events = server.chat("spend please", agent="spender", timeout=120)
    [session] = events_of(events, "session")
    run_id = session["run_id"]

    error = error_of(events)
    assert "HTTP 402" in error["message"], error
    assert f"budget exceeded for run {run_id[:8]}" in error["message"], error
    assert "spent $1.00 of the $1.00 limit (budgets.per_run_usd)" in error["message"], error
    # Exactly the limit was spent: ten calls of $0.10, and the eleventh refused (and recorded).
    assert spent(server, f"run_id = '{run_id}'") == pytest.approx(1.0)
    assert calls(server, "ok") == 10
    assert calls(server, "budget_exceeded") == 1
    [run] = server.query(f"SELECT status FROM run WHERE id = '{run_id}'")
    assert run["status"] == "failed"
    # A warning went out once, at 70%, as a status event.
    warnings = [s for s in events_of(events, "status") if s.get("budget", {}).get("level") == "warning"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["budget"]["spent_usd"] == pytest.approx(0.7)
    assert "budget warning: run" in warnings[0]["text"]
    assert "budget warning" in server.log_text()
    [ledger] = server.query(
        f"SELECT spent_usd::float8 AS usd FROM budget_ledger WHERE scope = 'run:{run_id}'"
    )
    assert ledger["usd"] == pytest.approx(1.0)


def test_at_ninety_percent_the_run_waits_for_approval_and_goes_on_when_approved(launcher: Launcher) -> None:
    server = launcher.launch(budget_spec({"per_run_usd": 1.0}))
    chat = LiveChat(server, "spend please", "spender")
    required = chat.wait_for_event("approval_required")
    [session] = events_of(chat.events, "session")
    run_id = session["run_id"]
    assert required["tool"] == "budget.run"
    assert required["run_id"] == run_id
    assert required["arguments"]["limit_usd"] == pytest.approx(1.0)
    assert required["arguments"]["spent_usd"] == pytest.approx(0.9)
    assert "$0.90 of the $1.00 limit (90%, budgets.per_run_usd)" in required["reason"]

    # It waits at $0.90: no further call is made while the owner has not answered.
    time.sleep(1.5)
    assert spent(server) == pytest.approx(0.9)
    assert "error" not in [n for n, _ in chat.events]
    pending = server.api("GET", "/api/approvals?status=pending").json()["approvals"]
    assert [a["id"] for a in pending] == [required["approval_id"]]

    approved = subprocess.run(
        [STEWARD_BIN, "approve", required["approval_id"], "--note", "one more dime"],
        env=cli_env(server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert approved.returncode == 0, approved.stderr

    events = chat.finish()
    [resolved] = events_of(events, "approval_resolved")
    assert resolved["decision"] == "approved"
    assert resolved["by"] == "owner"
    error = error_of(events)
    assert "spent $1.00 of the $1.00 limit" in error["message"], error
    assert spent(server) == pytest.approx(1.0)
    [record] = server.query(
        f"SELECT status, used_at IS NOT NULL AS used FROM approval WHERE id = '{required['approval_id']}'"
    )
    assert record == {"status": "approved", "used": True}
    names = [n for n, _ in events]
    assert names.index("approval_required") < names.index("approval_resolved") < names.index("error")


def test_a_denied_approval_stops_the_run_at_ninety_percent(launcher: Launcher) -> None:
    server = launcher.launch(budget_spec({"per_run_usd": 1.0}))
    chat = LiveChat(server, "spend please", "spender")
    required = chat.wait_for_event("approval_required")
    denied = server.api("POST", f"/api/approvals/{required['approval_id']}", json={"decision": "deny"})
    assert denied.status_code == 200, denied.text
    error = error_of(chat.finish())
    assert "the owner did not approve spending past 90%" in error["message"], error
    assert spent(server) == pytest.approx(0.9)


def test_ten_concurrent_runs_overshoot_a_shared_budget_by_at_most_one_call(launcher: Launcher) -> None:
    # Calls take 50 ms, so ten runs keep several in flight at once.
    server = launcher.launch(budget_spec({"per_user_daily_usd": 1.0, "approve_at": 1}, delay_ms=50))
    results: list[list[Event]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(server.chat("spend please", agent="spender", timeout=180))
        except BaseException as e:  # reported below
            failures.append(e)

    threads = [threading.Thread(target=run) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(200)
    assert not failures, failures
    assert len(results) == 10
    total = spent(server)
    assert 1.0 - 1e-9 <= total <= 1.0 + CALL_USD + 1e-9, f"spent ${total:.2f} on a $1.00 budget"
    for events in results:
        error = error_of(events)
        assert "budgets.per_user_daily_usd" in error["message"], error
    # Nothing is left reserved, and the ledger agrees with model_call.
    assert server.query("SELECT count(*) AS n FROM budget_reservation")[0]["n"] == 0
    [day] = server.query("SELECT spent_usd::float8 AS usd FROM budget_ledger WHERE kind = 'user_day'")
    assert day["usd"] == pytest.approx(total)


def test_a_zero_cost_model_keeps_working_after_the_budget_is_spent(launcher: Launcher) -> None:
    server = launcher.launch(budget_spec({"per_user_daily_usd": 0.3, "approve_at": 1}))
    error = error_of(server.chat("spend please", agent="spender", timeout=120))
    assert "budget exceeded for the owner's spending on" in error["message"], error
    # The priced model is refused to everyone now, also on a direct call: HTTP 402 budget_exceeded.
    direct = server.api(
        "POST",
        "/v1/chat/completions",
        json={"model": "priced", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert direct.status_code == 402, direct.text
    assert "budgets.per_user_daily_usd" in direct.text
    # The offline model costs nothing, so the spent budget never blocks it.
    for _ in range(3):
        events = server.chat("hello there", agent="plain")
        assert events[-1][0] == "done", events[-1]
        assert events[-1][1]["cost_usd"] == 0
    free = server.api(
        "POST",
        "/v1/chat/completions",
        json={"model": "offline", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert free.status_code == 200, free.text


# --- circuit breaker -------------------------------------------------------------------------------


@pytest.fixture
def failing_upstream() -> Iterator[FixtureServer]:
    server = FixtureServer("openai_wire_fixture.py")
    yield server
    server.close()


def test_a_failing_provider_opens_its_breaker_fails_fast_and_a_probe_closes_it(
    launcher: Launcher, failing_upstream: FixtureServer
) -> None:
    config = base_config(None)
    config["providers"]["flaky"] = {
        "kind": "openai",
        "base_url": f"{failing_upstream.url}/v1",
        "circuit_breaker": {"failures": 3, "window_s": 30, "open_s": 10},
    }
    config["models"]["flaky"] = {"provider": "flaky", "model": "gpt-test"}
    server = launcher.launch(ServerSpec(config))
    body = {"model": "flaky", "messages": [{"role": "user", "content": "hi"}]}

    for _ in range(3):
        failing_upstream.queue({"status": 500, "error_message": "the fixture is down"})
    for _ in range(3):
        got = server.api("POST", "/v1/chat/completions", json=body)
        assert got.status_code == 503, got.text
    assert len(failing_upstream.requests()) == 3

    started = time.monotonic()
    fast = server.api("POST", "/v1/chat/completions", json=body)
    assert time.monotonic() - started < 2.0
    assert fast.status_code == 503, fast.text
    message = fast.json()["error"]["message"]
    assert 'provider "flaky" is failing (3 errors within 30 s' in message, message
    assert "tried again in" in message, message
    assert len(failing_upstream.requests()) == 3  # failed fast: the upstream saw nothing

    health = server.api("GET", "/healthz").json()
    [flaky] = [p for p in health["providers"] if p["name"] == "flaky"]
    assert flaky["breaker"] == "open"
    doctor = subprocess.run(
        [STEWARD_BIN, "doctor", "--config", str(server.config_path)],
        env=cli_env(server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "breaker flaky: open" in doctor.stdout, doctor.stdout + doctor.stderr

    # After open_s one call probes the upstream (answering again now) and closes the breaker.
    def breaker_state() -> str:
        [entry] = [p for p in server.api("GET", "/healthz").json()["providers"] if p["name"] == "flaky"]
        return str(entry["breaker"])

    wait_for(lambda: breaker_state() == "half_open" or None, timeout=15, what="the breaker to half-open")
    probe = server.api("POST", "/v1/chat/completions", json=body)
    assert probe.status_code == 200, probe.text
    assert len(failing_upstream.requests()) == 4
    after = server.api("POST", "/v1/chat/completions", json=body)
    assert after.status_code == 200, after.text
    [flaky] = [p for p in server.api("GET", "/healthz").json()["providers"] if p["name"] == "flaky"]
    assert flaky["breaker"] == "closed"
    metrics = httpx.get(f"{server.url}/metrics", headers=server.headers(), timeout=10)
    if metrics.status_code == 200:  # /metrics comes with the metrics work
        assert 'provider="flaky"' in metrics.text
