"""Every endpoint but /healthz needs the owner token; the token file is private to the owner."""

from __future__ import annotations

import stat

import pytest

from steward_harness import StewardServer

SESSION = "00000000-0000-4000-8000-000000000000"
ENDPOINTS = [
    ("GET", "/v1/models", None),
    (
        "POST",
        "/v1/chat/completions",
        b'{"model": "researcher", "messages": [{"role": "user", "content": "hi"}]}',
    ),
    ("POST", "/api/chat", b'{"message": "hi"}'),
    ("GET", "/api/sessions", None),
    ("GET", f"/api/sessions/{SESSION}", None),
    ("GET", f"/api/sessions/{SESSION}/messages", None),
    ("POST", "/api/runs/some-run/cancel", None),
    ("POST", "/mcp", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'),
    ("GET", "/mcp", None),
    ("DELETE", "/mcp", None),
]
BAD_AUTH = {
    "no-header": {},
    "wrong-token": {
        "Authorization": "Bearer stw_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    },
    "not-bearer": {"Authorization": "Basic b3duZXI6cGFzcw=="},
    "bare-scheme": {"Authorization": "Bearer"},
}


@pytest.mark.parametrize("auth", list(BAD_AUTH))
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_endpoint_refuses_missing_or_wrong_token(
    steward: StewardServer, method: str, path: str, body: bytes | None, auth: str
) -> None:
    headers = {"Content-Type": "application/json", **BAD_AUTH[auth]}

    response = steward.api(method, path, content=body, headers=headers)

    assert response.status_code == 401, response.text
    assert "error" in response.json()


def test_owner_token_is_accepted_where_the_wrong_one_is_not(steward: StewardServer) -> None:
    assert steward.api("GET", "/api/sessions").status_code == 200
    assert steward.api("GET", "/v1/models").status_code == 200
    # The token is checked as a whole: a prefix of the real one is still wrong.
    assert steward.api("GET", "/v1/models", token=steward.token[:-1]).status_code == 401


def test_healthz_needs_no_token(steward: StewardServer) -> None:
    response = steward.api("GET", "/healthz", headers={})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_token_file_is_readable_only_by_its_owner(steward: StewardServer) -> None:
    token_file = steward.home / "token"

    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(steward.home.stat().st_mode) & 0o077 == 0
    assert len(steward.token) >= 32
