"""The critique of a draft answer: fixed rules, so a refine loop is decided the same way every time.

A draft passes when it is not empty, cites at least `min_sources` different sources by number ([n], each
an existing source), the search found at least that many, and, when sources disagree, it says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, TypedDict

from .conflicts import Conflict
from .sources import Source

__all__ = ["Critique", "cited_numbers", "critique", "extractive_answer"]

_CITATION: Final = re.compile(r"\[(\d{1,3})\]")
_DISAGREEMENT: Final = re.compile(
    r"disagree|conflict|contradict|differ|inconsistent|discrepan|\bvs\.?\b|whereas|while others",
    re.IGNORECASE,
)
_SENTENCE: Final = re.compile(r"(?<=[.!?])\s+|\n+")


class Critique(TypedDict):
    passed: bool
    issues: list[str]
    cited: list[int]


def cited_numbers(text: str) -> list[int]:
    """The citation numbers in `text`, in order of first use."""
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(text):
        seen.setdefault(int(match[1]), None)
    return list(seen)


def critique(
    draft: str, sources: Sequence[Source], conflicts: Sequence[Conflict], *, min_sources: int
) -> Critique:
    """Checks `draft` against the rules above; `issues` says what is wrong, for the next attempt."""
    issues: list[str] = []
    numbers = {source["n"] for source in sources}
    cited = cited_numbers(draft)
    valid = [n for n in cited if n in numbers]
    invalid = [n for n in cited if n not in numbers]
    if not draft.strip():
        issues.append("the draft is empty")
    elif not cited:
        issues.append("missing citations: no claim cites a source as [n]")
    if invalid:
        issues.append("cites " + ", ".join(f"[{n}]" for n in invalid) + ", which are not sources")
    if len(sources) < min_sources:
        issues.append(f"too few sources: {len(sources)} found, at least {min_sources} wanted")
    elif cited and len(valid) < min_sources:
        issues.append(f"cites only {len(valid)} source(s), at least {min_sources} wanted")
    if conflicts and draft.strip() and not _DISAGREEMENT.search(draft):
        issues.append(f"does not say that {len(conflicts)} source disagreement(s) exist")
    return Critique(passed=not issues, issues=issues, cited=valid)


def _terms(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if len(word) > 3}


def extractive_answer(question: str, sources: Sequence[Source], *, limit: int = 3) -> str:
    """A cited answer built from the sources alone: from each of the best `limit` sources, the sentence
    sharing most words with the question. Used when no model draft passed the critique."""
    terms = _terms(question)
    lines: list[str] = []
    for source in sources[:limit]:
        sentences = [s.strip() for s in _SENTENCE.split(source["content"]) if len(s.strip()) > 20]
        if not sentences:
            continue
        best = max(sentences, key=lambda s: (len(terms & _terms(s)), -sentences.index(s)))
        lines.append(f"- {best.rstrip()} [{source['n']}]")
    return "\n".join(lines)
