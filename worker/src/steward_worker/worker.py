"""The worker's main loop: reads core messages from stdin, runs each `run` as an asyncio task, writes events.

Threading: everything runs on one asyncio event loop; runs are tasks on it. Only `LineWriter` touches stdout.
A run whose step sets CPU or memory limits runs in a process of its own (`isolation`); its task relays it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from . import __version__
from ._stdio import LineReader, LineTooLong, LineWriter, WriterClosed
from ._tracing import RunTrace
from .embeddings import Embedder
from .embeddings import versions as embedding_versions
from .errors import ProtocolError, UnknownRunner
from .isolation import RunProcesses
from .protocol import (
    CancelMessage,
    EmbedMessage,
    ErrorEvent,
    OutgoingMessage,
    PingMessage,
    PongEvent,
    ProtocolErrorEvent,
    ReadyEvent,
    RunMessage,
    ShutdownMessage,
    parse_line,
)
from .run_driver import RunOutput, drive
from .runners import Runner

__all__ = ["Worker"]

_log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_S: Final = 5.0
"""How long shutdown waits for cancelled runs to unwind (close HTTP sessions) before exiting anyway."""


@dataclass
class _Run:
    """A run in flight."""

    run_id: str
    output: RunOutput
    task: asyncio.Task[None] | None = None


class Worker:
    """Serves the runner protocol over the given reader and writer until EOF or `shutdown`."""

    def __init__(self, runners: Mapping[str, Runner], reader: LineReader, writer: LineWriter) -> None:
        self._runners = dict(runners)
        self._reader = reader
        self._writer = writer
        self._runs: dict[str, _Run] = {}
        self._core_gone = False
        self._embedder = Embedder()
        self._embeds: set[asyncio.Task[None]] = set()
        self._run_processes = RunProcesses()

    async def serve(self) -> int:
        """Runs until stdin ends or `shutdown` arrives; returns the process exit status."""
        await self._reader.start()
        await self._writer.start()
        await self._send(
            ReadyEvent(pid=os.getpid(), runners=sorted(self._runners), versions=self._versions())
        )
        while not self._core_gone:
            try:
                line = await self._reader.readline()
            except LineTooLong as exc:
                await self._send(ProtocolErrorEvent(message=str(exc)))
                continue
            if line is None:
                _log.info("stdin closed: stopping")
                break
            if not line.strip():
                continue
            if not await self._handle_line(line):
                break
        await self._stop_all("the worker is shutting down")
        for task in self._embeds:
            task.cancel()
        self._embedder.close()
        await self._writer.close()
        return 0

    def _versions(self) -> dict[str, str]:
        versions = {"python": platform.python_version(), "steward_worker": __version__}
        for runner in self._runners.values():
            versions.update(runner.versions())
        versions.update(embedding_versions())
        return versions

    async def _handle_line(self, line: bytes) -> bool:
        """Acts on one line; returns False when the worker should stop."""
        try:
            message = parse_line(line)
        except ProtocolError as exc:
            if exc.run_id is not None and exc.run_id not in self._runs:
                # The core is waiting for this run: end it instead of leaving it hanging.
                await self._send(ErrorEvent(run_id=exc.run_id, code="internal", message=exc.message))
            else:
                await self._send(ProtocolErrorEvent(message=exc.message))
            return True
        if isinstance(message, PingMessage):
            await self._send(PongEvent(id=message.id))
        elif isinstance(message, RunMessage):
            await self._start(message)
        elif isinstance(message, EmbedMessage):
            task = asyncio.create_task(self._embed(message), name=f"embed-{message.id}")
            self._embeds.add(task)
            task.add_done_callback(self._embeds.discard)
        elif isinstance(message, CancelMessage):
            await self._cancel(message.run_id, "the run was cancelled")
        elif isinstance(message, ShutdownMessage):
            _log.info("shutdown requested")
            return False
        return True

    async def _start(self, message: RunMessage) -> None:
        if message.run_id in self._runs:
            await self._send(ProtocolErrorEvent(message=f"run {message.run_id!r} is already running"))
            return
        trace = RunTrace(message.trace.traceparent)
        run = _Run(message.run_id, RunOutput(message.run_id, trace, self._send))
        self._runs[run.run_id] = run
        run.task = asyncio.create_task(self._drive(run, message, trace), name=f"run-{run.run_id}")

    async def _drive(self, run: _Run, message: RunMessage, trace: RunTrace) -> None:
        async def work() -> None:
            runner = self._runners.get(message.runner)
            if runner is None:
                raise UnknownRunner(message.runner, list(self._runners))
            if message.limits is not None and message.limits.isolating:
                _log.info(
                    "run %s: start in a process of its own (%s, agent %s, %s)",
                    run.run_id,
                    message.runner,
                    message.agent.name,
                    message.limits,
                )
                await self._run_processes.run(message, run.output)
                return
            _log.info("run %s: start (%s, agent %s)", run.run_id, message.runner, message.agent.name)
            with trace.activated():  # the framework's spans join the core's trace
                await runner.run(message, run.output.emit)

        try:
            await drive(message, run.output, work)
        finally:
            self._runs.pop(run.run_id, None)

    async def _embed(self, message: EmbedMessage) -> None:
        await self._send(await self._embedder.handle(message))

    async def _cancel(self, run_id: str, reason: str) -> None:
        run = self._runs.get(run_id)
        if run is None or run.output.finished:
            return  # already ended: the protocol says nothing more is written
        # Answer at once rather than when the task unwinds: teardown (closing HTTP sessions) may be slow.
        await run.output.emit(ErrorEvent(run_id=run_id, code="cancelled", message=reason))
        if run.task is not None:
            run.task.cancel()

    async def _stop_all(self, reason: str) -> None:
        runs = list(self._runs.values())
        for run in runs:
            await self._cancel(run.run_id, reason)
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE_S)
            if pending:
                _log.warning("%d run(s) did not stop within %.0f s", len(pending), _SHUTDOWN_GRACE_S)

    async def _send(self, message: OutgoingMessage) -> None:
        if self._core_gone:
            return
        try:
            await self._writer.write(message)
        except WriterClosed:
            _log.warning("stdout closed by the core: stopping")
            self._core_gone = True
