"""Entry point: `python -m steward_worker` (started by the core, one process per pool slot)."""

from __future__ import annotations

import asyncio
import os
import sys

from ._logging import configure_logging
from ._stdio import LineReader, LineWriter
from .runners import load_runners
from .worker import Worker

__all__ = ["main"]


def _claim_stdout() -> int:
    """Returns a private descriptor for the protocol and points fd 1 at stderr.

    The protocol owns stdout; a stray print() in a framework (or C extension) would corrupt it, so
    everything else written to fd 1 from now on lands in the log instead.
    """
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_fd


def main() -> int:
    """Loads every runner, then serves the protocol until EOF or `shutdown`; returns the exit status."""
    configure_logging()
    protocol_fd = _claim_stdout()
    return asyncio.run(_serve(protocol_fd))


async def _serve(protocol_fd: int) -> int:
    # Every framework is imported and warmed up (in this loop) before `ready`: no cold start on a run.
    runners = await load_runners()
    worker = Worker(runners, LineReader(sys.stdin.fileno()), LineWriter(protocol_fd))
    return await worker.serve()


if __name__ == "__main__":
    sys.exit(main())
