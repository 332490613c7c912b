"""The whole chat path, CLI -> core -> worker -> model -> core -> CLI, with a zero-delay model.

Starts a real `steward serve` (its own STEWARD_HOME, a scratch database on the given PostgreSQL
server, two warm Python workers) whose only agent uses a scripted model with no delays, so every
millisecond measured is Steward's: HTTP, PostgreSQL transactions, the worker protocol, the agent
framework (pydantic-ai + the OpenAI SDK calling the core's /v1), and, for the CLI, process start.

Measures, after a warm-up, N turns each of:
  - `steward chat -q hi`: the real CLI, process start to exit (includes starting the C++ binary);
  - `steward --help`: process start and exit alone, to show what the CLI's number includes;
  - POST /api/chat through httpx (one keep-alive client): request to the `done` event, split
    into request -> `session` (the core stores the user message and run row and hands the run to
    a worker), -> first `token` (the worker runs the agent, which calls /v1), -> `done` (the core
    stores the answer);
  - /v1/chat/completions with model = the agent, streamed, through httpx: request to [DONE].

Prints p50/p99 in milliseconds. Run by scripts/bench.sh; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ANSWER = "Hello from the scripted model."
TARGET_P50_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, as gateway_bench computes it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def row(label: str, values: list[float]) -> None:
    print(
        f"  {label:<52} p50 {percentile(values, 0.5):8.1f} ms   p99 {percentile(values, 0.99):8.1f} ms"
        f"   (n={len(values)})"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psql(server_url: str, sql: str) -> None:
    """Runs one statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", server_url, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )


def database_url(server_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def steward_server(
    binary: Path, python: Path, pg: str | None, workdir: Path
) -> Iterator[tuple[str, str, dict]]:
    """A running `steward serve`; yields (url, owner token, environment for the CLI)."""
    port = free_port()
    (workdir / "script.yaml").write_text(f'responses:\n  - content: "{ANSWER}"\n')
    db_name = f"steward_whole_path_{os.getpid()}"
    database = f"database:\n  url: {database_url(pg, db_name)}\n  pool_size: 8\n" if pg else ""
    (workdir / "steward.yaml").write_text(
        f"server:\n  listen: 127.0.0.1:{port}\n"
        f"{database}"
        "workers:\n  pool_size: 2\n"
        "providers:\n  replay:\n    kind: scripted\n    script: script.yaml\n"
        "models:\n  replay:\n    provider: replay\n    model: replay\n"
        "agents:\n  bench:\n    runner: pydantic_ai\n    model: replay\n    tools: []\n"
        "default_agent: bench\n"
    )
    if pg:
        psql(pg, f"CREATE DATABASE {db_name}")
    home = workdir / "home"
    env = dict(
        os.environ, STEWARD_HOME=str(home), STEWARD_WORKER_PYTHON=str(python), STEWARD_LOG_LEVEL="warn"
    )
    log = (workdir / "serve.log").open("w")
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--config", str(workdir / "steward.yaml")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"steward serve exited with {server.returncode}: {tail(workdir / 'serve.log')}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"steward serve did not become healthy in 120 s: {tail(workdir / 'serve.log')}"
                )
            time.sleep(0.2)
        token = (home / "token").read_text().strip()
        yield url, token, dict(env, STEWARD_URL=url)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        if pg:
            with contextlib.suppress(subprocess.CalledProcessError):
                psql(pg, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def timed(n: int, warmup: int, fn: Callable[[], None]) -> list[float]:
    """Milliseconds of `n` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def api_chat_turn(client: httpx.Client) -> tuple[float, float, float]:
    """One POST /api/chat turn: ms to the `session` event, the first `token`, and `done`."""
    t0 = time.perf_counter()
    marks: dict[str, float] = {}
    text = ""
    with client.stream("POST", "/api/chat", json={"message": "hi"}) as response:
        response.raise_for_status()
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                marks.setdefault(event, (time.perf_counter() - t0) * 1e3)
            elif line.startswith("data: ") and event == "token":
                text += json.loads(line[6:]).get("text", "")
            elif line.startswith("data: ") and event in ("done", "error"):
                break
    if "done" not in marks or text != ANSWER:
        raise RuntimeError(f"unexpected turn: events {sorted(marks)}, text {text!r}")
    return marks["session"], marks["token"], marks["done"]


def v1_agent_turn(client: httpx.Client) -> None:
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line == "data: [DONE]":
                return
    raise RuntimeError("the /v1 stream ended without [DONE]")


def run_process(argv: list[str], env: dict, expect: str | None) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or (expect is not None and expect not in done.stdout):
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stdout!r} {done.stderr!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steward", type=Path, default=Path(os.environ.get("STEWARD_BIN", REPO / "build/core/steward"))
    )
    parser.add_argument("--python", type=Path, default=REPO / ".venv/bin/python", help="the workers' Python")
    parser.add_argument(
        "--pg",
        default=os.environ.get("STEWARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server to create a scratch database on; 'embedded' for Steward's own cluster",
    )
    parser.add_argument("-n", type=int, default=50, help="measured turns of each kind")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    pg = None if args.pg == "embedded" else args.pg
    if not args.steward.exists():
        print(
            f"whole_path: no steward binary at {args.steward} (build it, or pass --steward)", file=sys.stderr
        )
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="steward-whole-path-"))
    try:
        print(f"whole_path: CLI -> core -> worker -> model -> core -> CLI, zero-delay model, n={args.n}")
        print(f"{os.cpu_count()} cores, load average at start {load_average()}, database {pg or 'embedded'}")
        with steward_server(args.steward, args.python, pg, workdir) as (url, token, cli_env):
            cli = [str(args.steward), "chat", "-q", "hi"]
            cli_ms = timed(args.n, args.warmup, lambda: run_process(cli, cli_env, ANSWER))
            help_ms = timed(args.n, 3, lambda: run_process([str(args.steward), "--help"], cli_env, None))
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for _ in range(args.warmup):
                    api_chat_turn(client)
                turns = [api_chat_turn(client) for _ in range(args.n)]
                v1_ms = timed(args.n, args.warmup, lambda: v1_agent_turn(client))

        print("\nwarm turns (ms)")
        row("steward chat -q hi (process start to exit)", cli_ms)
        row("  of which: steward --help (process start and exit)", help_ms)
        row("POST /api/chat via httpx, request -> done", [t[2] for t in turns])
        row("  -> session event (user message + run row stored)", [t[0] for t in turns])
        row("  -> first token (worker, agent, /v1 call)", [t[1] for t in turns])
        row("  first token -> done (answer stored)", [t[2] - t[1] for t in turns])
        row("/v1/chat/completions, model = agent, stream", v1_ms)

        print(f"\ntarget: whole path <= {TARGET_P50_MS:.0f} ms p50 warm")
        for label, values in (("steward chat -q hi", cli_ms), ("POST /api/chat", [t[2] for t in turns])):
            p50 = percentile(values, 0.5)
            print(f"  {label:<24} p50 {p50:6.1f} ms: {'met' if p50 <= TARGET_P50_MS else 'NOT met'}")
        print(f"load average at end {load_average()}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
