"""The formatter runner: turns research results into a digest, deterministically (no model, no tools).

For the daily_research workflow's "format digest" step: an `agent` step whose agent has `runner: formatter`
and whose message is the research step's output (a JSON array of {text, data} results, or JSON text of it).
A workflow run with orchestrator `formatter` may instead pass {inputs: {results, title?, date?}}.

`done.output` is the Markdown digest; `done.data` is {subject, markdown, html, topics, sources}
(graphs/digest.py), ready for an `email.send` step (subject, body = markdown, html).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..errors import InternalError
from ..graphs.digest import format_digest
from ..protocol import DoneEvent, RunMessage, RunStats, StatusEvent, TokenEvent
from . import Emit

__all__ = ["RUNNER", "FormatterRunner"]


class FormatterRunner:
    """Formats research results as a digest (Markdown and HTML with numbered citations)."""

    @property
    def name(self) -> str:
        return "formatter"

    def versions(self) -> Mapping[str, str]:
        return {}

    async def warm_up(self) -> None:
        format_digest([{"question": "warm up", "answer": "Warm [1].", "sources": [{"n": 1, "title": "w"}]}])

    async def run(self, request: RunMessage, emit: Emit) -> None:
        inputs = request.input.inputs
        results: Any = inputs.get("results", request.input.message)
        if results is None or (isinstance(results, str) and not results.strip()):
            raise InternalError("the formatter needs research results: the message, or inputs.results")
        title = str(inputs.get("title") or "Daily research digest")
        date = str(inputs["date"]) if inputs.get("date") else None
        digest = format_digest(results, title=title, date=date)
        await emit(
            StatusEvent(
                run_id=request.run_id,
                text=f"digest: {digest['topics']} topic(s), {digest['sources']} cited source(s)",
            )
        )
        await emit(TokenEvent(run_id=request.run_id, text=digest["markdown"]))
        await emit(
            DoneEvent(run_id=request.run_id, output=digest["markdown"], stats=RunStats(), data=dict(digest))
        )


RUNNER: Final = FormatterRunner()
