"""Shared fixtures: a fake core (scripted /v1 + MCP /mcp) and a real worker process driven over stdio."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.fake_core import FakeCore
from fixtures.worker_process import Message, WorkerProcess

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
_run_ids = itertools.count(1)


@pytest.fixture
def core() -> Iterator[FakeCore]:
    """A fresh fake core with its own run token."""
    with FakeCore(token=f"run-token-{uuid.uuid4().hex[:8]}") as fake:
        yield fake


@pytest.fixture(scope="session")
def worker() -> Iterator[WorkerProcess]:
    """One warm worker for the whole session: the tests also prove it keeps serving after each other."""
    with WorkerProcess() as process:
        process.expect_type("ready", timeout=60)
        yield process


def new_run_id() -> str:
    return f"run-{next(_run_ids)}-{uuid.uuid4().hex[:6]}"


def run_message(core: FakeCore, run_id: str, message: str = "hello", **agent: Any) -> Message:
    """A `run` message for the fake core; `agent` overrides fields of the agent spec."""
    history = agent.pop("history", [])
    spec: dict[str, Any] = {
        "name": "tester",
        "system_prompt": "You are a test agent.",
        "model": "fixture-model",
        "temperature": 0.2,
        "max_retries": 2,
        "tools": ["*"],
        "risk_threshold": "low",
        **agent,
    }
    return {
        "type": "run",
        "run_id": run_id,
        "runner": "pydantic_ai",
        "agent": spec,
        "input": {"message": message, "history": history},
        "core": {"base_url": core.base_url, "token": core.token},
        "trace": {"traceparent": TRACEPARENT},
    }


def tokens(events: list[Message]) -> str:
    return "".join(e["text"] for e in events if e["type"] == "token")
