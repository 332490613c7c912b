"""The `steward` CLI: chat (one-shot, --session, interactive, embedded) and doctor."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from steward_harness import (
    STEWARD_BIN,
    WORKER_PYTHON,
    StewardServer,
    base_config,
    embedded_home,
    write_config,
)

HONESTY_LINE = "(Steward offline model: extractive answer, no LLM configured.)"
COMPLETE = re.compile(r"✓ complete \(confidence \d{1,3}%\)")
SESSION_LINE = re.compile(r"session ([0-9a-f-]{36})")


def cli_env(home: Path, url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(home), STEWARD_WORKER_PYTHON=WORKER_PYTHON)
    if url is not None:
        env["STEWARD_URL"] = url
    return env


def steward_cli(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STEWARD_BIN, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def session_of(done: subprocess.CompletedProcess[str]) -> str:
    found = SESSION_LINE.findall(done.stderr)
    assert found, done.stderr
    return str(found[-1])


def test_chat_prints_the_streamed_answer_and_the_confidence_line(steward: StewardServer) -> None:
    done = steward_cli("chat", "What can you do?", env=cli_env(steward.home, steward.url))

    assert done.returncode == 0, done.stderr
    assert "I am Steward running on its offline model" in done.stdout
    assert HONESTY_LINE in done.stdout
    assert COMPLETE.search(done.stderr), done.stderr
    # What the terminal showed is what was stored.
    messages = steward.messages(session_of(done))
    assert messages[-1]["role"] == "assistant"
    assert messages[-1]["content"].strip() in done.stdout


def test_quiet_chat_prints_no_progress_lines(steward: StewardServer) -> None:
    done = steward_cli("chat", "-q", "What can you do?", env=cli_env(steward.home, steward.url))

    assert done.returncode == 0, done.stderr
    assert HONESTY_LINE in done.stdout
    assert "·" not in done.stderr


def test_chat_with_session_continues_the_conversation(steward: StewardServer) -> None:
    env = cli_env(steward.home, steward.url)
    first = steward_cli(
        "chat", "--agent", "plain", "The cat is called Pixel and sleeps on the piano", env=env
    )
    assert first.returncode == 0, first.stderr
    session_id = session_of(first)

    second = steward_cli(
        "chat", "--agent", "plain", "--session", session_id, "What is the cat called?", env=env
    )

    assert second.returncode == 0, second.stderr
    assert session_of(second) == session_id
    # The model saw the first turn as history, and quotes it.
    assert "The cat is called Pixel" in second.stdout
    messages = steward.messages(session_id)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "The cat is called Pixel and sleeps on the piano"
    assert messages[2]["content"] == "What is the cat called?"


def test_interactive_chat_keeps_one_session(steward: StewardServer) -> None:
    done = steward_cli(
        "chat",
        "--agent",
        "plain",
        env=cli_env(steward.home, steward.url),
        stdin="The dog is called Rex\nWhat is the dog called?\n",
    )

    assert done.returncode == 0, done.stderr
    assert len(COMPLETE.findall(done.stderr)) == 2
    assert "The dog is called Rex [1]" in done.stdout  # the second answer quotes the first turn
    messages = steward.messages(session_of(done))
    assert [m["content"] for m in messages if m["role"] == "user"] == [
        "The dog is called Rex",
        "What is the dog called?",
    ]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]


def test_chat_against_a_missing_server_named_by_steward_url_fails_clearly(tmp_path: Path) -> None:
    done = steward_cli("chat", "hello", env=cli_env(tmp_path / "home", "http://127.0.0.1:9"), timeout=30)

    assert done.returncode != 0
    assert "no Steward server answers at http://127.0.0.1:9" in done.stderr


def test_chat_with_no_server_starts_an_embedded_one() -> None:
    try:
        default_taken = httpx.get("http://127.0.0.1:8377/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        default_taken = False
    if default_taken:
        pytest.skip("a steward already answers at 127.0.0.1:8377; the CLI would use it")
    with embedded_home() as home:
        done = steward_cli("chat", "What can you do?", env=cli_env(home), timeout=150)
        cluster_created = (home / "postgres" / "PG_VERSION").exists()
        left_running = (home / "postgres" / "postmaster.pid").exists()
        token_written = (home / "token").exists()

    assert done.returncode == 0, done.stderr
    assert "starting an embedded Steward" in done.stderr
    assert HONESTY_LINE in done.stdout
    assert COMPLETE.search(done.stderr)
    assert cluster_created, "expected the embedded cluster in STEWARD_HOME/postgres"
    assert token_written
    assert not left_running, "the command should stop the cluster it started"


def test_doctor_reports_ok_with_a_good_config(steward: StewardServer) -> None:
    assert steward.config_path is not None
    done = steward_cli("doctor", "--config", str(steward.config_path), env=cli_env(steward.home, steward.url))

    assert done.returncode == 0, done.stdout + done.stderr
    for line in (
        "ok    config",
        "ok    database: connected",
        "ok    provider offline",
        "ok    workers",
        f"ok    server: {steward.url} is up",
    ):
        assert line in done.stdout, done.stdout
    assert "FAIL" not in done.stdout
    assert "all checks passed" in done.stdout


def test_doctor_fails_naming_a_missing_worker_python(tmp_path: Path) -> None:
    config = base_config(None)
    config["workers"]["python"] = "/nonexistent/venv/bin/python"
    path = write_config(tmp_path, config)

    done = steward_cli("doctor", "--config", str(path), env=cli_env(tmp_path / "home"), timeout=60)

    assert done.returncode != 0
    assert "FAIL  workers" in done.stdout
    assert "/nonexistent/venv/bin/python" in done.stdout
    assert "check(s) failed" in done.stdout
