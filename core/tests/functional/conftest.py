"""Fixtures for the end-to-end tests: real `steward serve` processes on private homes and databases.

- `steward`: the server of a test module: the session's shared standard server (the offline
  researcher, a scripted model and agents on it: steward_harness.standard_spec), or one started
  from the module's own `steward_spec`. Each runs on a fresh database of the test PostgreSQL
  (env STEWARD_TEST_PG) and is stopped (SIGTERM, then SIGKILL) and dropped after.
- `launcher` / `module_launcher`: start more servers (other configs, the embedded cluster,
  restarts on one home); everything they start is stopped and dropped at the end of the scope.
A failing test's report carries the logs of every server that was alive while it ran.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from steward_harness import (
    ALL_SERVERS,
    PG_ADMIN_URL,
    STEWARD_BIN,
    Launcher,
    ServerSpec,
    StewardServer,
    standard_spec,
    wait_for,
)


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = []
    if not Path(STEWARD_BIN).exists():
        problems.append(f"no steward binary at {STEWARD_BIN} (set STEWARD_BIN or build the `steward` target)")
    if shutil.which("psql") is None:
        problems.append("psql is not installed (apt-get install postgresql-client)")
    else:
        probe = subprocess.run(
            ["psql", "-X", "-A", "-t", PG_ADMIN_URL, "-c", "SELECT 1"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if probe.returncode != 0:
            problems.append(
                f"cannot reach PostgreSQL at {PG_ADMIN_URL} (STEWARD_TEST_PG): {probe.stderr.strip()}"
            )
    if problems:
        raise pytest.UsageError("functional tests cannot run:\n  " + "\n  ".join(problems))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for server in ALL_SERVERS:
            if server.started_at and (server.stopped_at is None or server.stopped_at >= call.start - 1):
                report.sections.append((f"steward log ({server.home.parent.name})", server.all_logs()))
    return report


@pytest.fixture(scope="module")
def module_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path_factory.mktemp("servers"))
    yield launcher
    launcher.close()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.close()


@pytest.fixture(scope="session")
def shared_steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StewardServer]:
    """The standard server (steward_harness.standard_spec), shared by the modules that need no other."""
    launcher = Launcher(tmp_path_factory.mktemp("shared"))
    yield launcher.launch(standard_spec())
    launcher.close()


@pytest.fixture(scope="module")
def steward_spec() -> ServerSpec | None:
    """The configuration of the module's `steward`; None (the default) means the shared standard server.

    Modules that need another configuration, or do things to the server that others must not see
    (killing its workers), override this fixture.
    """
    return None


@pytest.fixture(scope="module")
def steward(
    request: pytest.FixtureRequest, module_launcher: Launcher, steward_spec: ServerSpec | None
) -> StewardServer:
    """A running server for the tests of one module."""
    if steward_spec is None:
        server: StewardServer = request.getfixturevalue("shared_steward")
        return server
    return module_launcher.launch(steward_spec)


@pytest.fixture
def healthy_after(steward: StewardServer) -> Iterator[StewardServer]:
    """The module's server, checked to be alive and healthy once the test is done with it."""
    yield steward
    assert steward.process is not None
    assert steward.process.poll() is None, "steward serve died during the test"
    wait_for(lambda: steward.api("GET", "/healthz").status_code == 200, timeout=10, what="/healthz 200")
