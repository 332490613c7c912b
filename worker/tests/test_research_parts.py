"""The deterministic parts of the research graph, without a graph: ranking, conflict detection, the
critique rules and the digest."""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

from steward_worker.graphs.conflicts import describe, detect_conflicts, extract_claims
from steward_worker.graphs.critique import critique, extractive_answer
from steward_worker.graphs.digest import format_digest
from steward_worker.graphs.sources import Source, authority, dedupe, normalize_url, rank


def src(
    n: int,
    content: str,
    *,
    url: str = "",
    title: str = "t",
    origin: Literal["memory", "web"] = "web",
    published: str = "",
) -> Source:
    return Source(
        n=n,
        origin=origin,
        title=title,
        url=url,
        content=content,
        published=published,
        score=0.0,
        ref=url,
    )


def test_urls_are_compared_without_scheme_www_fragment_or_trailing_slash() -> None:
    assert normalize_url("https://www.Example.com/a/#x") == normalize_url("http://example.com/a")
    assert normalize_url("https://example.com/a?b=1") != normalize_url("https://example.com/a")


def test_dedupe_keeps_the_first_with_the_longest_content_and_prefers_memory() -> None:
    web = src(0, "short", url="https://example.com/x")
    memory = src(0, "a much longer text about x", url="http://www.example.com/x/", origin="memory")
    (kept,) = dedupe([web, memory])
    assert kept["content"] == "a much longer text about x"
    assert kept["origin"] == "memory"


def test_rank_prefers_relevant_authoritative_recent_sources_and_numbers_them() -> None:
    today = date(2026, 11, 26)
    sources = [
        src(0, "bread baking", url="https://example.com/bread", title="Sourdough"),
        src(0, "postgres vacuum explained", url="https://news.ycombinator.com/item?id=1", title="Vacuum"),
        src(
            0, "postgres vacuum internals", url="https://www.postgresql.org/docs/vacuum", title="Vacuum docs"
        ),
        src(0, "postgres vacuum notes", title="My vacuum note", origin="memory", published="2026-11-01"),
    ]
    ranked = rank(sources, "How does Postgres vacuum work?", limit=3, today=today)
    assert [s["n"] for s in ranked] == [1, 2, 3]
    assert [s["title"] for s in ranked] == ["My vacuum note", "Vacuum docs", "Vacuum"]
    assert "Sourdough" not in {s["title"] for s in ranked}  # no shared term: dropped
    assert ranked[0]["score"] > ranked[1]["score"] > ranked[2]["score"]
    assert authority(sources[1]) < authority(sources[2])


def test_conflicts_are_found_between_sources_not_within_one() -> None:
    a = src(1, "LangGraph was first released in January 2024. LangGraph has 12,000 stars.")
    b = src(2, "The LangGraph library was released in 2023. LangGraph has 12k GitHub stars.")
    c = src(3, "Zephyr was released in 2019. Zephyr was released in 2020.")  # one source, two values
    conflicts, claims = detect_conflicts([a, b, c])
    assert [describe(x) for x in conflicts] == ["LangGraph released: 2024 [1] vs 2023 [2]"]
    assert {(x["entity"], x["attribute"], x["value"]) for x in claims if x["source"] == 1} == {
        ("LangGraph", "released", "2024"),
        ("LangGraph", "stars", "12000"),
    }


def test_claims_of_versions_and_launches() -> None:
    claims = extract_claims(
        src(1, "The latest version of Foo is 2.1. Bar, a database, was launched on March 3, 2022.")
    )
    assert {(c["entity"], c["attribute"], c["value"]) for c in claims} == {
        ("Foo", "latest version", "2.1"),
        ("Bar", "released", "2022"),
    }


def test_critique_rules() -> None:
    sources = [src(1, "a"), src(2, "b")]
    assert critique("", sources, [], min_sources=2)["issues"] == ["the draft is empty"]
    assert critique("No citations here.", sources, [], min_sources=2)["issues"] == [
        "missing citations: no claim cites a source as [n]"
    ]
    one = critique("Only one [1].", sources, [], min_sources=2)
    assert one["issues"] == ["cites only 1 source(s), at least 2 wanted"]
    assert critique("Bad [7] and [1][2].", sources, [], min_sources=2)["issues"] == [
        "cites [7], which are not sources"
    ]
    assert critique("Fine [1].", [sources[0]], [], min_sources=2)["issues"] == [
        "too few sources: 1 found, at least 2 wanted"
    ]
    conflicts, _ = detect_conflicts([src(1, "X was released in 2020."), src(2, "X was released in 2021.")])
    silent = critique("X came out [1][2].", sources, conflicts, min_sources=2)
    assert silent["issues"] == ["does not say that 1 source disagreement(s) exist"]
    passed = critique("Sources disagree: 2020 [1] vs 2021 [2].", sources, conflicts, min_sources=2)
    assert passed == {"passed": True, "issues": [], "cited": [1, 2]}


def test_extractive_answer_cites_the_best_sentence_of_each_source() -> None:
    sources = [
        src(1, "Intro text that is long enough. Vacuum reclaims storage of dead tuples in Postgres."),
        src(2, "Autovacuum runs vacuum automatically in the background for Postgres tables."),
    ]
    answer = extractive_answer("What does vacuum reclaim in Postgres?", sources)
    assert answer.splitlines() == [
        "- Vacuum reclaims storage of dead tuples in Postgres. [1]",
        "- Autovacuum runs vacuum automatically in the background for Postgres tables. [2]",
    ]


def test_the_digest_renumbers_citations_across_topics() -> None:
    results = [
        {
            "text": "ignored",
            "data": {
                "question": "Topic A",
                "answer": "A is fast [1] and safe [2].",
                "sources": [
                    {"n": 1, "title": "Shared", "url": "https://s.example/x", "origin": "web"},
                    {"n": 2, "title": "Note", "url": "note:a", "origin": "memory"},
                ],
                "notes": ["web.search failed: offline"],
            },
        },
        {
            "text": "ignored",
            "data": {
                "question": "Topic <B>",
                "answer": "- B cites [1] then [2]",
                "sources": [
                    {"n": 1, "title": "Other", "url": "https://o.example", "origin": "web"},
                    {"n": 2, "title": "Shared", "url": "https://s.example/x", "origin": "web"},
                ],
            },
        },
    ]
    digest = format_digest(json.dumps(results), date="2026-11-26")
    assert digest["subject"] == "Daily research digest — 2026-11-26: Topic A, Topic <B>"
    assert digest["topics"] == 2
    assert digest["sources"] == 3
    md = digest["markdown"]
    assert "A is fast [1] and safe [2]." in md
    assert "- B cites [3] then [1]" in md  # the shared source keeps number 1
    assert "> web.search failed: offline" in md
    assert md.endswith(
        "[1] Shared — https://s.example/x\n[2] Note (memory) — note:a\n[3] Other — https://o.example\n"
    )
    html = digest["html"]
    assert "<h2>2. Topic &lt;B&gt;</h2>" in html
    assert '<li>B cites <a href="#src-3">[3]</a> then <a href="#src-1">[1]</a></li>' in html
    assert '<li id="src-3">Other — <a href="https://o.example">https://o.example</a></li>' in html
    assert format_digest([])["markdown"].endswith("No topics were researched today.\n")
