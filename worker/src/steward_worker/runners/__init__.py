"""Runner registry: one module per agent framework, found by name.

To add a framework (LangGraph, AutoGen, CrewAI, ...): write `runners/<name>_runner.py` exposing a module-level
`RUNNER` object that satisfies `Runner`, and add one line to `_RUNNER_MODULES`. The loop never changes.
A runner outside this package is added without editing it: STEWARD_WORKER_EXTRA_RUNNERS="name=module,..."
(the module must be importable by the worker's Python).

A runner's module imports its framework at import time; `load_runners()` imports every module and awaits
`warm_up()` before the worker says `ready`, so no run pays for a cold start.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, runtime_checkable

from ..protocol import RunEvent, RunMessage

__all__ = ["Emit", "Runner", "extra_runner_modules", "load_runners"]

_log = logging.getLogger(__name__)

Emit = Callable[[RunEvent], Awaitable[None]]
"""Writes one event of the run to the core. Events after the run's `done`/`error` are dropped."""

_RUNNER_MODULES: dict[str, str] = {
    "pydantic_ai": "steward_worker.runners.pydantic_ai_runner",
    "langgraph": "steward_worker.runners.langgraph_runner",
    "formatter": "steward_worker.runners.formatter_runner",
}
"""Runner name (the `runner` field of a `run` message) → module holding its `RUNNER`."""


@runtime_checkable
class Runner(Protocol):
    """Runs one agent turn with one framework. One instance serves many concurrent runs."""

    @property
    def name(self) -> str:
        """The name the core uses in `run.runner`."""
        ...

    def versions(self) -> Mapping[str, str]:
        """Versions of the framework packages, reported in `ready`."""
        ...

    async def warm_up(self) -> None:
        """Does, once and without network, whatever would otherwise slow the first run (lazy imports,
        schema building), e.g. a run against a canned in-memory model."""
        ...

    async def run(self, request: RunMessage, emit: Emit) -> None:
        """Runs `request`, emitting `status`/`token` events and finally exactly one `done`.

        Raises a `steward_worker.errors.RunError` for a failure the user should see; the loop turns it (and
        any other exception, as `internal`) into the run's `error` event. Cancellation arrives as
        `asyncio.CancelledError` and must be allowed to propagate.
        """
        ...


def extra_runner_modules(spec: str | None = None) -> dict[str, str]:
    """Runners named in STEWARD_WORKER_EXTRA_RUNNERS (or `spec`): "name=module,name=module"."""
    spec = os.environ.get("STEWARD_WORKER_EXTRA_RUNNERS", "") if spec is None else spec
    modules: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, module_name = item.partition("=")
        if not sep or not name.strip() or not module_name.strip():
            _log.error("STEWARD_WORKER_EXTRA_RUNNERS: %r is not name=module; ignored", item)
            continue
        modules[name.strip()] = module_name.strip()
    return modules


async def load_runners(names: Mapping[str, str] | None = None) -> dict[str, Runner]:
    """Imports and warms up every runner; returns them by name.

    A runner whose framework fails to import is logged and left out, so the other runners still serve.
    """
    runners: dict[str, Runner] = {}
    for name, module_name in (names or {**_RUNNER_MODULES, **extra_runner_modules()}).items():
        try:
            module = importlib.import_module(module_name)
            runner = module.RUNNER
            if not isinstance(runner, Runner) or runner.name != name:
                raise TypeError(f"{module_name}.RUNNER is not a Runner named {name!r}")
            await runner.warm_up()
        except Exception:
            _log.exception("runner %r is unavailable: loading %s failed", name, module_name)
            continue
        runners[name] = runner
    return runners
