"""Driving one run: its event output and the error handling around a runner, shared by the worker loop and by
the processes that hold runs with resource limits (`isolation`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ._tracing import RunTrace, resource_json
from .errors import InternalError, RunError
from .protocol import DoneEvent, ErrorEvent, OutgoingMessage, RunEvent, RunMessage, SpansEvent

__all__ = ["RunOutput", "Send", "drive"]

_log = logging.getLogger(__name__)

Send = Callable[[OutgoingMessage], Awaitable[None]]
"""Writes one message towards the core."""


class RunOutput:
    """Writes one run's events. Once its `done` or `error` is written, later events are dropped; the spans the
    run recorded are written just before that final event, because the core stops listening to a run once it
    has it."""

    def __init__(self, run_id: str, trace: RunTrace, send: Send) -> None:
        self.run_id = run_id
        self._trace = trace
        self._send = send
        self._finished = False
        self._lock = asyncio.Lock()

    @property
    def finished(self) -> bool:
        return self._finished

    async def emit(self, event: RunEvent) -> None:
        """Writes an event of this run (the runner's `Emit`)."""
        if event.run_id != self.run_id:
            raise InternalError(f"runner emitted an event for run {event.run_id!r} inside {self.run_id!r}")
        async with self._lock:
            if self._finished:
                return
            if isinstance(event, DoneEvent | ErrorEvent):
                self._finished = True
                spans = self._trace.finish()
                if spans:
                    await self._send(SpansEvent(run_id=self.run_id, resource=resource_json(), spans=spans))
            await self._send(event)

    async def forward(self, event: RunEvent) -> None:
        """Writes an event another process wrote for this run as it is (its spans arrive as an event too)."""
        async with self._lock:
            if self._finished or event.run_id != self.run_id:
                return
            if isinstance(event, DoneEvent | ErrorEvent):
                self._finished = True
            await self._send(event)


async def drive(message: RunMessage, output: RunOutput, work: Callable[[], Awaitable[None]]) -> None:
    """Awaits `work` (which runs `message` and emits into `output`) and makes sure the run ends with exactly
    one `done` or `error`: a `RunError` becomes its code and message, anything else `internal`."""
    run_id = message.run_id
    try:
        await work()
        if not output.finished:
            raise InternalError(f"the {message.runner} runner ended without a result")
    except asyncio.CancelledError:
        # Normally the loop has already written the `cancelled` error and this one is dropped; it is written
        # only if a cancellation came from somewhere else, so the core never waits forever.
        _log.info("run %s: cancelled", run_id)
        await output.emit(ErrorEvent(run_id=run_id, code="cancelled", message="the run was interrupted"))
    except RunError as exc:
        _log.info("run %s: %s: %s", run_id, exc.code, exc.message)
        await output.emit(ErrorEvent(run_id=run_id, code=exc.code, message=exc.message))
    except Exception as exc:
        _log.exception("run %s: unexpected failure", run_id)
        text = f"internal error in the worker: {type(exc).__name__}: {exc}"
        await output.emit(ErrorEvent(run_id=run_id, code="internal", message=text))
