"""Every exception the worker raises on purpose.

A run ends with an `error` event whose `code` and `message` come from a `RunError`; runners translate their
framework's exceptions into one of these, so the loop never needs to know any framework. Anything else that
escapes a runner is reported as `internal`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "BudgetExceeded",
    "ErrorCode",
    "InternalError",
    "ModelError",
    "ProtocolError",
    "RunCancelled",
    "RunError",
    "ToolError",
    "UnknownRunner",
]

ErrorCode = Literal["cancelled", "model_error", "tool_error", "budget_exceeded", "internal"]
"""The `code` of an `error` event (docs/runner-protocol.md)."""


class RunError(Exception):
    """A run failed; `message` is shown to the user, so it says what went wrong and, if known, what to do."""

    code: ClassVar[ErrorCode] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelError(RunError):
    """The model call failed (the core's /v1 refused it, e.g. budget or unknown model, or it broke off)."""

    code: ClassVar[ErrorCode] = "model_error"


class ToolError(RunError):
    """The tool side failed (the core's /mcp could not be reached, or a tool kept failing)."""

    code: ClassVar[ErrorCode] = "tool_error"


class BudgetExceeded(RunError):
    """The run used more CPU time or memory than its step's `limits` allow."""

    code: ClassVar[ErrorCode] = "budget_exceeded"


class RunCancelled(RunError):
    """The run was cancelled (by the core, or because the worker is shutting down)."""

    code: ClassVar[ErrorCode] = "cancelled"


class InternalError(RunError):
    """A fault in the worker or a runner, not in the user's request."""

    code: ClassVar[ErrorCode] = "internal"


class UnknownRunner(InternalError):
    """The run names a runner this worker does not have."""

    def __init__(self, runner: str, available: list[str]) -> None:
        names = ", ".join(sorted(available)) or "none"
        super().__init__(f"runner {runner!r} is not available in this worker (available: {names})")


class ProtocolError(Exception):
    """A line from the core could not be used; the worker answers `protocol_error` and carries on.

    `run_id` is set when the line was recognisably a `run`, so that run can be failed rather than left
    hanging.
    """

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.run_id = run_id
