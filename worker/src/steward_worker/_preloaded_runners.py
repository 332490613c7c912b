"""Imported only by the fork server of run processes (`isolation`): imports and warms up every runner once, so
that each run process forked from the server starts as warm as the worker itself."""

from __future__ import annotations

import asyncio

from ._logging import configure_logging
from .runners import Runner, load_runners

__all__ = ["RUNNERS"]

configure_logging("[run-process server] ")
RUNNERS: dict[str, Runner] = asyncio.run(load_runners())
