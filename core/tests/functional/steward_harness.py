"""Drives the real `steward` binary for the end-to-end tests: servers, databases, fixture servers.

Everything here waits with a bound: a helper that polls a condition raises `TimeoutError` (with
what it was waiting for) instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

__all__ = [
    "ALL_SERVERS",
    "FIXTURES_DIR",
    "PG_ADMIN_URL",
    "REPO",
    "SLOW_TEXT",
    "STANDARD_SCRIPT",
    "STEWARD_BIN",
    "WORKER_PYTHON",
    "Event",
    "FixtureServer",
    "Launcher",
    "ServerSpec",
    "StewardServer",
    "TestDatabase",
    "base_config",
    "children_of",
    "embedded_home",
    "events_of",
    "parse_sse_lines",
    "psql_json",
    "standard_spec",
    "stop_leftover_cluster",
    "stream_chat",
    "text_of",
    "wait_for",
    "write_config",
]

REPO = Path(__file__).resolve().parents[3]
FIXTURES_DIR = REPO / "core" / "tests" / "fixtures"


def _default_bin() -> str:
    built = REPO / "build" / "core" / "steward"
    return str(built) if built.exists() else "/work/build-lead/core/steward"


STEWARD_BIN = os.environ.get("STEWARD_BIN") or _default_bin()
WORKER_PYTHON = (
    os.environ.get("STEWARD_WORKER_PYTHON")
    or os.environ.get("STEWARD_TEST_PYTHON")
    or (
        str(REPO / ".venv" / "bin" / "python")
        if (REPO / ".venv" / "bin" / "python").exists()
        else sys.executable
    )
)
PG_ADMIN_URL = os.environ.get("STEWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

Event = tuple[str, dict[str, Any]]
T = TypeVar("T")

# Every server started in this process, so a failing test can show the logs of those it used.
ALL_SERVERS: list[StewardServer] = []


def wait_for(condition: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Polls `condition` until it returns neither None nor False; raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- PostgreSQL -------------------------------------------------------------------------------


def psql_json(url: str, sql: str, *, timeout: float = 30) -> Any:
    """Runs `sql` (one SELECT) with the psql CLI and returns its rows as a list of dicts."""
    wrapped = f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t"
    return json.loads(_psql(url, wrapped, timeout=timeout))


def _psql(url: str, sql: str, *, timeout: float = 30) -> str:
    # psql exits 2 when it cannot connect (e.g. a shared server briefly out of connection slots):
    # retried a few times; a failing statement (exit 1 or 3) is not.
    for attempt in range(4):
        done = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 2 or attempt == 3:
            break
        time.sleep(0.5 * (attempt + 1))
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.returncode}) on {sql!r}: {done.stderr.strip()}")
    return done.stdout.strip()


class TestDatabase:
    """A fresh database `steward_ft_<random>` on the test PostgreSQL server, dropped by `drop()`."""

    __test__ = False  # not a pytest test class

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.name = f"steward_ft_{secrets.token_hex(6)}"
        _psql(admin_url, f"CREATE DATABASE {self.name}")
        address, mark, query = admin_url.partition("?")
        self.url = f"{address.rpartition('/')[0]}/{self.name}{mark}{query}"

    def query(self, sql: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = psql_json(self.url, sql)
        return rows

    def drop(self) -> None:
        # FORCE: a SIGKILLed steward may leave server-side backends that have not noticed yet.
        _psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# --- configuration ----------------------------------------------------------------------------


def base_config(database_url: str | None, *, pool_size: int = 2) -> dict[str, Any]:
    """The offline setup of config/steward.example.yaml, on `database_url` (None: the embedded cluster)."""
    config: dict[str, Any] = {
        "workers": {"pool_size": pool_size, "python": WORKER_PYTHON},
        "providers": {"offline": {"kind": "offline"}},
        "models": {"offline": {"provider": "offline", "model": "offline"}},
        "agents": {
            "researcher": {
                "runner": "pydantic_ai",
                "model": "offline",
                "temperature": 0.2,
                "max_retries": 2,
                "risk_threshold": "low",
                "tools": ["memory.*"],
                "system_prompt": "You are Steward's researcher. Answer with the tools you have; cite as [n].",
            }
        },
    }
    if database_url is not None:
        config["database"] = {"url": database_url, "pool_size": 4}
    return config


def write_config(directory: Path, config: dict[str, Any], name: str = "steward.yaml") -> Path:
    """Writes `config` as YAML (JSON is YAML 1.2, so no YAML library is needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


# --- SSE --------------------------------------------------------------------------------------


def parse_sse_lines(lines: Iterator[str]) -> Iterator[Event]:
    """Turns SSE lines into (event, data) pairs; data is JSON-decoded (or {"raw": text} if it is not JSON)."""
    name = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    decoded = json.loads(text)
                except ValueError:
                    decoded = {"raw": text}
                yield name, decoded if isinstance(decoded, dict) else {"value": decoded}
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield name, json.loads("\n".join(data))


def events_of(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [data for name, data in events if name == kind]


def text_of(events: list[Event]) -> str:
    """The answer text: the `token` events concatenated."""
    return "".join(data.get("text", "") for name, data in events if name == "token")


@contextmanager
def stream_chat(
    url: str, token: str, body: dict[str, Any], *, timeout: float = 60
) -> Iterator[httpx.Response]:
    """An open POST /api/chat response, for tests that read (or abandon) the stream themselves."""
    with (
        httpx.Client(timeout=httpx.Timeout(timeout, connect=10)) as client,
        client.stream(
            "POST", f"{url}/api/chat", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        yield response


# --- processes --------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (read from /proc, so no psutil is needed)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command, which may itself hold spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry.name))
    return sorted(out)


def _read_port_line(proc: subprocess.Popen[str], timeout: float, what: str) -> int:
    """Reads the `PORT n` line a fixture server prints first, with a bound."""
    assert proc.stdout is not None
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(proc.stdout.readline() if proc.stdout else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    if not found or not found[0].startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"{what} did not print its port within {timeout} s (got {found!r})")
    return int(found[0].split()[1])


class FixtureServer:
    """A wire-format fixture (core/tests/fixtures/*_fixture.py) on a free port, driven by its control API."""

    def __init__(self, script: str) -> None:
        self.name = script
        self.proc = subprocess.Popen(
            [sys.executable, str(FIXTURES_DIR / script), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.port = _read_port_line(self.proc, 30, script)
        self.url = f"http://127.0.0.1:{self.port}"

    def queue(self, script: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/_script", json=script, timeout=10).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_reset", timeout=10).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = httpx.get(f"{self.url}/_requests", timeout=10).json()
        return got

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# --- the steward server -----------------------------------------------------------------------


@dataclass
class StewardServer:
    """One `steward serve` process on a private STEWARD_HOME; restartable on the same home and config."""

    home: Path
    config_path: Path | None
    database_url: str | None = None  # None: the embedded cluster
    extra_env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 90
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    log_path: Path = field(init=False)
    logs: list[Path] = field(default_factory=list)  # one per start, oldest first
    started_at: float = 0.0
    stopped_at: float | None = None

    def __post_init__(self) -> None:
        self.log_path = self.home.parent / f"{self.home.name}-serve.log"

    # -- lifecycle --

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
        env.update(
            STEWARD_HOME=str(self.home),
            STEWARD_WORKER_PYTHON=WORKER_PYTHON,
            STEWARD_LOG_LEVEL="info",
            **self.extra_env,
        )
        return env

    def start(self) -> StewardServer:
        """Starts `steward serve` on a free port and waits (bounded) until /healthz answers 200."""
        self.log_path = self.home.parent / f"{self.home.name}-serve-{len(self.logs) + 1}.log"
        self.logs.append(self.log_path)
        args = [STEWARD_BIN, "serve", "--listen", "127.0.0.1:0"]
        if self.config_path is not None:
            args += ["--config", str(self.config_path)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.started_at = time.time()
        self.stopped_at = None
        if self not in ALL_SERVERS:
            ALL_SERVERS.append(self)
        try:
            self.url = wait_for(
                self._listening_url, timeout=self.start_timeout, what="steward serve to listen"
            )
            wait_for(self._healthy, timeout=30, what=f"{self.url}/healthz to answer 200")
        except (TimeoutError, RuntimeError) as e:
            self.kill()
            raise RuntimeError(f"{e}\n--- {self.log_path} ---\n{self.log_tail()}") from None
        return self

    def _listening_url(self) -> str | None:
        assert self.process is not None
        match = re.search(r"steward listening on (http://\S+) ", self.log_text())
        if match:
            return match.group(1)
        if self.process.poll() is not None:
            raise RuntimeError(f"steward serve exited with status {self.process.returncode} before listening")
        return None

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit status."""
        if self.process is None or self.process.poll() is not None:
            if self.process is not None and self.stopped_at is None:
                self.stopped_at = time.time()  # it exited by itself (or a test stopped it)
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.stopped_at = time.time()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests are about."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.stopped_at = time.time()

    def restart(self) -> StewardServer:
        """Starts again on the same home and config (after stop() or kill())."""
        return self.start()

    # -- introspection --

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return children_of(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 150) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def all_logs(self, lines: int = 150) -> str:
        parts = []
        for path in self.logs:
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {path} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Rows of `sql` from this server's database (database.url), read with psql."""
        assert self.database_url is not None, "the embedded cluster is checked through the API"
        rows: list[dict[str, Any]] = psql_json(self.database_url, sql)
        return rows

    # -- HTTP --

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> httpx.Response:
        """One request with the owner token (or `token`); `headers` replace the Authorization header."""
        sent = self.headers(token) if headers is None else headers
        return httpx.request(
            method, f"{self.url}{path}", json=json, content=content, headers=sent, timeout=timeout
        )

    def chat(
        self,
        message: str,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        timeout: float = 60,
        **extra: Any,
    ) -> list[Event]:
        """POST /api/chat and the whole SSE stream as (event, data) pairs; fails on a non-200 answer."""
        return [
            (name, data)
            for name, data, _ in self.chat_timed(
                message, agent=agent, session_id=session_id, timeout=timeout, **extra
            )
        ]

    def chat_timed(
        self,
        message: str,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        timeout: float = 60,
        **extra: Any,
    ) -> list[tuple[str, dict[str, Any], float]]:
        """Like chat(), with each event's arrival time at the client (time.monotonic())."""
        body: dict[str, Any] = {"message": message, **extra}
        if agent is not None:
            body["agent"] = agent
        if session_id is not None:
            body["session_id"] = session_id
        out: list[tuple[str, dict[str, Any], float]] = []
        with stream_chat(self.url, self.token, body, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                raise AssertionError(f"POST /api/chat answered {response.status_code}: {response.text}")
            for name, data in parse_sse_lines(response.iter_lines()):
                out.append((name, data, time.monotonic()))
        return out

    def messages(self, session_id: str) -> list[dict[str, Any]]:
        response = self.api("GET", f"/api/sessions/{session_id}/messages")
        assert response.status_code == 200, response.text
        got: list[dict[str, Any]] = response.json()["messages"]
        return got


# --- launching servers --------------------------------------------------------------------------

# The scripted model of the standard configuration (docs/scripted-provider.md).
STANDARD_SCRIPT: dict[str, Any] = {
    "responses": [
        {
            "match": "weather",
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_w"}],
        },
        {"when": "after_tool", "content": "It is sunny in Paris."},
        {"match": "overload", "error": {"status": 503, "message": "the scripted model is overloaded"}},
        # ~1 s: ten chunks 100 ms apart, for "tokens arrive before the run ends".
        {
            "match": "count slowly",
            "chunks": [f"tick{i} " for i in range(10)],
            "first_delay_ms": 100,
            "chunk_delay_ms": 100,
        },
        # ~10 s: long enough to kill something in the middle of it.
        {
            "match": "very slow",
            "chunks": [f"part{i} " for i in range(40)],
            "first_delay_ms": 50,
            "chunk_delay_ms": 250,
        },
        {"content": "This is the scripted default answer."},
    ]
}
SLOW_TEXT = "".join(f"part{i} " for i in range(40))


@dataclass
class ServerSpec:
    """A configuration (without database.url: the launcher adds it) and the files it refers to."""

    config: dict[str, Any]
    files: dict[str, Any] = field(default_factory=dict)  # name -> text, or data written as JSON
    env: dict[str, str] = field(default_factory=dict)  # for ${VAR} references in the config


def standard_spec(*, pool_size: int = 2) -> ServerSpec:
    """Agents `researcher` (offline model, memory tools), `plain` (offline, no tools) and `slowpoke`
    (model `scripted`: STANDARD_SCRIPT, no tools)."""
    config = base_config(None, pool_size=pool_size)
    config["providers"]["replay"] = {"kind": "scripted", "script": "replay.yaml", "timeout_s": 60}
    config["models"]["scripted"] = {"provider": "replay", "model": "replay"}
    config["agents"]["slowpoke"] = {"runner": "pydantic_ai", "model": "scripted", "tools": []}
    # Without tools the offline model quotes the earlier messages of the conversation that match
    # the question, which shows what history the model was given.
    config["agents"]["plain"] = {"runner": "pydantic_ai", "model": "offline", "tools": []}
    config["default_agent"] = "researcher"
    return ServerSpec(config, {"replay.yaml": STANDARD_SCRIPT})


class Launcher:
    """Starts servers on private homes (and fresh databases) under `root`; close() stops and drops all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.servers: list[StewardServer] = []
        self.databases: list[TestDatabase] = []
        self.embedded_roots: list[Path] = []

    def new_home(self, name: str = "steward", *, embedded: bool = False) -> Path:
        n = len(self.servers) + 1
        if embedded:
            parent = new_embedded_root(f"{name}-{n}-")
            self.embedded_roots.append(parent)
        else:
            parent = self.root / f"{name}-{n}"
            parent.mkdir(parents=True, exist_ok=True)
        return parent / "home"

    def prepare(
        self,
        spec: ServerSpec | None,
        *,
        embedded: bool = False,
        name: str = "steward",
        extra_env: dict[str, str] | None = None,
    ) -> StewardServer:
        """Writes the config (with a fresh database unless `embedded`) but does not start the server."""
        home = self.new_home(name, embedded=embedded)
        database_url = None
        config_path = None
        if spec is not None:
            config = json.loads(json.dumps(spec.config))
            if embedded:
                config.pop("database", None)
            else:
                database = TestDatabase()
                self.databases.append(database)
                database_url = database.url
                config["database"] = {"url": database_url, "pool_size": 4}
            for file_name, content in spec.files.items():
                text = content if isinstance(content, str) else json.dumps(content, indent=2)
                (home.parent / file_name).write_text(text)
            config_path = write_config(home.parent, config)
        env = {**(spec.env if spec is not None else {}), **(extra_env or {})}
        server = StewardServer(home=home, config_path=config_path, database_url=database_url, extra_env=env)
        self.servers.append(server)
        return server

    def launch(self, spec: ServerSpec | None, **kwargs: Any) -> StewardServer:
        return self.prepare(spec, **kwargs).start()

    def close(self) -> None:
        for server in self.servers:
            server.stop()
            stop_leftover_cluster(server.home)
        for database in self.databases:
            database.drop()
        for root in self.embedded_roots:
            shutil.rmtree(root, ignore_errors=True)


def new_embedded_root(prefix: str) -> Path:
    """A fresh directory for a home with an embedded cluster, outside pytest's temporary root.

    The cluster runs as the `postgres` user, which must traverse every directory above its data
    directory; steward adds o+x where needed, but each new pytest session (any pytest run on the
    machine) resets /tmp/pytest-of-<user> to 0700, which would lock the cluster out mid-test.
    """
    return Path(tempfile.mkdtemp(prefix=f"steward-ft-{prefix}", dir="/tmp"))


@contextmanager
def embedded_home() -> Iterator[Path]:
    """A STEWARD_HOME path (not yet created) for one embedded cluster; stopped and removed afterwards."""
    root = new_embedded_root("cli-")
    try:
        yield root / "home"
    finally:
        stop_leftover_cluster(root / "home")
        shutil.rmtree(root, ignore_errors=True)


def stop_leftover_cluster(home: Path) -> None:
    """Stops an embedded PostgreSQL a killed steward left running in `home` (a test must not leak it)."""
    data = home / "postgres"
    if not (data / "postmaster.pid").exists():
        return
    pg_ctls = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not pg_ctls:
        return
    command = [str(pg_ctls[-1]), "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    stopped = subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    if not stopped:
        # pg_ctl could not reach the data directory: end the postmaster by its pid (SIGQUIT is
        # PostgreSQL's immediate shutdown).
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data / "postmaster.pid").read_text().split()[0])
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"postgres"):
                os.kill(pid, signal.SIGQUIT)
