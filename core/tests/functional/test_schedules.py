"""Schedules across processes: two `steward serve` on one database fire each tick exactly once.

A workflow scheduled every second (6-field cron) runs while two servers share one PostgreSQL
database; afterwards `schedule_fire` holds one row per tick with no gaps, and `run` holds exactly
one workflow run per tick, with the id the claim recorded. GET /api/schedules and
`steward schedules` show the next and the last fire.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from steward_harness import (
    STEWARD_BIN,
    Launcher,
    ServerSpec,
    StewardServer,
    base_config,
    wait_for,
    write_config,
)

TICKS = 10  # how many seconds both servers run side by side


class FireRow(BaseModel):
    fire_at: datetime
    status: str
    run_id: str
    fired_by: str
    attempts: int


class RunRow(BaseModel):
    id: str
    status: str
    trigger: str | None


def schedule_spec() -> ServerSpec:
    config = base_config(None, pool_size=1)
    config["workflows"] = {
        "heartbeat": {
            "description": "fires every second; one cheap model step",
            # catch_up: a tick both servers slept through on a loaded machine still fires (late).
            "schedule": {"cron": "* * * * * *", "timezone": "UTC", "missed": "catch_up", "max_catch_up": 5},
            "steps": [{"id": "beat", "model": "offline", "prompt": "heartbeat"}],
        },
        "later": {
            "schedule": {"cron": "0 8 * * MON-FRI", "timezone": "Europe/Berlin"},
            "steps": [{"id": "beat", "model": "offline", "prompt": "later"}],
        },
    }
    return ServerSpec(config)


def second_server_on(launcher: Launcher, first: StewardServer, spec: ServerSpec) -> StewardServer:
    """Another `steward serve` (own home) on `first`'s database."""
    assert first.database_url is not None
    home = launcher.new_home("second")
    config = json.loads(json.dumps(spec.config))
    config["database"] = {"url": first.database_url, "pool_size": 4}
    server = StewardServer(
        home=home, config_path=write_config(home.parent, config), database_url=first.database_url
    )
    launcher.servers.append(server)
    return server.start()


def fires(server: StewardServer) -> list[FireRow]:
    rows = server.query(
        "SELECT fire_at, status, run_id::text AS run_id, fired_by, attempts FROM schedule_fire "
        "WHERE workflow = 'heartbeat' ORDER BY fire_at"
    )
    return [FireRow.model_validate(r) for r in rows]


def runs(server: StewardServer) -> list[RunRow]:
    rows = server.query(
        "SELECT id::text AS id, status, trigger FROM run WHERE kind = 'workflow' AND workflow = 'heartbeat' "
        "AND parent_run_id IS NULL"
    )
    return [RunRow.model_validate(r) for r in rows]


@pytest.fixture
def pair(launcher: Launcher) -> tuple[StewardServer, StewardServer]:
    spec = schedule_spec()
    first = launcher.launch(spec)  # applies the migrations before the second one connects
    return first, second_server_on(launcher, first, spec)


def test_two_servers_fire_each_tick_exactly_once(pair: tuple[StewardServer, StewardServer]) -> None:
    a, b = pair
    both_up = datetime.now(UTC)
    time.sleep(TICKS + 0.5)
    both_until = datetime.now(UTC)
    b.kill()  # SIGKILL, perhaps between a claim and its run's start: a tick must not be lost
    killed_at = datetime.now(UTC)
    wait_for(
        lambda: any(f.fire_at > killed_at + timedelta(seconds=2) for f in fires(a)),
        timeout=15,
        what="ticks fired by the remaining server",
    )
    # A claim the killed server left unstarted is started by the other once its lease expires.
    wait_for(
        lambda: all(f.status == "started" for f in fires(a)),
        timeout=30,
        what="every claimed tick started",
    )
    a.stop()

    rows = fires(a)
    side_by_side = [f for f in rows if both_up < f.fire_at <= both_until]
    assert len(side_by_side) >= TICKS - 1, [f.fire_at for f in rows]
    # One row per tick (the primary key) and no gaps: consecutive ticks are one second apart.
    for earlier, later in itertools.pairwise(rows):
        assert later.fire_at - earlier.fire_at == timedelta(seconds=1), f"gap/repeat after {earlier.fire_at}"
    assert all(f.status == "started" for f in rows), [f for f in rows if f.status != "started"]
    owners = {f.fired_by for f in side_by_side}
    print(f"{len(rows)} ticks; claimed by {sorted(owners)}")

    # Exactly one workflow run per tick, with the id its claim recorded.
    workflow_runs = runs(a)
    assert sorted(r.id for r in workflow_runs) == sorted(f.run_id for f in rows)
    assert all(r.trigger == "schedule" for r in workflow_runs)
    finished = [r for r in workflow_runs if r.status == "succeeded"]
    assert len(finished) >= len(rows) // 2, [r.status for r in workflow_runs]


def test_schedules_api_and_cli(launcher: Launcher) -> None:
    server = launcher.launch(schedule_spec())
    wait_for(lambda: len(fires(server)) >= 2, timeout=15, what="two heartbeat fires")
    answer = server.api("GET", "/api/schedules")
    assert answer.status_code == 200, answer.text
    by_name: dict[str, Any] = {s["workflow"]: s for s in answer.json()["schedules"]}
    assert set(by_name) == {"heartbeat", "later"}
    beat = by_name["heartbeat"]
    assert beat["cron"] == "* * * * * *"
    assert beat["missed"] == "catch_up"
    assert beat["max_catch_up"] == 5
    now = datetime.now(UTC)
    next_fire = datetime.fromisoformat(beat["next_fire"])
    last_fire = datetime.fromisoformat(beat["last_fire"])
    assert now - timedelta(seconds=2) < next_fire <= now + timedelta(seconds=2)
    assert now - timedelta(seconds=5) < last_fire <= now + timedelta(seconds=1)
    assert beat["last_status"] in ("claimed", "started")
    later = by_name["later"]
    assert later["timezone"] == "Europe/Berlin"
    assert later["missed"] == "skip"
    assert later["last_fire"] is None
    assert later["next_fire_local"].split()[1] == "08:00:00"  # 08:00 wall time in Berlin
    assert later["next_fire_local"].split()[2] in ("CET", "CEST")

    # Without a valid token: 401.
    assert server.api("GET", "/api/schedules", token="not-a-token").status_code == 401

    env = {**server.env(), "STEWARD_URL": server.url}
    table = subprocess.run(
        [STEWARD_BIN, "schedules"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["WORKFLOW", "CRON", "TIME", "ZONE", "MISSED", "NEXT", "FIRE", "LAST", "FIRE"]
    assert any(line.startswith("heartbeat") and "catch_up(5)" in line and "started" in line for line in lines)
    assert any(line.startswith("later") and "Europe/Berlin" in line and "08:00:00" in line for line in lines)
    raw = subprocess.run(
        [STEWARD_BIN, "schedules", "--json"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert raw.returncode == 0, raw.stderr
    assert {s["workflow"] for s in json.loads(raw.stdout)["schedules"]} == {"heartbeat", "later"}
