"""Sources the research graph found, and how they are deduplicated and ranked.

Deterministic: the same search results always give the same ranking, so tests and re-runs agree. A
source's score mixes relevance to the question (term overlap), the authority of where it came from
(the owner's own memory first, then known reference sites, then the open web) and recency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final, Literal, TypedDict
from urllib.parse import urlsplit

__all__ = [
    "Source",
    "authority",
    "dedupe",
    "from_memory_results",
    "from_web_results",
    "keywords",
    "normalize_url",
    "rank",
]

Origin = Literal["memory", "web"]

_WORD: Final = re.compile(r"[a-z0-9][a-z0-9+#.-]*[a-z0-9+#]|[a-z0-9]")
_STOPWORD_TEXT: Final = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours latest new news today trending show hn ask
tell explain
"""
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())
# How much a source's origin is trusted, before relevance and recency. The owner's own notes come first;
# then sites that are usually primary or reference sources; an aggregator last.
_MEMORY_AUTHORITY: Final = 1.0
_DEFAULT_WEB_AUTHORITY: Final = 0.6
_DOMAIN_AUTHORITY: Final[Mapping[str, float]] = {
    "wikipedia.org": 0.85,
    "github.com": 0.8,
    "postgresql.org": 0.9,
    "python.org": 0.9,
    "modelcontextprotocol.io": 0.9,
    "arxiv.org": 0.85,
    "news.ycombinator.com": 0.4,
}
_SUFFIX_AUTHORITY: Final[Mapping[str, float]] = {".gov": 0.9, ".edu": 0.85, ".org": 0.7}
_RECENCY_HALF_LIFE_DAYS: Final = 365.0
_UNKNOWN_RECENCY: Final = 0.75
_WEIGHTS: Final = (0.6, 0.25, 0.15)  # relevance, authority, recency


class Source(TypedDict):
    """One document the graph found. `n` is its citation number once ranked (0 before)."""

    n: int
    origin: Origin
    title: str
    url: str
    content: str
    published: str  # ISO date or datetime, "" when unknown
    score: float
    ref: str  # where it came from: "memory:<item id>" or the URL


def keywords(text: str) -> list[str]:
    """The content words of `text`, lowercased, in order, without stopwords or repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS and len(word) > 1:
            seen.setdefault(word, None)
    return list(seen)


def normalize_url(url: str) -> str:
    """A URL reduced to what identifies the page: no scheme, `www.`, fragment or trailing slash."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    if not parts.netloc:
        return url.strip().lower().rstrip("/")
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_memory_results(structured: Any) -> list[Source]:
    """Sources from memory.search's structuredContent: {results: [{item_id, title, source, excerpt...}]}."""
    results = structured.get("results") if isinstance(structured, Mapping) else None
    sources: list[Source] = []
    for hit in results if isinstance(results, list) else []:
        if not isinstance(hit, Mapping):
            continue
        content = _text(hit.get("excerpt")) or _text(hit.get("content"))
        if not content:
            continue
        item = hit.get("item_id", hit.get("id", ""))
        sources.append(
            Source(
                n=0,
                origin="memory",
                title=_text(hit.get("title")) or "untitled note",
                url=_text(hit.get("source")),
                content=content,
                published=_text(hit.get("updated_at")) or _text(hit.get("created_at")),
                score=0.0,
                ref=f"memory:{item}",
            )
        )
    return sources


def from_web_results(structured: Any) -> list[Source]:
    """Sources from web.search's structuredContent ({results: [{title, url, content, published?}]})."""
    results = structured.get("results") if isinstance(structured, Mapping) else None
    sources: list[Source] = []
    for hit in results if isinstance(results, list) else []:
        if not isinstance(hit, Mapping):
            continue
        content = _text(hit.get("content"))
        url = _text(hit.get("url"))
        if not content and not url:
            continue
        published = _text(hit.get("published")) or _text(hit.get("publishedDate"))
        sources.append(
            Source(
                n=0,
                origin="web",
                title=_text(hit.get("title")) or url,
                url=url,
                content=content,
                published=published,
                score=0.0,
                ref=url,
            )
        )
    return sources


def _identity(source: Source) -> str:
    return normalize_url(source["url"]) or f"{source['origin']}:{source['title'].strip().lower()}"


def dedupe(sources: Iterable[Source]) -> list[Source]:
    """One source per page (same normalized URL, or same title without a URL), first seen first; a later
    duplicate with longer content lends it to the first, and memory wins over web for the origin."""
    kept: dict[str, Source] = {}
    for source in sources:
        key = _identity(source)
        first = kept.get(key)
        if first is None:
            kept[key] = Source(**source)
            continue
        if len(source["content"]) > len(first["content"]):
            first["content"] = source["content"]
        if source["origin"] == "memory":
            first["origin"] = "memory"
            first["ref"] = source["ref"]
        if not first["published"]:
            first["published"] = source["published"]
    return list(kept.values())


def authority(source: Source) -> float:
    """How far the source's origin is trusted, 0..1."""
    if source["origin"] == "memory":
        return _MEMORY_AUTHORITY
    host = urlsplit(source["url"]).netloc.lower().removeprefix("www.").split(":")[0]
    if not host:
        return _DEFAULT_WEB_AUTHORITY
    for domain, value in _DOMAIN_AUTHORITY.items():
        if host == domain or host.endswith("." + domain):
            return value
    for suffix, value in _SUFFIX_AUTHORITY.items():
        if host.endswith(suffix):
            return value
    return _DEFAULT_WEB_AUTHORITY


def _published(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return None


def recency(source: Source, today: date) -> float:
    """0.5..1: halves its distance above 0.5 every year of age; unknown dates count as 0.75."""
    published = _published(source["published"])
    if published is None:
        return _UNKNOWN_RECENCY
    age_days = max(0, (today - published).days)
    return 0.5 + 0.5 * math.pow(0.5, age_days / _RECENCY_HALF_LIFE_DAYS)


def relevance(source: Source, terms: Sequence[str]) -> float:
    """The share of the question's terms found in the source's title and content, 0..1."""
    if not terms:
        return 0.0
    words = set(keywords(f"{source['title']} {source['content']}"))
    return sum(1 for term in terms if term in words) / len(terms)


def rank(sources: Iterable[Source], question: str, *, limit: int, today: date | None = None) -> list[Source]:
    """Deduplicated sources scored for `question`, best first, numbered 1..n (at most `limit`).

    Sources sharing no term with the question are dropped unless nothing else is left.
    """
    day = today or datetime.now(UTC).date()
    terms = keywords(question)
    unique = dedupe(sources)
    scored: list[tuple[float, float, Source]] = []
    for source in unique:
        rel = relevance(source, terms)
        w_rel, w_auth, w_rec = _WEIGHTS
        score = round(w_rel * rel + w_auth * authority(source) + w_rec * recency(source, day), 4)
        scored.append((rel, score, Source(**{**source, "score": score})))
    relevant = [entry for entry in scored if entry[0] > 0] or scored
    relevant.sort(key=lambda entry: (-entry[1], entry[2]["title"].lower(), entry[2]["url"]))
    ranked = [entry[2] for entry in relevant[: max(0, limit)]]
    for number, source in enumerate(ranked, start=1):
        source["n"] = number
    return ranked
