"""Hybrid memory search end to end: the researcher saves a note (memory.remember: chunked, embedded by
the real local model in a worker), GET /api/memory/search finds it with its plan, and
`steward memory search --explain` prints the plan."""

from __future__ import annotations

import os
import subprocess
import time

import httpx

from steward_harness import STEWARD_BIN, StewardServer, events_of


def _search(steward: StewardServer, query: str, **params: str) -> dict:
    answer = httpx.get(
        f"{steward.url}/api/memory/search",
        params={"q": query, **params},
        headers=steward.headers(),
        timeout=180,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_remembered_note_is_found_by_hybrid_search_within_seconds(steward: StewardServer) -> None:
    events = steward.chat("Remember that the spare house key is under the blue flowerpot.", timeout=180)
    saved = [e for e in events_of(events, "tool_call") if e["tool"] == "memory.remember"]
    assert saved, events
    started = time.monotonic()
    answer = _search(steward, "where is the spare key")
    elapsed = time.monotonic() - started
    titles = [r["title"] for r in answer["results"]]
    assert any("spare house key" in t for t in titles), answer
    hit = next(r for r in answer["results"] if "spare house key" in r["title"])
    assert hit["item_id"] > 0
    assert hit["source"].startswith("conversation:")
    assert answer["plan"]["intent"] in {"similar", "filtered", "conversation", "on_date"}
    assert answer["plan"]["paths"][0]["path"] == "fulltext"
    assert elapsed < 120


def test_search_rejects_bad_filters_with_400(steward: StewardServer) -> None:
    answer = httpx.get(
        f"{steward.url}/api/memory/search",
        params={"q": "x", "since": "last tuesday"},
        headers=steward.headers(),
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert "ISO 8601" in answer.text


def test_cli_memory_search_explain_prints_results_and_the_plan(steward: StewardServer) -> None:
    steward.chat("Remember that the boat insurance renews on March 3rd.", timeout=180)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(steward.home), STEWARD_URL=steward.url)
    done = subprocess.run(
        [STEWARD_BIN, "memory", "search", "boat", "insurance", "--explain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "boat insurance" in done.stdout.lower()
    assert "plan: " in done.stdout
    assert "fusion: reciprocal rank fusion" in done.stdout
    assert "-- fulltext" in done.stdout  # the SQL that ran


def test_the_offline_researcher_answers_from_memory_citing_the_item_title(steward: StewardServer) -> None:
    steward.chat("Remember that the wifi password for the cabin is heron-42.", timeout=180)
    events = steward.chat("What is the wifi password for the cabin?", timeout=180)
    tools = [e["tool"] for e in events_of(events, "tool_call")]
    assert "memory.search" in tools, tools
    answer = "".join(e["text"] for e in events_of(events, "token"))
    assert "heron-42" in answer
    # The Sources line cites the memory item by its title and its source (the conversation).
    sources = answer.split("Sources:")[-1].lower()
    assert "the wifi password for the cabin is heron-42 — conversation:" in sources, answer
