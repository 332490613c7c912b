"""Bad configuration stops `steward serve` with an actionable message; bad requests get a 4xx naming
the field."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from steward_harness import STEWARD_BIN, WORKER_PYTHON, StewardServer

AGENT = "agents:\n  a:\n    model: m\n"

BAD_CONFIGS = {
    "unknown-key": (
        "server:\n  listen: 127.0.0.1:0\n  lisen: 127.0.0.1:9\n",
        ["server.lisen", "line 3", 'unknown key "lisen"', "expected one of: listen"],
    ),
    "wrong-type": (
        "workers:\n  pool_size: many\n",
        ["workers.pool_size", "line 2", "expected a whole number between 1 and 64", '"many"'],
    ),
    "missing-env-var": (
        "providers:\n  up:\n    kind: openai\n    base_url: http://127.0.0.1:9/v1\n"
        "    api_key: ${FT_SURELY_UNSET_VAR}\nmodels:\n  m:\n    provider: up\n" + AGENT,
        ["providers.up.api_key", "line 5", "FT_SURELY_UNSET_VAR is not set"],
    ),
    "unknown-provider-kind": (
        "providers:\n  up:\n    kind: gemini\nmodels:\n  m:\n    provider: up\n" + AGENT,
        [
            "providers.up.kind",
            "line 3",
            'unknown provider kind "gemini"',
            "expected openai, anthropic, offline or scripted",
        ],
    ),
    "undefined-model": (
        "providers:\n  p:\n    kind: offline\nmodels:\n  m:\n    provider: p\n"
        "agents:\n  a:\n    model: gpt-9\n",
        ["agents.a.model", "line 9", '"gpt-9" is not defined under models:'],
    ),
    "invalid-yaml": (
        "server: [unclosed\n",
        ["invalid YAML"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_stops_serve_naming_file_key_and_expectation(tmp_path: Path, case: str) -> None:
    text, expected = BAD_CONFIGS[case]
    config = tmp_path / f"{case}.yaml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "FT_SURELY"))}
    env.update(STEWARD_HOME=str(tmp_path / "home"), STEWARD_WORKER_PYTHON=WORKER_PYTHON)

    started = time.monotonic()
    done = subprocess.run(
        [STEWARD_BIN, "serve", "--listen", "127.0.0.1:0", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode != 0
    assert time.monotonic() - started < 10, "a bad config must be rejected before anything starts"
    assert str(config) in done.stderr
    for fragment in expected:
        assert fragment in done.stderr, done.stderr
    # Rejected before the database or the workers were touched.
    assert not (tmp_path / "home" / "postgres").exists()


BAD_CHAT_REQUESTS = {
    "not-json": (b"this is not json{", 400, "body", "not valid JSON"),
    "not-an-object": (b"[1, 2]", 400, "body", "expected a JSON object"),
    "missing-message": (b"{}", 400, "message", "required field is missing"),
    "message-not-a-string": (b'{"message": 42}', 400, "message", "expected a string"),
    "empty-message": (b'{"message": "   "}', 400, "message", "non-empty"),
    "unknown-field": (b'{"message": "hi", "colour": "red"}', 400, "colour", 'unknown field "colour"'),
    "unknown-agent": (b'{"message": "hi", "agent": "nobody"}', 404, "agent", '"nobody"'),
    "agent-not-a-string": (b'{"message": "hi", "agent": ["a"]}', 400, "agent", "expected a string"),
    "malformed-session-id": (b'{"message": "hi", "session_id": "not-a-uuid"}', 400, "session_id", "UUID"),
    "unknown-session-id": (
        b'{"message": "hi", "session_id": "00000000-0000-4000-8000-000000000000"}',
        404,
        "session_id",
        "no session",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CHAT_REQUESTS))
def test_malformed_chat_request_gets_4xx_naming_the_field(healthy_after: StewardServer, case: str) -> None:
    body, status, field, fragment = BAD_CHAT_REQUESTS[case]

    response = healthy_after.api(
        "POST",
        "/api/chat",
        content=body,
        headers={**healthy_after.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["context"] == field
    assert fragment in error["message"]


def test_bad_requests_leave_no_session_or_run_behind(steward: StewardServer) -> None:
    before = steward.query(
        "SELECT (SELECT count(*) FROM run) AS runs, (SELECT count(*) FROM chat_session) AS sessions"
    )
    for body, _, _, _ in BAD_CHAT_REQUESTS.values():
        steward.api("POST", "/api/chat", content=body)

    after = steward.query(
        "SELECT (SELECT count(*) FROM run) AS runs, (SELECT count(*) FROM chat_session) AS sessions"
    )
    assert after == before
    assert steward.chat("What can you do?")[-1][0] == "done"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/sessions/not-a-uuid/messages", 400, "session_id"),
        ("/api/sessions/00000000-0000-4000-8000-000000000000/messages", 404, "session_id"),
        ("/api/sessions/not-a-uuid", 400, "session_id"),
    ],
)
def test_bad_session_lookups_get_4xx_naming_the_field(
    healthy_after: StewardServer, path: str, status: int, field: str
) -> None:
    response = healthy_after.api("GET", path)

    assert response.status_code == status
    assert response.json()["error"]["context"] == field


def test_cancel_of_unknown_run_is_not_found(healthy_after: StewardServer) -> None:
    response = healthy_after.api("POST", "/api/runs/no-such-run/cancel")

    assert response.status_code == 404
    assert "no-such-run" in response.json()["error"]["message"]
