"""Where worker frameworks keep checkpoints: PostgreSQL named by the core in STEWARD_CHECKPOINT_DB.

The core sets STEWARD_CHECKPOINT_DB for its workers to its own database (a libpq URI; for the embedded
cluster the socket form `postgresql:///steward?host=<dir>&port=5432&user=steward`). LangGraph's
`AsyncPostgresSaver` keeps its tables (checkpoints, checkpoint_blobs, checkpoint_writes,
checkpoint_migrations) in their own schema, `steward_langgraph` (STEWARD_CHECKPOINT_SCHEMA overrides), so
they never meet Steward's migrations. One connection pool per worker process (created on the first run that
needs it, 1..4 connections); the saver's own migrations run once per process, under an advisory lock (taken
by polling, see `_lock`) so two workers starting together do not race.

Without STEWARD_CHECKPOINT_DB (a worker started by hand) checkpoints stay in memory: runs work, but do not
survive the process (logged once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any, Final

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ..errors import InternalError

__all__ = ["checkpoint_schema", "checkpointer", "close_checkpointer"]

_log = logging.getLogger(__name__)

_ENV_DB: Final = "STEWARD_CHECKPOINT_DB"
_ENV_SCHEMA: Final = "STEWARD_CHECKPOINT_SCHEMA"
_DEFAULT_SCHEMA: Final = "steward_langgraph"
_CONNECT_TIMEOUT_S: Final = 15.0
_SETUP_LOCK_KEY: Final = 0x5374657761726447  # pg_advisory_lock key: "StewardG"
_SETUP_WAIT_S: Final = 120.0


class _State:
    lock: asyncio.Lock | None = None
    loop: asyncio.AbstractEventLoop | None = None
    pool: AsyncConnectionPool[Any] | None = None
    saver: BaseCheckpointSaver[Any] | None = None
    warned: bool = False


def checkpoint_schema() -> str:
    """The schema holding the checkpoint tables."""
    schema = os.environ.get(_ENV_SCHEMA, "").strip() or _DEFAULT_SCHEMA
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise InternalError(f"{_ENV_SCHEMA}={schema!r} is not a plain lowercase schema name")
    return schema


def _redacted(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


async def _lock(conn: psycopg.AsyncConnection[Any]) -> None:
    """Takes the setup lock by polling: a session blocked in pg_advisory_lock() would hold a snapshot,
    and the saver's CREATE INDEX CONCURRENTLY (in the lock holder's other session) waits for every
    snapshot: neither would ever go on, and PostgreSQL sees no deadlock."""
    deadline = asyncio.get_running_loop().time() + _SETUP_WAIT_S
    while True:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(
                f"another worker held the checkpoint setup lock for over {_SETUP_WAIT_S:.0f} s"
            )
        await asyncio.sleep(0.1)


async def _setup(url: str, schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, connect_timeout=int(_CONNECT_TIMEOUT_S)
    ) as conn:
        await _lock(conn)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(f"SET search_path TO {schema}")
            async with await psycopg.AsyncConnection.connect(
                url,
                autocommit=True,
                prepare_threshold=0,
                row_factory=dict_row,
                options=f"-c search_path={schema}",
            ) as saver_conn:
                await AsyncPostgresSaver(saver_conn).setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


async def checkpointer() -> BaseCheckpointSaver[Any]:
    """The process's checkpointer (PostgreSQL when configured); created on first use.

    Raises InternalError naming the database (password redacted) when it cannot be reached or set up.
    """
    loop = asyncio.get_running_loop()
    if _State.loop is not loop:  # a new event loop (tests): nothing of the old one can be used
        _State.lock, _State.loop, _State.pool, _State.saver = asyncio.Lock(), loop, None, None
    assert _State.lock is not None
    async with _State.lock:
        if _State.saver is not None:
            return _State.saver
        url = os.environ.get(_ENV_DB, "").strip()
        if not url:
            if not _State.warned:
                _log.warning("%s is not set: LangGraph checkpoints stay in this process's memory", _ENV_DB)
                _State.warned = True
            _State.saver = InMemorySaver()
            return _State.saver
        schema = checkpoint_schema()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=4,
            open=False,
            timeout=_CONNECT_TIMEOUT_S,
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                "row_factory": dict_row,
                "options": f"-c search_path={schema}",
            },
            name="steward-checkpoints",
        )
        try:
            await _setup(url, schema)
            await pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except Exception as exc:
            await pool.close()
            raise InternalError(
                f"cannot use the checkpoint database {_redacted(url)} (schema {schema}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        _State.pool = pool
        _State.saver = AsyncPostgresSaver(pool)
        _log.info("LangGraph checkpoints in %s, schema %s", _redacted(url), schema)
        return _State.saver


async def close_checkpointer() -> None:
    """Closes the pool (worker shutdown, tests)."""
    pool, _State.pool, _State.saver = _State.pool, None, None
    if pool is not None:
        await pool.close()
