"""Runs with resource limits: a run whose workflow step sets `limits.cpu_seconds` or `limits.memory_mb` runs
in a process of its own, so the limits bound that run alone rather than the worker that serves many runs.

Run processes are forked from a multiprocessing fork server that imported and warmed up every runner once
(`_preloaded_runners`), so a run process starts in milliseconds and warm. The server itself starts on the
first limited run (it imports the frameworks, a few seconds) and ends with the worker.

Enforcement:
- CPU time: RLIMIT_CPU in the run process (soft = the limit: the kernel sends SIGXCPU, which ends it; hard one
  second later: SIGKILL). Counted by the kernel, exact.
- Memory: the relay polls the run process's private memory (pages it alone holds: what it allocated, plus
  pages of the warm server it wrote to) every `_POLL_S` and kills it above the limit. An address-space limit
  (RLIMIT_AS) well above that is the backstop against an allocation faster than the poll.
Either way the run ends with an `error` of code `budget_exceeded` that names the limit; the worker goes on.

The run process writes its events (its spans included) into a pipe; the relay forwards them unchanged.
Cancelling the relay's task kills the run process; when the worker's end of the pipe closes (the worker
ended, even by SIGKILL), the run process ends itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import sys
import threading
from typing import Final

from ._logging import configure_logging
from ._tracing import RunTrace
from .errors import BudgetExceeded, InternalError
from .protocol import OutgoingMessage, RunEvent, RunLimits, RunMessage
from .run_driver import RunOutput, drive

__all__ = ["RunProcesses"]

_log = logging.getLogger(__name__)

_POLL_S: Final = 0.05
"""How often the relay reads the run process's memory."""

_AS_HEADROOM_MB: Final = 1024
"""Address space a run process may reserve beyond its memory limit before RLIMIT_AS refuses: thread stacks and
malloc arenas reserve far more than they touch, so the backstop sits well above the private-memory limit."""

_JOIN_S: Final = 5.0
_ORPHANED_EXIT: Final = 3


class RunProcesses:
    """Starts limited runs in processes of their own and relays their events."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["steward_worker._preloaded_runners"])

    async def run(self, message: RunMessage, output: RunOutput) -> None:
        """Runs `message` in a new run process, forwarding its events to `output`. Raises `BudgetExceeded`
        when it went over a limit, `InternalError` when it ended without a result."""
        limits = message.limits or RunLimits()
        receiver, sender = self._context.Pipe(duplex=True)  # duplex: the run process sees the worker end
        process = self._context.Process(
            target=_run_process_main,
            args=(sender, message),
            name=f"steward-run-{message.run_id}",
            daemon=True,
        )
        try:
            # The first start launches the fork server, which imports the frameworks: keep the loop serving.
            await asyncio.to_thread(process.start)
            sender.close()
            _log.info("run %s: run process %d started", message.run_id, process.pid)
            exceeded = await self._relay(process, receiver, limits, output)
        finally:
            sender.close()
            receiver.close()
            if process.pid is not None:
                if process.is_alive():
                    process.kill()
                await asyncio.to_thread(process.join, _JOIN_S)
        if output.finished:
            return
        if exceeded is not None:
            raise BudgetExceeded(exceeded)
        if process.exitcode == -signal.SIGXCPU and limits.cpu_seconds is not None:
            raise BudgetExceeded(
                f"the step used more than its {limits.cpu_seconds} s of CPU time (limits.cpu_seconds)"
            )
        raise InternalError(f"the run's process ended without a result ({_describe_exit(process.exitcode)})")

    async def _relay(
        self,
        process: multiprocessing.process.BaseProcess,
        receiver: multiprocessing.connection.Connection,
        limits: RunLimits,
        output: RunOutput,
    ) -> str | None:
        """Forwards the run process's events until its pipe closes; returns why it was killed, if it was."""
        pump = asyncio.create_task(_pump(receiver, output))
        exceeded: str | None = None
        try:
            while not pump.done():
                await asyncio.wait({pump}, timeout=_POLL_S)
                if exceeded is None and limits.memory_mb is not None and process.pid is not None:
                    used = _private_mb(process.pid)
                    if used is not None and used > limits.memory_mb and not output.finished:
                        exceeded = (
                            f"the step used {used:.0f} MB of memory, more than its {limits.memory_mb} MB "
                            "(limits.memory_mb)"
                        )
                        process.kill()
            await pump
        finally:
            pump.cancel()
        return exceeded


async def _pump(receiver: multiprocessing.connection.Connection, output: RunOutput) -> None:
    while True:
        try:
            event: RunEvent = await asyncio.to_thread(receiver.recv)
        except (EOFError, OSError):
            return
        await output.forward(event)


def _private_mb(pid: int) -> float | None:
    """The process's private memory (Private_Clean + Private_Dirty + Private_Hugetlb) in MB, or None if
    unreadable (it ended, or no /proc)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            kib = sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
    except (OSError, ValueError, IndexError):
        return None
    return kib / 1024


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "it did not exit"
    if exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


# ----------------------------------------------------------------------------------------- in the run process


def _run_process_main(sender: multiprocessing.connection.Connection, message: RunMessage) -> None:
    """Entry point of a run process (forked from the fork server, which preloaded the runners)."""
    _die_with_worker(sender)
    configure_logging(f"[run {message.run_id}] ")
    sys.stdout = sys.stderr  # the protocol is the worker's: nothing here writes to the core's stdin
    _limit_resources(message.limits or RunLimits())
    asyncio.run(_run(sender, message))
    sender.close()


def _die_with_worker(connection: multiprocessing.connection.Connection) -> None:
    """Ends this process when the worker's end of the pipe closes: the worker ended (even SIGKILLed) or its
    relay gave up on the run. A run process must not outlive its worker, still calling tools. (Being the fork
    server's child does not help: the server lives while any run process does.)"""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                connection.recv_bytes()  # the worker sends nothing: this returns only at EOF
        os._exit(_ORPHANED_EXIT)

    threading.Thread(target=watch, name="worker-lifeline", daemon=True).start()


def _limit_resources(limits: RunLimits) -> None:
    if limits.cpu_seconds is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    if limits.memory_mb is not None:
        address_space = _address_space_bytes()
        if address_space is not None:
            cap = address_space + (limits.memory_mb + _AS_HEADROOM_MB) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


async def _run(sender: multiprocessing.connection.Connection, message: RunMessage) -> None:
    # Imported here, never at the top: importing it warms up every runner, which only the fork server does
    # (the run process inherits the result).
    from ._preloaded_runners import RUNNERS  # noqa: PLC0415

    trace = RunTrace(message.trace.traceparent)

    async def send(event: OutgoingMessage) -> None:
        sender.send(event)

    output = RunOutput(message.run_id, trace, send)

    async def work() -> None:
        runner = RUNNERS.get(message.runner)
        if runner is None:
            raise InternalError(f"runner {message.runner!r} failed to load in the run process (see the log)")
        limits = message.limits or RunLimits()
        try:
            with trace.activated():
                await runner.run(message, output.emit)
        except MemoryError:
            raise BudgetExceeded(
                f"the step ran out of the memory it may use: {limits.memory_mb} MB (limits.memory_mb)"
            ) from None

    _log.info("pid %d: start (%s, agent %s)", os.getpid(), message.runner, message.agent.name)
    await drive(message, output, work)
