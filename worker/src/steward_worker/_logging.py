"""Logging of worker processes: to stderr, which the core forwards to its own log with the process's pid."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_logging"]


def configure_logging(prefix: str = "") -> None:
    """Logs to stderr at STEWARD_WORKER_LOG_LEVEL (default INFO); `prefix` starts every line."""
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("STEWARD_WORKER_LOG_LEVEL", "INFO").upper(),
        format=f"{prefix}%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # One line per HTTP request to the core is noise: the core logs its own side of every call.
    # The MCP client retries the optional GET event stream the core declines (405) at INFO.
    for name in ("httpx", "httpx2", "mcp.client.streamable_http"):
        logging.getLogger(name).setLevel(logging.WARNING)
