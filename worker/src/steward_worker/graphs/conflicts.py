"""Conflict detection between sources: the same fact about the same thing, stated differently.

Deterministic and deliberately narrow (a claim is only extracted when a sentence has one of a few fixed
shapes), so a conflict it reports is real and the same sources always give the same report:

- events with a year: "<Entity> was released in 2019", "<Entity> (first) launched on March 3, 2021";
- counts: "<Entity> has 12,000 stars", "<Entity> reached 3 million users" (k/m/million/billion scaled);
- versions: "the latest version of <Entity> is 2.1", "<Entity>'s current version is v3.0".

Entities compare case-insensitively without a leading "the". Two sources disagree when they give different
values for the same (entity, attribute); one source contradicting itself is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, TypedDict

from .sources import Source

__all__ = ["Claim", "Conflict", "ConflictValue", "describe", "detect_conflicts", "extract_claims"]

_ENTITY: Final = r"(?P<entity>(?:[Tt]he\s+)?[A-Z][\w.+#-]*(?:\s+(?:[A-Z0-9][\w.+#-]*|of|for|and)){0,4})"
# Between the entity and the verb: "(2019)", ", an agent library,", " library".
_GAP: Final = (
    r"(?:\s*\([^)]*\))?(?:,\s[^,]{1,60},)?"
    r"(?:\s+(?:library|framework|project|tool|database|protocol|language|model|company|package|server|app))?"
)
_YEAR_EVENT: Final = re.compile(
    _ENTITY + _GAP + r"\s+(?:was\s+|were\s+|is\s+|has\s+been\s+)?"
    r"(?:first\s+|originally\s+|officially\s+)?"
    r"(?P<attr>released|launched|founded|created|introduced|published|announced|started|open[- ]sourced)"
    r"\s+(?:in|on|during)\s+(?:(?:early|late|mid)[- ])?(?:[A-Z][a-z]+\.?\s+)?"
    r"(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?"
    r"(?P<value>(?:19|20)\d{2})\b"
)
_COUNT: Final = re.compile(
    _ENTITY
    + _GAP
    + r"\s+(?:now\s+|already\s+)?(?:has|had|have|reached|counts|surpassed|passed|exceeds|exceeded)\s+"
    r"(?:over\s+|about\s+|around\s+|nearly\s+|almost\s+|more\s+than\s+|roughly\s+)?"
    r"(?P<value>\d[\d,]*(?:\.\d+)?)\s*(?P<scale>k|m|thousand|million|billion)?\s+"
    r"(?:GitHub\s+|github\s+|active\s+|monthly\s+|weekly\s+|daily\s+|registered\s+)?(?P<attr>[a-z]{3,})\b"
)
_VERSION: Final = re.compile(
    r"(?:[Tt]he\s+)?(?:latest|current|newest|stable)\s+(?:stable\s+)?(?:version|release)\s+of\s+"
    + _ENTITY
    + r"\s+is\s+v?(?P<value>\d+(?:\.\d+)+)"
    r"|"
    + _ENTITY.replace("entity", "entity2")
    + r"(?:'s|\u2019s)\s+(?:latest|current|newest|stable)\s+(?:version|release)\s+is\s+"
    r"v?(?P<value2>\d+(?:\.\d+)+)"
)
_SCALE: Final = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "billion": 1e9}
_SENTENCE: Final = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n+")
_GENERIC_ENTITIES: Final = frozenset(
    {"it", "this", "that", "they", "he", "she", "we", "the project", "the company", "the library", "the tool"}
)


class Claim(TypedDict):
    """One extracted statement: `entity`'s `attribute` is `value`, according to source `source`."""

    entity: str
    attribute: str
    value: str
    source: int  # the source's citation number
    text: str  # the sentence it came from


class ConflictValue(TypedDict):
    value: str
    sources: list[int]


class Conflict(TypedDict):
    """Sources that disagree about one (entity, attribute)."""

    entity: str
    attribute: str
    values: list[ConflictValue]


def _entity_key(entity: str) -> str:
    words = entity.strip().split()
    if words and words[0].lower() == "the":
        words = words[1:]
    return " ".join(words).strip(" ,.;:").lower()


def _entity_label(entity: str) -> str:
    words = entity.strip().split()
    if words and words[0].lower() == "the":
        words = words[1:]
    return " ".join(words).strip(" ,.;:")


def _number(value: str, scale: str | None) -> str:
    number = float(value.replace(",", ""))
    if scale:
        number *= _SCALE[scale.lower()]
    return f"{int(number)}" if number == int(number) else f"{number:g}"


def _attribute(word: str) -> str:
    word = word.lower().replace("-", " ")
    if word in {"launched", "introduced", "published", "announced", "open sourced"}:
        return "released"
    if word in {"created", "started"}:
        return "founded"
    return word


def extract_claims(source: Source) -> list[Claim]:
    """The claims of the fixed shapes in the source's title and content, in order."""
    claims: list[Claim] = []
    text = f"{source['title']}.\n{source['content']}"
    for raw in _SENTENCE.split(text):
        sentence = raw.strip()
        if not sentence:
            continue
        for match in _YEAR_EVENT.finditer(sentence):
            claims.append(
                _claim(match["entity"], _attribute(match["attr"]), match["value"], source, sentence)
            )
        for match in _COUNT.finditer(sentence):
            value = _number(match["value"], match["scale"])
            claims.append(_claim(match["entity"], match["attr"].lower(), value, source, sentence))
        for match in _VERSION.finditer(sentence):
            entity = match["entity"] or match["entity2"]
            value = match["value"] or match["value2"]
            claims.append(_claim(entity, "latest version", value, source, sentence))
    return [claim for claim in claims if claim["entity"] and claim["entity"].lower() not in _GENERIC_ENTITIES]


def _claim(entity: str, attribute: str, value: str, source: Source, sentence: str) -> Claim:
    return Claim(
        entity=_entity_label(entity), attribute=attribute, value=value, source=source["n"], text=sentence
    )


def detect_conflicts(sources: Iterable[Source]) -> tuple[list[Conflict], list[Claim]]:
    """Conflicts between different sources, ordered by entity and attribute, and every claim found."""
    claims = [claim for source in sources for claim in extract_claims(source)]
    grouped: dict[tuple[str, str], dict[str, set[int]]] = {}
    labels: dict[tuple[str, str], str] = {}
    for claim in claims:
        key = (_entity_key(claim["entity"]), claim["attribute"])
        labels.setdefault(key, claim["entity"])
        grouped.setdefault(key, {}).setdefault(claim["value"], set()).add(claim["source"])
    conflicts: list[Conflict] = []
    for key in sorted(grouped):
        values = grouped[key]
        if len(values) < 2:
            continue
        involved = set().union(*values.values())
        if len(involved) < 2:
            continue  # one source saying two things is not a disagreement between sources
        ordered = sorted(values.items(), key=lambda item: (min(item[1]), item[0]))
        conflicts.append(
            Conflict(
                entity=labels[key],
                attribute=key[1],
                values=[ConflictValue(value=value, sources=sorted(ns)) for value, ns in ordered],
            )
        )
    return conflicts, claims


def describe(conflict: Conflict) -> str:
    """One line: "LangGraph released: 2023 [1] vs 2024 [3]"."""
    parts = [
        f"{entry['value']} {''.join(f'[{n}]' for n in entry['sources'])}" for entry in conflict["values"]
    ]
    return f"{conflict['entity']} {conflict['attribute']}: {' vs '.join(parts)}"
