"""The research digest: research results rendered as Markdown and HTML with numbered citations.

Deterministic (no model): the same results always give the same digest. Citations are renumbered across
the whole digest, so [3] means the same source everywhere, and each topic's answer keeps pointing at the
right one. Input: a list of research results (the `data` of a research run, or a workflow step output
{"text", "data"} holding one), or of plain strings.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

__all__ = ["Digest", "format_digest", "research_items"]

_CITATION: Final = re.compile(r"\[(\d{1,3})\]")
_BULLET: Final = re.compile(r"^\s*[-*]\s+")


class Digest(TypedDict):
    subject: str
    markdown: str
    html: str
    topics: int
    sources: int


class _Item(TypedDict):
    question: str
    answer: str
    sources: list[dict[str, Any]]
    notes: list[str]


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                return json.loads(text)
            except ValueError:
                return value
    return value


def research_items(value: Any) -> list[_Item]:
    """The research results in `value` (see the module doc), in order; anything unusable is skipped."""
    value = _as_json(value)
    if isinstance(value, Mapping):
        for key in ("results", "items", "topics"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            value = [value]
    if not isinstance(value, list):
        value = [value]
    items: list[_Item] = []
    for raw in value:
        entry = _as_json(raw)
        if isinstance(entry, Mapping) and isinstance(entry.get("data"), Mapping):
            text = entry.get("text")
            entry = {**entry["data"], **({"text": text} if isinstance(text, str) else {})}
        if isinstance(entry, Mapping):
            answer = entry.get("answer") if isinstance(entry.get("answer"), str) else entry.get("text")
            sources = [dict(s) for s in entry.get("sources") or [] if isinstance(s, Mapping)]
            # What went wrong on the way (a search that was unavailable...); disagreements and the
            # owner's decision are already part of the answer.
            notes = [str(note) for note in entry.get("notes") or [] if isinstance(note, str) and note]
            items.append(
                _Item(
                    question=str(entry.get("question") or entry.get("topic") or "Untitled topic"),
                    answer=str(answer or ""),
                    sources=sources,
                    notes=notes,
                )
            )
        elif isinstance(entry, str) and entry.strip():
            items.append(
                _Item(question=entry.strip().splitlines()[0][:120], answer=entry, sources=[], notes=[])
            )
    return items


def _renumber(numbers: Mapping[int, int], match: re.Match[str]) -> str:
    return f"[{numbers.get(int(match[1]), int(match[1]))}]"


def _source_key(source: Mapping[str, Any]) -> str:
    return str(source.get("url") or source.get("ref") or source.get("title") or "")


def format_digest(results: Any, *, title: str = "Daily research digest", date: str | None = None) -> Digest:
    """Renders `results` (see `research_items`) as one digest."""
    day = date or datetime.now(UTC).date().isoformat()
    items = research_items(results)
    numbering: dict[str, int] = {}
    catalogue: list[dict[str, Any]] = []
    rendered: list[tuple[_Item, str]] = []
    for item in items:
        local: dict[int, int] = {}
        for source in item["sources"]:
            key = _source_key(source)
            if key not in numbering:
                numbering[key] = len(catalogue) + 1
                catalogue.append(source)
            local_n = source.get("n")
            if isinstance(local_n, int):
                local[local_n] = numbering[key]
        renumber = functools.partial(_renumber, local)
        answer = _CITATION.sub(renumber, item["answer"]).strip()
        notes = [_CITATION.sub(renumber, note) for note in item["notes"]]
        rendered.append((_Item(**{**item, "notes": notes}), answer))

    subject = f"{title} — {day}: " + (
        ", ".join(item["question"] for item in items[:3]) + (" …" if len(items) > 3 else "")
        if items
        else "nothing to report"
    )
    md: list[str] = [f"# {title} — {day}", ""]
    if not items:
        md.append("No topics were researched today.")
    for index, (item, answer) in enumerate(rendered, start=1):
        md += [f"## {index}. {item['question']}", "", answer or "_No answer._", ""]
        md += [f"> {note}" for note in item["notes"]]
        if item["notes"]:
            md.append("")
    if catalogue:
        md += ["## Sources", ""]
        for n, source in enumerate(catalogue, start=1):
            origin = " (memory)" if source.get("origin") == "memory" else ""
            url = source.get("url") or ""
            md.append(f"[{n}] {source.get('title') or url}{origin}" + (f" — {url}" if url else ""))
    markdown = "\n".join(md).rstrip() + "\n"
    return Digest(
        subject=subject[:200],
        markdown=markdown,
        html=_html(title, day, rendered, catalogue),
        topics=len(items),
        sources=len(catalogue),
    )


def _inline(text: str) -> str:
    """Escaped text with [n] turned into links to the source list."""
    return _CITATION.sub(lambda m: f'<a href="#src-{m[1]}">[{m[1]}]</a>', html.escape(text))


def _paragraphs(answer: str) -> str:
    out: list[str] = []
    bullets: list[str] = []
    for line in answer.splitlines():
        if _BULLET.match(line):
            bullets.append(f"<li>{_inline(_BULLET.sub('', line))}</li>")
            continue
        if bullets:
            out.append("<ul>" + "".join(bullets) + "</ul>")
            bullets = []
        if line.strip():
            out.append(f"<p>{_inline(line.strip())}</p>")
    if bullets:
        out.append("<ul>" + "".join(bullets) + "</ul>")
    return "\n".join(out) or "<p><em>No answer.</em></p>"


def _html(
    title: str, day: str, rendered: Sequence[tuple[_Item, str]], catalogue: Sequence[Mapping[str, Any]]
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)} — {html.escape(day)}</title></head><body>",
        f"<h1>{html.escape(title)} — {html.escape(day)}</h1>",
    ]
    if not rendered:
        parts.append("<p>No topics were researched today.</p>")
    for index, (item, answer) in enumerate(rendered, start=1):
        parts.append(f"<h2>{index}. {html.escape(item['question'])}</h2>")
        parts.append(_paragraphs(answer))
        parts += [f"<blockquote>{_inline(note)}</blockquote>" for note in item["notes"]]
    if catalogue:
        parts.append("<h2>Sources</h2><ol>")
        for n, source in enumerate(catalogue, start=1):
            url = str(source.get("url") or "")
            label = html.escape(str(source.get("title") or url))
            origin = " (memory)" if source.get("origin") == "memory" else ""
            link = (
                f' — <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>'
                if url.startswith(("http://", "https://"))
                else (f" — {html.escape(url)}" if url else "")
            )
            parts.append(f'<li id="src-{n}">{label}{origin}{link}</li>')
        parts.append("</ol>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
