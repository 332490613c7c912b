"""The research graph: search → rank → conflicts → synthesize → critique ⟲ refine → escalate → finalize.

    START → search → rank → conflicts → synthesize → critique ─┬─ failed, iterations left → refine → search
                                                                ├─ disagreements → escalate → finalize
                                                                └─ otherwise → finalize → END

- search: memory.search, then web.search, through the core's /mcp (a tool that fails or is not allowed is
  noted and skipped); sources accumulate over iterations.
- rank: dedupe and score (sources.py), keep the best `max_sources`, numbered [1..n].
- conflicts: the same fact stated differently by different sources (conflicts.py).
- synthesize: the model (the core's /v1) drafts a cited answer from the numbered sources, told about the
  disagreements and, after a failed critique, about what was wrong.
- critique: fixed rules (critique.py): citations, enough sources, disagreements mentioned.
- refine: the next iteration, with a broader query when sources were too few (bounded by `max_iterations`).
- escalate: `interrupt()` with the disagreements; the runner turns it into a Steward approval
  (steward.escalate) and resumes the graph with the owner's decision.
- finalize: the answer (the draft if it passed, else an extractive answer from the sources), with the
  disagreements noted, and the sources.

Every node reports progress through `deps.status` ("critique (iteration 1): missing citations"), and runs
inside `deps.node_span`, so iterations show in the run's events and trace. The graph's state holds only
JSON-able values: it is checkpointed after every node (PostgreSQL in production).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, TypedDict, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field

from .conflicts import Conflict, describe, detect_conflicts
from .critique import Critique, critique, extractive_answer
from .sources import Source, from_memory_results, from_web_results, keywords, rank

__all__ = [
    "ResearchContext",
    "ResearchDeps",
    "ResearchSettings",
    "ResearchState",
    "ToolOutcome",
    "build_research_graph",
    "initial_state",
    "result_of",
]

NAME: Final = "research"
_SOURCE_CHARS_IN_PROMPT: Final = 1200

_SYSTEM_PROMPT: Final = (
    "You are a careful research assistant. Answer the question using only the numbered sources given. "
    "Cite every claim with the number of its source in square brackets, like [1] or [2][3]. Use at least "
    "two different sources when there are two. When sources disagree, say so explicitly and cite each side. "
    "Be concise: a short paragraph or a few bullet points."
)


class ResearchSettings(BaseModel):
    """Tunables of one research run (the run's `inputs`, with these defaults)."""

    model_config = ConfigDict(extra="ignore")

    max_iterations: int = Field(default=2, ge=1, le=5)
    min_sources: int = Field(default=2, ge=1, le=10)
    max_sources: int = Field(default=6, ge=1, le=20)
    search_limit: int = Field(default=5, ge=1, le=20)
    escalate: Literal["conflicts", "never"] = "conflicts"
    memory: bool = True
    web: bool = True


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call through /mcp gave: structured content (or None), its text, and whether it failed."""

    ok: bool
    structured: Any
    text: str


class ResearchDeps(Protocol):
    """What the nodes need from the run (the runner provides it; tests may provide their own)."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...

    async def complete(self, messages: list[dict[str, str]]) -> str: ...

    async def status(self, text: str, *, node: str | None = None, iteration: int | None = None) -> None: ...

    def node_span(self, node: str, iteration: int) -> AbstractContextManager[Any]: ...


@dataclass(frozen=True)
class ResearchContext:
    """The graph's run-scoped context (LangGraph `context`, never checkpointed)."""

    deps: ResearchDeps


class ResearchState(TypedDict, total=False):
    question: str
    settings: dict[str, Any]
    iteration: int
    queries: list[str]
    sources: list[Source]  # everything found so far (all iterations)
    ranked: list[Source]
    conflicts: list[Conflict]
    draft: str
    critique: Critique
    notes: list[str]  # what went wrong on the way (a tool unavailable...)
    escalation: dict[str, Any] | None
    answer: str
    withheld: bool


def initial_state(question: str, settings: ResearchSettings) -> ResearchState:
    return ResearchState(
        question=question,
        settings=settings.model_dump(),
        iteration=1,
        queries=[question],
        sources=[],
        ranked=[],
        conflicts=[],
        draft="",
        notes=[],
        escalation=None,
        answer="",
        withheld=False,
    )


def _settings(state: ResearchState) -> ResearchSettings:
    return ResearchSettings.model_validate(state.get("settings") or {})


Node = Callable[[ResearchState, Runtime[ResearchContext]], Awaitable[dict[str, Any]]]


def _traced(name: str, node: Node) -> Node:
    async def run(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
        with runtime.context.deps.node_span(name, state.get("iteration", 1)):
            return await node(state, runtime)

    run.__name__ = name
    return run


async def _report(
    runtime: Runtime[ResearchContext], node: str, state: ResearchState, text: str, *, of: int | None = None
) -> None:
    """A node's progress: "critique (iteration 1): missing citations", plus node and iteration as fields."""
    iteration = state.get("iteration", 1)
    where = f"iteration {iteration}" + (f" of {of}" if of is not None else "")
    await runtime.context.deps.status(f"{node} ({where}): {text}", node=node, iteration=iteration)


# ------------------------------------------------------------------------------------------------- nodes


async def _search(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    deps = runtime.context.deps
    settings = _settings(state)
    query = state.get("queries", [state["question"]])[-1]
    found: list[Source] = list(state.get("sources", []))
    notes = list(state.get("notes", []))
    counts: list[str] = []
    plan = [
        ("memory.search", settings.memory, from_memory_results),
        ("web.search", settings.web, from_web_results),
    ]
    for tool, enabled, parse in plan:
        if not enabled:
            continue
        outcome = await deps.call_tool(tool, {"query": query, "limit": settings.search_limit})
        if not outcome.ok:
            note = f"{tool} failed: {outcome.text.strip()[:200]}"
            if note not in notes:
                notes.append(note)
            counts.append(f"{tool} unavailable")
            continue
        hits = parse(outcome.structured)
        found.extend(hits)
        counts.append(f"{len(hits)} from {tool.split('.')[0]}")
    await _report(runtime, "search", state, f"{'; '.join(counts) or 'no search enabled'} for {query!r}")
    return {"sources": found, "notes": notes}


async def _rank(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    settings = _settings(state)
    found = state.get("sources", [])
    ranked = rank(found, state["question"], limit=settings.max_sources)
    best = f", best: {ranked[0]['title']!r} ({ranked[0]['score']:.2f})" if ranked else ""
    await _report(runtime, "rank", state, f"{len(found)} found, {len(ranked)} kept{best}")
    return {"ranked": ranked}


async def _conflicts(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ranked = state.get("ranked", [])
    conflicts, claims = detect_conflicts(ranked)
    if conflicts:
        text = f"{len(conflicts)} disagreement(s): " + "; ".join(describe(c) for c in conflicts[:3])
    else:
        text = f"none among {len(ranked)} sources ({len(claims)} comparable claims)"
    await _report(runtime, "conflicts", state, text)
    return {"conflicts": conflicts}


def _sources_block(ranked: list[Source]) -> str:
    lines: list[str] = []
    for source in ranked:
        where = source["url"] or source["ref"]
        content = source["content"][:_SOURCE_CHARS_IN_PROMPT]
        lines.append(f"[{source['n']}] {source['title']} ({source['origin']}: {where})\n{content}")
    return "\n\n".join(lines)


async def _synthesize(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ranked = state.get("ranked", [])
    await _report(runtime, "synthesize", state, f"drafting from {len(ranked)} sources")
    parts = [f"Question: {state['question']}", "", "Sources:", _sources_block(ranked) or "(none found)"]
    if state.get("conflicts"):
        parts += ["", "The sources disagree on:"] + [f"- {describe(c)}" for c in state["conflicts"]]
    previous = state.get("critique")
    if previous and not previous["passed"]:
        parts += [
            "",
            "A reviewer rejected the previous draft: " + "; ".join(previous["issues"]) + ". Fix that.",
        ]
    messages = [{"role": "system", "content": _SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]
    draft = await runtime.context.deps.complete(messages)
    return {"draft": draft}


async def _critique(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    settings = _settings(state)
    ranked = state.get("ranked", [])
    verdict = critique(
        state.get("draft", ""), ranked, state.get("conflicts", []), min_sources=min(settings.min_sources, 10)
    )
    iteration = state.get("iteration", 1)
    if verdict["passed"]:
        text = f"passed ({len(verdict['cited'])} sources cited)"
    else:
        last = iteration >= settings.max_iterations
        text = "; ".join(verdict["issues"]) + (" (no iterations left)" if last else " → refine")
    await _report(runtime, "critique", state, text)
    return {"critique": verdict}


def _after_critique(state: ResearchState) -> str:
    settings = _settings(state)
    verdict = state.get("critique")
    if verdict is not None and not verdict["passed"] and state.get("iteration", 1) < settings.max_iterations:
        return "refine"
    if state.get("conflicts") and settings.escalate == "conflicts":
        return "escalate"
    return "finalize"


async def _refine(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    settings = _settings(state)
    iteration = state.get("iteration", 1) + 1
    queries = list(state.get("queries", [state["question"]]))
    issues = state.get("critique", {}).get("issues", [])
    too_few = any(issue.startswith(("too few sources", "cites only")) for issue in issues)
    query = queries[-1]
    if too_few:
        # Broaden: the question's key terms alone, then with words of the best source's title.
        terms = keywords(state["question"])
        candidates = [" ".join(terms)]
        if state.get("ranked"):
            candidates.append(" ".join(dict.fromkeys(terms + keywords(state["ranked"][0]["title"]))))
        query = next((q for q in candidates if q and q not in queries), query)
    queries.append(query)
    why = "; ".join(issues) or "critique failed"
    await _report(
        runtime,
        "refine",
        {**state, "iteration": iteration},
        f"{why}; searching {query!r}",
        of=settings.max_iterations,
    )
    return {"iteration": iteration, "queries": queries}


async def _escalate(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    conflicts = state.get("conflicts", [])
    summaries = [describe(c) for c in conflicts]
    await _report(
        runtime,
        "escalate",
        state,
        f"asking the owner about {len(conflicts)} disagreement(s): {'; '.join(summaries[:3])}",
    )
    decision = interrupt(
        {
            "kind": "source_conflict",
            "title": f"Sources disagree: {summaries[0]}"[:300] if summaries else "Sources disagree",
            "reason": (
                f"Researching {state['question']!r}, the sources disagree on: {'; '.join(summaries)}. "
                "Approve to publish the answer with the disagreement noted; deny to leave this topic out."
            ),
            "question": state["question"],
            "conflicts": [{**c, "summary": s} for c, s in zip(conflicts, summaries, strict=True)],
        }
    )
    if not isinstance(decision, Mapping):
        decision = {"decision": str(decision)}
    return {"escalation": dict(decision)}


async def _finalize(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ranked = state.get("ranked", [])
    verdict = state.get("critique")
    draft = state.get("draft", "").strip()
    if verdict is not None and verdict["passed"]:
        answer, how = draft, "the model's draft"
    else:
        answer = extractive_answer(state["question"], ranked)
        how = "extracted from the sources (no draft passed the critique)"
        if not answer:
            answer = draft or "No sources were found for this question."
    conflicts = state.get("conflicts", [])
    escalation = state.get("escalation") or {}
    decision = str(escalation.get("decision", ""))
    withheld = decision == "denied" and escalation.get("by") == "owner"
    if conflicts:
        note = "Note: the sources disagree on " + "; ".join(describe(c) for c in conflicts) + "."
        if decision == "approved":
            note += " The owner reviewed this and approved publishing it."
        elif decision and not withheld:
            note += f" Not reviewed by the owner ({decision})."
        answer = f"{answer}\n\n{note}"
    if withheld:
        answer = "The owner chose not to publish this topic: its sources disagree."
    await _report(
        runtime, "finalize", state, "withheld by the owner" if withheld else f"{how}, {len(ranked)} sources"
    )
    return {"answer": answer, "withheld": withheld}


def build_research_graph(
    checkpointer: BaseCheckpointSaver[Any] | None,
) -> CompiledStateGraph[ResearchState, ResearchContext, ResearchState, ResearchState]:
    """The compiled graph; `checkpointer` keeps its state per thread (needed for interrupts and resume)."""
    graph = StateGraph(ResearchState, context_schema=ResearchContext)
    for name, node in (
        ("search", _search),
        ("rank", _rank),
        ("conflicts", _conflicts),
        ("synthesize", _synthesize),
        ("critique", _critique),
        ("refine", _refine),
        ("escalate", _escalate),
        ("finalize", _finalize),
    ):
        graph.add_node(name, cast(Any, _traced(name, node)))
    graph.add_edge(START, "search")
    graph.add_edge("search", "rank")
    graph.add_edge("rank", "conflicts")
    graph.add_edge("conflicts", "synthesize")
    graph.add_edge("synthesize", "critique")
    graph.add_conditional_edges("critique", _after_critique, ["refine", "escalate", "finalize"])
    graph.add_edge("refine", "search")
    graph.add_edge("escalate", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer, name=NAME)


def result_of(state: Mapping[str, Any], thread_id: str) -> tuple[str, dict[str, Any]]:
    """The run's answer text (with its sources listed) and its `done.data`."""
    ranked: list[Source] = list(state.get("ranked", []))
    answer = str(state.get("answer", ""))
    sources = [
        {
            "n": s["n"],
            "title": s["title"],
            "url": s["url"],
            "origin": s["origin"],
            "score": s["score"],
            "published": s["published"],
        }
        for s in ranked
    ]
    listing = "\n".join(f"[{s['n']}] {s['title']}" + (f" — {s['url']}" if s["url"] else "") for s in sources)
    text = answer if state.get("withheld") or not listing else f"{answer}\n\nSources:\n{listing}"
    conflicts = [{**c, "summary": describe(c)} for c in state.get("conflicts", [])]
    verdict = state.get("critique") or {}
    data: dict[str, Any] = {
        "graph": NAME,
        "thread_id": thread_id,
        "question": state.get("question", ""),
        "answer": answer,
        "sources": sources,
        "conflicts": conflicts,
        "iterations": state.get("iteration", 1),
        "queries": state.get("queries", []),
        "critique": {"passed": bool(verdict.get("passed")), "issues": list(verdict.get("issues", []))},
        "escalation": state.get("escalation"),
        "withheld": bool(state.get("withheld")),
        "notes": state.get("notes", []),
    }
    json.dumps(data)  # must be JSON-able: it becomes the step's output
    return text, data
