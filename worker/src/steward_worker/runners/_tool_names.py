"""Which of the core's MCP tools a run sees, and under which names the model sees them.

The core names tools like `memory.search`, but OpenAI-style function names allow only `[a-zA-Z0-9_-]{1,64}`,
and the core's /v1 forwards tool definitions to such providers unchanged. So the model is shown a safe alias
(`memory_search`) and each call is mapped back to the real name before it reaches /mcp.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.toolsets import AbstractToolset, RenamedToolset, ToolsetTool

__all__ = ["matches_any", "provider_safe_names", "restrict_tools"]

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64


def matches_any(name: str, patterns: Sequence[str]) -> bool:
    """Returns whether `name` matches one of the agent's tool globs (`memory.*`, `*`, exact names)."""
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def provider_safe_names(names: Iterable[str]) -> dict[str, str]:
    """Returns {alias: original} for every name that needs an alias; aliases are unique and never collide
    with a name that is already safe."""
    names = list(names)
    taken = {name for name in names if not _UNSAFE.search(name) and len(name) <= _MAX_NAME}
    aliases: dict[str, str] = {}
    for name in names:
        if name in taken:
            continue
        base = _UNSAFE.sub("_", name)[:_MAX_NAME] or "tool"
        alias, n = base, 1
        while alias in taken:
            n += 1
            suffix = f"_{n}"
            alias = base[: _MAX_NAME - len(suffix)] + suffix
        taken.add(alias)
        aliases[alias] = name
    return aliases


@dataclass
class _ProviderSafeNames(RenamedToolset[Any]):
    """A `RenamedToolset` whose map is computed from the tools the server lists at each step.

    `name_map` is shared with the runner (same dict object), which reads it to name tools in status lines.
    """

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        listed = await self.wrapped.get_tools(ctx)
        self.name_map.clear()
        self.name_map.update(provider_safe_names(listed))
        return await super().get_tools(ctx)


def restrict_tools(
    toolset: AbstractToolset[Any], patterns: Sequence[str], aliases: dict[str, str]
) -> AbstractToolset[Any]:
    """Wraps `toolset` so the model sees only tools matching `patterns`, under provider-safe names.

    `aliases` ({alias: original}) is filled in place as tools are listed.
    """
    allowed = tuple(patterns)
    filtered = toolset.filtered(lambda _ctx, tool_def: matches_any(tool_def.name, allowed))
    return _ProviderSafeNames(wrapped=filtered, name_map=aliases)
