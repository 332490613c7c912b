"""Document ingestion end to end: `steward ingest` and POST /api/ingest through the real binary, on
documents generated here (good ones in every supported format, and a corrupt PDF, an empty file, a
huge single line, Windows-1252 text, a broken symlink and a FIFO), then hybrid search over them.
Embeddings come from the default local model in a worker, so "embedded" counts are real."""

from __future__ import annotations

import os
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from steward_harness import (
    STEWARD_BIN,
    WORKER_PYTHON,
    ServerSpec,
    StewardServer,
    base_config,
    events_of,
    parse_sse_lines,
)

HUGE_LINE_BYTES = 50 * 1024 * 1024  # one line, no newline: read as a prefix, hashed whole
MAX_TEXT_BYTES = 64 * 1024


# --- documents --------------------------------------------------------------------------------


def minimal_pdf(pages: list[list[str]], title: str = "", author: str = "") -> bytes:
    """A valid PDF with a Helvetica text layer and exact xref offsets (no reportlab needed)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(n)) + f"] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        stream = (
            "BT /F1 11 Tf 14 TL 72 760 Td\n" + "".join(f"({esc(line)}) Tj T*\n" for line in lines) + "ET\n"
        )
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}endstream")
    info = (
        "<<"
        + (f" /Title ({esc(title)})" if title else "")
        + (f" /Author ({esc(author)})" if author else "")
        + " >>"
    )
    objects.append(info)
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


def docx(path: Path, paragraphs: list[str], title: str, author: str) -> None:
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paragraphs)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document '
            'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body>{body}</w:body></w:document>",
        )
        z.writestr(
            "docProps/core.xml",
            '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties '
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
            f"<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator>"
            "<dcterms:created>2024-02-03T04:05:06Z</dcterms:created></cp:coreProperties>",
        )


# Each good file and a word only it contains.
GOOD = {
    "notes/plan.md": "azulejo",
    "notes/todo.txt": "kayak",
    "web/garden.html": "heirloom",
    "data/expenses.csv": "umbrella",
    "data/pantry.json": "saffron",
    "docs/census.pdf": "narwhal",
    "docs/memo.docx": "marimba",
    "odd/latin1.txt": "fondue",
    "odd/huge-line.txt": "zeppelin",
}
FAILED = {"odd/corrupt.pdf": "PDF", "odd/broken.md": "broken symbolic link", "odd/pipe.txt": "FIFO"}
SKIPPED = {"odd/empty.txt": "empty"}


def write_tree(root: Path) -> None:
    def put(rel: str, data: bytes | str) -> Path:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    put("notes/plan.md", "---\ntitle: Trip plan\nauthor: Ada\n---\n# Lisbon\nVisit the azulejo museum.\n")
    put("notes/todo.txt", "Renew the passport before the kayak trip.\n")
    put(
        "web/garden.html",
        "<html><head><title>Garden log</title><meta name='author' content='Lin'></head>"
        "<body><h1>June</h1><p>Planted heirloom tomatoes &amp; basil.</p>"
        "<script>hidden()</script></body></html>",
    )
    put("data/expenses.csv", "item,amount\nbicycle,420\numbrella,18\n")
    put("data/pantry.json", '{"title": "Pantry", "shelves": [{"item": "saffron", "qty": 2}]}')
    put(
        "docs/census.pdf",
        minimal_pdf([["Quarterly narwhal census"], ["Belugas on page two"]], "Census", "Marine Lab"),
    )
    (root / "docs").mkdir(parents=True, exist_ok=True)
    docx(root / "docs/memo.docx", ["Budget memo", "The marimba purchase is approved."], "Memo", "Grace")
    put("odd/latin1.txt", "Cr\xe8me br\xfbl\xe9e for the fondue party".encode("cp1252"))
    with (root / "odd/huge-line.txt").open("wb") as f:
        f.write(b"zeppelin ")
        block = b"z" * (1 << 20)
        for _ in range(HUGE_LINE_BYTES // len(block)):
            f.write(block)
    put("odd/corrupt.pdf", b"%PDF-1.4\n" + bytes(range(1, 200)) * 20 + b"\n%%EOF\n")
    put("odd/empty.txt", b"")
    os.symlink("/nonexistent/steward-target.md", root / "odd/broken.md")
    os.mkfifo(root / "odd/pipe.txt")
    put("odd/photo.png", b"\x89PNG\r\n")  # unsupported in a folder: ignored, not failed


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("crawled")
    (d / "inbox.md").write_text("# Inbox\nThe theremin repair is booked for Friday.\n")
    return d


@pytest.fixture(scope="module")
def steward_spec(crawl_dir: Path) -> ServerSpec:
    config = base_config(None)
    config["memory"] = {
        "ingest": {
            "max_text_bytes": MAX_TEXT_BYTES,
            "folders": [{"path": str(crawl_dir), "interval_s": 10, "include": ["*.md"]}],
        }
    }
    return ServerSpec(config)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs-tree"
    root.mkdir()
    write_tree(root)
    return root


def cli(steward: StewardServer, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(steward.home), STEWARD_URL=steward.url, STEWARD_WORKER_PYTHON=WORKER_PYTHON)
    return subprocess.run(
        [STEWARD_BIN, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def ingest_api(
    steward: StewardServer, body: dict[str, Any], timeout: float = 600
) -> list[tuple[str, dict[str, Any]]]:
    with (
        httpx.Client(timeout=httpx.Timeout(timeout, connect=10)) as client,
        client.stream("POST", f"{steward.url}/api/ingest", json=body, headers=steward.headers()) as response,
    ):
        assert response.status_code == 200, response.read()
        return list(parse_sse_lines(response.iter_lines()))


def search(steward: StewardServer, query: str, **params: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{steward.url}/api/memory/search",
        params={"q": query, "limit": "20", **params},
        headers=steward.headers(),
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def sources(steward: StewardServer, query: str) -> list[str]:
    return [r["source"] for r in search(steward, query, mode="fulltext")]


def files_by_path(events: list[tuple[str, dict[str, Any]]], root: Path) -> dict[str, dict[str, Any]]:
    return {str(Path(e["path"]).relative_to(root)): e for e in events_of(events, "ingest_file")}


# --- tests ------------------------------------------------------------------------------------


def test_cli_ingests_every_good_file_reports_every_bad_one_and_exits_1(
    steward: StewardServer, tree: Path
) -> None:
    done = cli(steward, "ingest", str(tree))

    assert done.returncode == 1, done.stderr  # some files failed, but the batch completed
    lines = done.stderr.splitlines()  # not a terminal: one line per file
    for rel in GOOD:
        assert any(line.startswith("added") and line.endswith(rel) for line in lines), (rel, done.stderr)
    for rel, reason in FAILED.items():
        assert any(line.startswith("failed") and rel in line and reason in line for line in lines), (
            rel,
            done.stderr,
        )
    for rel, reason in SKIPPED.items():
        assert any(line.startswith("skipped") and rel in line and reason in line for line in lines), (
            done.stderr
        )
    assert "photo.png" not in done.stderr
    assert (
        f"13 files: {len(GOOD)} added, 0 updated, 0 unchanged, 1 skipped, 3 failed, 0 deleted" in done.stdout
    )

    for rel, word in GOOD.items():
        assert str(tree / rel) in sources(steward, word), (rel, word)
    assert sources(steward, "hidden") == []  # <script> text is not content

    [pdf] = [r for r in search(steward, "narwhal", mode="fulltext") if r["source"].endswith("census.pdf")]
    assert pdf["title"] == "Census"
    meta = pdf["metadata"]
    assert meta["author"] == "Marine Lab"
    assert meta["mime"] == "application/pdf"
    assert meta["pages"] == 2
    assert len(meta["content_hash"]) == 64
    assert meta["path"] == str(tree / "docs/census.pdf")
    [huge] = [
        r for r in search(steward, "zeppelin", mode="fulltext") if r["source"].endswith("huge-line.txt")
    ]
    assert huge["metadata"]["truncated"] is True
    assert huge["metadata"]["size"] == HUGE_LINE_BYTES + len("zeppelin ")
    [latin] = [
        r for r in search(steward, "fondue", mode="fulltext") if r["source"] == str(tree / "odd/latin1.txt")
    ]
    assert latin["metadata"]["encoding"] == "windows-1252"


def test_reingesting_an_unchanged_tree_embeds_nothing(steward: StewardServer, tree: Path) -> None:
    first = ingest_api(steward, {"paths": [str(tree)]})
    [first_done] = events_of(first, "done")
    # Chunks were written (and embedded now, or by the background embedder if the worker was slow).
    assert first_done["summary"]["chunks"] > 0
    # This tree's chunks only: the module's server also crawls crawl_dir in the background, and its
    # first crawl may land between the two counts.
    tree_chunks = (
        "SELECT count(*) AS n FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id "
        f"WHERE i.source LIKE '{tree}/%'"
    )
    chunks_before = steward.query(tree_chunks)[0]["n"]
    assert chunks_before > 0
    ledger_before = steward.query(
        f"SELECT path, content_hash FROM ingested_file WHERE path LIKE '{tree}/%' ORDER BY path"
    )

    again = ingest_api(steward, {"paths": [str(tree)]})

    [summary] = [d["summary"] for d in events_of(again, "done")]
    assert summary["unchanged"] == len(GOOD)
    assert summary["added"] == summary["updated"] == 0
    assert summary["embedded"] == 0
    assert summary["chunks"] == 0
    assert steward.query(tree_chunks)[0]["n"] == chunks_before
    assert (
        steward.query(
            f"SELECT path, content_hash FROM ingested_file WHERE path LIKE '{tree}/%' ORDER BY path"
        )
        == ledger_before
    )
    # The bad files are reported again: a failure is never silently remembered as done.
    files = files_by_path(again, tree)
    assert {rel for rel, f in files.items() if f["status"] == "failed"} == set(FAILED)


def test_a_changed_file_is_reindexed_and_a_deleted_one_marked(steward: StewardServer, tree: Path) -> None:
    ingest_api(steward, {"paths": [str(tree)]})
    (tree / "notes/todo.txt").write_text("Buy a harmonica instead.\n")
    (tree / "docs/census.pdf").unlink()

    events = ingest_api(steward, {"paths": [str(tree)]})

    files = files_by_path(events, tree)
    assert files["notes/todo.txt"]["status"] == "updated"
    assert files["docs/census.pdf"]["status"] == "deleted"
    assert str(tree / "notes/todo.txt") in sources(steward, "harmonica")
    assert str(tree / "notes/todo.txt") not in sources(steward, "kayak")
    assert str(tree / "docs/census.pdf") not in sources(steward, "narwhal")
    # Marked, not removed: the item stays with valid_to set, and the ledger says when it went.
    [item] = steward.query(
        f"SELECT valid_to IS NOT NULL AS retired FROM memory_item WHERE source = '{tree}/docs/census.pdf'"
    )
    assert item["retired"] is True
    [row] = steward.query(
        "SELECT status, deleted_at IS NOT NULL AS gone FROM ingested_file"
        f" WHERE path = '{tree}/docs/census.pdf'"
    )
    assert row == {"status": "deleted", "gone": True}
    assert str(tree / "docs/census.pdf") in [
        r["source"] for r in search(steward, "narwhal", mode="fulltext", include_expired="1")
    ]


def test_a_document_is_searchable_within_5_seconds_of_its_ingest_finishing(
    steward: StewardServer, tmp_path: Path
) -> None:
    note = tmp_path / "fresh.md"
    note.write_text("# Fresh\nThe ocarina lesson moved to Thursday.\n")
    events = ingest_api(steward, {"paths": [str(note)]})
    finished = time.monotonic()
    assert events[-1][0] == "done", events
    while str(note) not in [r["source"] for r in search(steward, "ocarina lesson")]:
        assert time.monotonic() - finished < 5, "not searchable within 5 s"
        time.sleep(0.1)


def test_the_stream_reports_progress_then_files_then_done(steward: StewardServer, tree: Path) -> None:
    events = ingest_api(steward, {"paths": [str(tree / "notes"), str(tree / "web")], "recursive": False})

    names = [name for name, _ in events]
    assert names[0] == "ingest_progress"
    assert names[-1] == "done"
    progress = events_of(events, "ingest_progress")
    assert progress[0] == {"done": 0, "total": 3, "current_path": str(tree / "notes/plan.md")}
    assert progress[-1]["done"] == progress[-1]["total"] == 3
    files = files_by_path(events, tree)
    assert set(files) == {"notes/plan.md", "notes/todo.txt", "web/garden.html"}
    assert all(f["item_id"] > 0 for f in files.values())


@pytest.mark.parametrize(
    ("body", "context"),
    [
        ({}, "paths"),
        ({"paths": "notes"}, "paths"),
        ({"paths": ["relative/dir"]}, "paths[0]"),
        ({"paths": ["/tmp"], "recursive": "yes"}, "recursive"),
        ({"paths": ["/tmp"], "bogus": 1}, "bogus"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    steward: StewardServer, body: dict[str, Any], context: str
) -> None:
    answer = steward.api("POST", "/api/ingest", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["context"] == context


def test_cli_relative_paths_are_resolved_against_the_working_directory(
    steward: StewardServer, tmp_path: Path
) -> None:
    (tmp_path / "rel.txt").write_text("The bassoon reed order shipped.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(STEWARD_HOME=str(steward.home), STEWARD_URL=steward.url)
    done = subprocess.run(
        [STEWARD_BIN, "ingest", "rel.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout
    assert str(tmp_path / "rel.txt") in sources(steward, "bassoon")


def test_the_crawler_ingests_configured_folders_in_the_background(
    steward: StewardServer, crawl_dir: Path
) -> None:
    deadline = time.monotonic() + 60
    while str(crawl_dir / "inbox.md") not in sources(steward, "theremin"):
        assert time.monotonic() < deadline, "the crawler did not ingest the configured folder"
        time.sleep(0.5)
    # A file added later is picked up by the next crawl (interval_s: 10); *.txt is not included.
    (crawl_dir / "later.md").write_text("# Later\nThe cello strings arrived.\n")
    (crawl_dir / "ignored.txt").write_text("The tuba is not included.\n")
    deadline = time.monotonic() + 60
    while str(crawl_dir / "later.md") not in sources(steward, "cello"):
        assert time.monotonic() < deadline, "the crawler did not pick up a new file"
        time.sleep(0.5)
    assert sources(steward, "tuba") == []
