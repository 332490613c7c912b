"""Steward as an MCP client: real servers behind the hub, seen through the core's own /mcp.

The servers are the real `@modelcontextprotocol/server-filesystem` from npm (tools/node_modules,
installed by scripts/setup.sh) and core/tests/fixtures/mcp_python_server.py, written with the
official `mcp` SDK, over stdio (`py`) and Streamable HTTP (`remote`). Clients are the official Python
SDK client and the official TypeScript SDK client. Covered: discovery (paginated tools/list),
calls, list_changed refresh, server-initiated requests, timeouts, crash and restart, malformed
frames, a server that cannot start, tool snapshots per run, and a chat that reads a file.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from steward_harness import (
    FIXTURES_DIR,
    REPO,
    STEWARD_BIN,
    WORKER_PYTHON,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    text_of,
    wait_for,
)

NODE = shutil.which("node")
TOOLS_DIR = REPO / "tools"
FS_SERVER = TOOLS_DIR / "node_modules" / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
TS_SDK = TOOLS_DIR / "node_modules" / "@modelcontextprotocol" / "sdk"
PY_SERVER = FIXTURES_DIR / "mcp_python_server.py"
HAVE_FS = NODE is not None and FS_SERVER.exists()
NO_FS_REASON = "node or the npm tool servers are missing (scripts/setup.sh runs npm ci in tools/)"
needs_fs = pytest.mark.skipif(not HAVE_FS, reason=NO_FS_REASON)

PY_BASE_TOOLS = ["add_tool", "ask_roots", "crash", "echo", "malformed", "slow", "whoami"]
PY_EXTRA_TOOLS = 7  # with page size 4: four tools/list pages
SECRET = "The launch code is PELICAN-42."


# --- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("files")
    (root / "notes.txt").write_text(SECRET + "\n")
    return root


@pytest.fixture(scope="module")
def http_mcp_server() -> Iterator[str]:
    """The Python fixture server over Streamable HTTP; yields its /mcp URL."""
    proc = subprocess.Popen(
        [WORKER_PYTHON, str(PY_SERVER), "--transport", "http", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), f"the HTTP fixture server printed {line!r}"
    yield f"http://127.0.0.1:{int(line.split()[1])}/mcp"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def steward_spec(files_root: Path, http_mcp_server: str) -> ServerSpec:
    config = base_config(None)
    config["files"] = {"roots": [str(files_root)]}
    servers: dict[str, Any] = {
        "py": {
            "transport": "stdio",
            "command": WORKER_PYTHON,
            "args": [str(PY_SERVER), "--extra-tools", str(PY_EXTRA_TOOLS), "--page-size", "4"],
            "timeout_s": 5,
        },
        "remote": {"transport": "http", "url": http_mcp_server, "timeout_s": 10},
        "broken": {"command": "/nonexistent/mcp-server", "args": ["--flag"]},
        "off": {"command": "true", "enabled": False},
    }
    if HAVE_FS:
        servers["fs"] = {"command": NODE, "args": [str(FS_SERVER)], "append_file_roots": True}
    config["mcp_servers"] = servers
    # These tests call the fixture servers as the owner; they are about the client, not approvals.
    config["policy"] = {"tiers": {"py.*": "low", "remote.*": "low"}}
    config["agents"]["filer"] = {
        "runner": "pydantic_ai",
        "model": "offline",
        "tools": ["fs.*"],
        "system_prompt": "You read the user's files with the tools you have.",
    }
    config["agents"]["echoer"] = {"runner": "pydantic_ai", "model": "offline", "tools": ["py.echo"]}
    return ServerSpec(config)


# --- helpers ------------------------------------------------------------------------------------


@asynccontextmanager
async def mcp_session(steward: StewardServer, token: str | None = None) -> AsyncIterator[Any]:
    """An initialized official-SDK client session on the core's /mcp."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {steward.token if token is None else token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(f"{steward.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def all_tools(session: Any) -> list[Any]:
    from mcp_types import PaginatedRequestParams

    tools: list[Any] = []
    cursor = None
    while True:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


def call(steward: StewardServer, name: str, arguments: dict[str, Any] | None = None) -> tuple[bool, str]:
    """Calls a hub tool through the core's /mcp with the official client: (is_error, text)."""

    async def run() -> tuple[bool, str]:
        async with mcp_session(steward) as session:
            result = await session.call_tool(name, arguments or {})
            text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
            return bool(result.is_error), text

    return asyncio.run(run())


def api_tools(steward: StewardServer) -> dict[str, Any]:
    response = steward.api("GET", "/api/tools")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def server_health(steward: StewardServer, name: str) -> dict[str, Any]:
    for server in api_tools(steward)["servers"]:
        if server["name"] == name:
            return dict(server)
    raise AssertionError(f"no server {name!r} in /api/tools")


def wait_ready(steward: StewardServer, name: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(
        lambda: (h := server_health(steward, name))["health"] == "ready" and h,
        timeout=timeout,
        what=f"MCP server {name} to be ready",
    )


# --- discovery ----------------------------------------------------------------------------------


def test_configured_servers_are_listed_with_their_health(steward: StewardServer) -> None:
    body = api_tools(steward)
    servers = {s["name"]: s for s in body["servers"]}
    names = {t["name"] for t in body["tools"]}

    py = servers["py"]
    assert py["transport"] == "stdio"
    assert py["health"] == "ready"
    assert py["protocol_version"] == "2025-11-25"
    assert py["pid"] > 0
    # Four tools/list pages of at most four tools each, followed to the end.
    assert py["tool_count"] == len(PY_BASE_TOOLS) + PY_EXTRA_TOOLS
    assert {f"py.{t}" for t in PY_BASE_TOOLS} <= names
    assert f"py.gen_{PY_EXTRA_TOOLS - 1:03d}" in names

    assert servers["remote"]["transport"] == "http"
    assert servers["remote"]["health"] == "ready"
    assert "remote.echo" in names

    # A server that cannot start is unhealthy, says why, and did not keep Steward from starting.
    broken = servers["broken"]
    assert broken["health"] in {"restarting", "starting"}
    assert "/nonexistent/mcp-server" in (broken["last_error"] or "")
    assert broken["tool_count"] == 0
    assert servers["off"]["health"] == "disabled"

    assert servers["memory"]["transport"] == "builtin"
    tiers = {t["name"]: t["risk_tier"] for t in body["tools"]}
    # py.* is set low by this module's policy; the defaults would make it medium (unknown effect).
    assert tiers["py.echo"] in {"low", "medium"}
    if HAVE_FS:
        assert servers["fs"]["health"] == "ready"
        assert tiers["fs.read_text_file"] == "low"
        assert tiers["fs.list_directory"] == "low"
        assert tiers["fs.write_file"] == "high"


def test_official_python_client_sees_and_calls_every_server_through_the_hub(
    steward: StewardServer, files_root: Path
) -> None:
    async def run() -> dict[str, Any]:
        async with mcp_session(steward) as session:
            tools = await all_tools(session)
            echo = await session.call_tool("py.echo", {"text": "through stdio"})
            remote = await session.call_tool("remote.echo", {"text": "through http"})
            out: dict[str, Any] = {"names": {t.name for t in tools}, "echo": echo, "remote": remote}
            if HAVE_FS:
                out["read"] = await session.call_tool(
                    "fs.read_text_file", {"path": str(files_root / "notes.txt")}
                )
            return out

    got = asyncio.run(run())
    assert {"py.echo", "py.gen_000", "remote.echo", "memory.search"} <= got["names"]
    assert not got["echo"].is_error
    assert got["echo"].content[0].text == "through stdio"
    assert not got["remote"].is_error
    assert got["remote"].content[0].text == "through http"
    if HAVE_FS:
        assert {"fs.read_text_file", "fs.write_file", "fs.list_directory"} <= got["names"]
        assert not got["read"].is_error
        assert SECRET in got["read"].content[0].text


def test_mcp_without_a_valid_token_is_refused(steward: StewardServer) -> None:
    async def connect() -> None:
        async with mcp_session(steward, token="not-the-token"):
            pass

    async def run() -> None:
        await asyncio.wait_for(connect(), timeout=30)

    with pytest.raises(BaseException) as caught:  # noqa: PT011 - the SDK wraps it in an ExceptionGroup
        asyncio.run(run())
    assert not isinstance(caught.value, TimeoutError)
    assert "invalid or expired token" in repr(caught.value), repr(caught.value)


def test_steward_tools_cli_lists_servers_tiers_and_health(steward: StewardServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_URL=steward.url, STEWARD_HOME=str(steward.home))
    done = subprocess.run(
        [STEWARD_BIN, "tools"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["SERVER", "TRANSPORT", "HEALTH", "TOOLS", "DETAIL"]
    py_row = next(line for line in lines if line.startswith("py "))
    assert py_row.split()[1:4] == ["stdio", "ready", str(len(PY_BASE_TOOLS) + PY_EXTRA_TOOLS)]
    broken_row = next(line for line in lines if line.startswith("broken "))
    assert "restarting" in broken_row or "starting" in broken_row
    echo_row = next(line for line in lines if line.startswith("py.echo "))
    assert echo_row.split()[1] in {"low", "medium"}

    as_json = subprocess.run(
        [STEWARD_BIN, "tools", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert as_json.returncode == 0, as_json.stderr
    assert {s["name"] for s in json.loads(as_json.stdout)["servers"]} >= {"py", "remote", "broken", "off"}


# --- behaviour of the servers -------------------------------------------------------------------


@pytest.mark.parametrize("server", ["py", "remote"])
def test_list_changed_refreshes_the_hub_tool_list(steward: StewardServer, server: str) -> None:
    name = f"late_{uuid.uuid4().hex[:8]}"
    is_error, text = call(steward, f"{server}.add_tool", {"name": name})
    assert not is_error, text
    wait_for(
        lambda: f"{server}.{name}" in {t["name"] for t in api_tools(steward)["tools"]},
        timeout=10,
        what=f"{server}.{name} to appear after list_changed",
    )
    is_error, text = call(steward, f"{server}.{name}", {"text": "hello"})
    assert not is_error, text
    assert text == f"{name} says hello"


@pytest.mark.parametrize("server", ["py", "remote"])
def test_server_initiated_requests_are_answered_with_an_error(steward: StewardServer, server: str) -> None:
    # Over HTTP the request arrives inside the SSE stream of the call's POST and is answered with
    # another POST while that stream stays open.
    is_error, text = call(steward, f"{server}.ask_roots")
    assert not is_error, text
    assert text.startswith("refused:"), text
    assert server_health(steward, server)["health"] == "ready"


def test_a_call_past_the_timeout_fails_and_the_server_goes_on(steward: StewardServer) -> None:
    is_error, text = call(steward, "py.slow", {"seconds": 8})
    assert is_error
    assert "deadline_exceeded" in text
    assert "did not answer tools/call slow within 5 s" in text
    is_error, text = call(steward, "py.echo", {"text": "still here"})
    assert (is_error, text) == (False, "still here")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("bad_version", "malformed response"),
        ("oversized", "more than the limit"),
    ],
)
def test_a_malformed_response_fails_its_call_not_the_core(
    healthy_after: StewardServer, kind: str, expected: str
) -> None:
    steward = healthy_after
    before = server_health(steward, "py")
    is_error, text = call(steward, "py.malformed", {"kind": kind})
    assert is_error, text
    assert "unavailable" in text
    assert expected in text
    assert "MCP server 'py'" in text
    after = server_health(steward, "py")
    assert after["bad_frames"] > before["bad_frames"]
    assert after["pid"] == before["pid"], "a bad frame must not restart the server"
    assert call(steward, "py.echo", {"text": "ok"}) == (False, "ok")


@pytest.mark.parametrize("kind", ["not_json", "unknown_id"])
def test_stray_frames_are_counted_and_ignored(healthy_after: StewardServer, kind: str) -> None:
    steward = healthy_after
    before = server_health(steward, "py")["bad_frames"]
    assert call(steward, "py.malformed", {"kind": kind}) == (False, f"sent {kind}")
    after = server_health(steward, "py")
    assert after["bad_frames"] == before + 1
    assert after["last_error"]


def test_a_crashed_server_is_restarted_and_calls_meanwhile_fail_fast(healthy_after: StewardServer) -> None:
    steward = healthy_after
    is_error, text = call(steward, "py.whoami")
    assert not is_error, text
    old_pid = json.loads(text)["pid"]

    # The server dies in the middle of a call: that call fails, naming the exit status.
    is_error, text = call(steward, "py.crash", {"code": 3})
    assert is_error
    assert "MCP server 'py' stopped while tools/call crash was running" in text
    assert "exited with status 3" in text
    assert "crashing on purpose" in text  # its last stderr line

    # During the restart backoff a call fails at once with a reason, instead of hanging.
    is_error, text = call(steward, "py.echo", {"text": "too early"})
    assert is_error
    assert "unavailable: MCP server 'py' is restarting" in text
    assert "exited with status 3" in text

    health = wait_ready(steward, "py")
    assert health["restarts"] >= 1
    assert health["pid"] != old_pid
    assert call(steward, "py.echo", {"text": "back"}) == (False, "back")

    # Killed from outside (as the OOM killer would): the same recovery.
    os.kill(health["pid"], signal.SIGKILL)

    def back() -> bool:
        now = server_health(steward, "py")
        return now["health"] == "ready" and now.get("pid") != health["pid"]

    wait_for(back, timeout=30, what="py to come back after SIGKILL")
    assert "SIGKILL" in (server_health(steward, "py")["last_error"] or "")
    assert call(steward, "py.echo", {"text": "again"}) == (False, "again")


# --- runs ---------------------------------------------------------------------------------------


def run_id_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    for _, data in events:
        if data.get("run_id"):
            return str(data["run_id"])
    raise AssertionError(f"no run_id in {events}")


def test_each_run_stores_a_snapshot_of_the_tools_its_agent_could_use(steward: StewardServer) -> None:
    events = steward.chat("hello there", agent="echoer")
    assert events_of(events, "done"), events
    run_id = run_id_of(events)
    rows = steward.query(
        f"SELECT name, server, risk_tier, input_schema FROM tool_snapshot WHERE run_id = '{run_id}'"
    )
    assert [r["name"] for r in rows] == ["py.echo"]
    assert rows[0]["server"] == "py"
    assert rows[0]["risk_tier"] in {"low", "medium"}
    assert rows[0]["input_schema"]["properties"]["text"]["type"] == "string"

    events = steward.chat("hello again", agent="researcher")
    names = [
        r["name"]
        for r in steward.query(
            f"SELECT name FROM tool_snapshot WHERE run_id = '{run_id_of(events)}' ORDER BY name"
        )
    ]
    assert names
    assert all(n.startswith("memory.") for n in names), names


@needs_fs
def test_a_chat_reads_a_file_through_the_real_filesystem_server(
    steward: StewardServer, files_root: Path
) -> None:
    events = steward.chat(f"read file {files_root / 'notes.txt'}", agent="filer")
    calls = events_of(events, "tool_call")
    assert calls, events
    assert calls[0]["tool"].startswith("fs.read"), calls
    results = events_of(events, "tool_result")
    assert results
    assert results[0]["ok"], results
    assert "PELICAN-42" in text_of(events)
    assert events_of(events, "done"), events
    snapshot = {
        r["name"]
        for r in steward.query(f"SELECT name FROM tool_snapshot WHERE run_id = '{run_id_of(events)}'")
    }
    assert "fs.read_text_file" in snapshot
    assert not any(n.startswith(("py.", "memory.")) for n in snapshot)


@needs_fs
def test_the_filesystem_server_refuses_paths_outside_its_roots(
    steward: StewardServer, files_root: Path
) -> None:
    for path in ["/etc/passwd", str(files_root / ".." / ".." / "etc" / "passwd")]:
        is_error, text = call(steward, "fs.read_text_file", {"path": path})
        assert is_error, text
        assert "root:" not in text
        assert "denied" in text.lower() or "outside" in text.lower(), text


# --- the official TypeScript SDK client ---------------------------------------------------------


def run_ts_client(steward: StewardServer, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE), str(FIXTURES_DIR / "mcp_ts_client.mjs"), str(TS_SDK), f"{steward.url}/mcp", token],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(NODE is None or not TS_SDK.exists(), reason=NO_FS_REASON)
def test_official_typescript_client_lists_and_calls_tools(steward: StewardServer) -> None:
    wait_ready(steward, "py")
    done = run_ts_client(steward, steward.token)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"py.echo", "remote.echo", f"py.gen_{PY_EXTRA_TOOLS - 1:03d}"} <= set(out["tools"])
    assert out["protocol_version"] == "2025-11-25"
    assert out["echo"] == "from typescript"

    refused = run_ts_client(steward, "wrong-token")
    assert refused.returncode != 0
    assert "invalid or expired token" in refused.stderr, refused.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
