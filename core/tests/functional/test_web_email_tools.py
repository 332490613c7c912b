"""The built-in web and email tool servers, called through the core's /mcp with the official client.

web.fetch must refuse loopback, link-local (cloud metadata), private and other non-public addresses
before any connection is made, also behind a DNS name or a redirect, unless the config allows the
exact host; email.send must reach only allowlisted recipients, with correct headers, once per
idempotency key. Fixture servers: a local HTTP site, TCP listeners that count connection attempts,
a fake Hacker News API and a real aiosmtpd SMTP server, all on loopback. Nothing here sends traffic
to 10.0.0.0/8 or 169.254.0.0/16: those refusals must happen before connecting, and the tests only
need them to be fast and to say so. Also the fallback of part 7: a chat whose web fetch fails falls
back to local documents, says so, and the run records used_fallback.

Policy: the risk policy tiers email.* (high) and web.* (medium) are set to low here, so calls as
the owner run without an approval; approvals are tested in their own module.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from steward_harness import REPO, ServerSpec, StewardServer, base_config, events_of, text_of

CORPUS = REPO / "config" / "corpus"
HN_FIXTURE = REPO / "config" / "feeds" / "hn_top.json"

PAGE = """<!DOCTYPE html>
<html><head><title>Steward test page</title>
<style>body { display: none }</style><script>document.write("SCRIPT-TEXT")</script></head>
<body><h1>Readable heading</h1><p>The first paragraph &amp; its entity.</p>
<ul><li>alpha</li><li>beta</li></ul></body></html>"""


# --- fixture servers --------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Site:
    """A local HTTP site on 127.0.0.1 (the one host the config allows), recording each request path."""

    def __init__(self, redirects: dict[str, str]) -> None:
        self.paths: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.paths.append(self.path)
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/page"):
                    body = PAGE.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                elif self.path == "/image":
                    body = b"\x89PNG\r\n\x1a\n" + bytes(100)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                else:
                    body = b"not here"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ConnectionCounter:
    """A TCP listener that counts every connection made to it (and answers nothing)."""

    def __init__(self, host: str) -> None:
        self.accepted = 0
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


class FakeHackerNews:
    """The two Firebase endpoints web.hn_top reads; `down` makes every answer a 503."""

    def __init__(self) -> None:
        self.down = False
        self.requests = 0
        fake = self
        stories = {
            i: {
                "id": i,
                "type": "story",
                "title": f"Live story {i}",
                "url": f"https://example.com/{i}",
                "score": 100 - i,
                "descendants": i,
                "by": "tester",
                "time": 1700000000 + i,
            }
            for i in range(1, 6)
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests += 1
                if fake.down:
                    body, status = b"down", 503
                elif self.path == "/v0/topstories.json":
                    body, status = json.dumps(sorted(stories)).encode(), 200
                elif self.path.startswith("/v0/item/"):
                    item = stories.get(int(self.path.rsplit("/", 1)[1].removesuffix(".json")))
                    body, status = json.dumps(item).encode(), 200
                else:
                    body, status = b"{}", 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class SmtpSink:
    """aiosmtpd handler: records every message and every EHLO (any client session says EHLO first)."""

    messages: list[Received] = field(default_factory=list)
    ehlos: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.ehlos += 1
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted"


# --- module fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    victim = ConnectionCounter("127.0.0.2")
    s = Site(
        {
            "/to-loopback": f"http://127.0.0.2:{victim.port}/",
            "/to-metadata": "http://169.254.169.254/latest/",
            "/to-page": "/page?via=redirect",
            "/to-file": "file:///etc/passwd",
        }
    )
    s.victim = victim  # type: ignore[attr-defined]
    yield s
    s.close()
    victim.close()


@pytest.fixture(scope="module")
def loopback_counter() -> Iterator[ConnectionCounter]:
    counter = ConnectionCounter("127.0.0.1")
    yield counter
    counter.close()


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture(scope="module")
def steward_spec(site: Site, smtp: tuple[SmtpSink, int]) -> ServerSpec:
    _, smtp_port = smtp
    config = base_config(None)
    config["tools"] = {
        "web": {
            "corpus": str(CORPUS),
            "hn_fixture": str(HN_FIXTURE),
            "offline": True,
            "allow_hosts": [f"127.0.0.1:{site.port}"],
            "timeout_s": 10,
        },
        "email": {
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
            "from": "Steward <steward@example.com>",
            "allow_recipients": ["*@example.com", "me@x.org"],
            "timeout_s": 10,
        },
    }
    config["policy"] = {"tiers": {"email.*": "low", "web.*": "low"}}
    config["agents"]["fallbacker"] = {
        "runner": "pydantic_ai",
        "model": "offline",
        "risk_threshold": "medium",
        "tools": ["web.fetch", "memory.*"],
        "system_prompt": "Answer with the tools you have; cite sources.",
    }
    return ServerSpec(config)


# --- helpers ------------------------------------------------------------------------------------------


@asynccontextmanager
async def mcp_session(steward: StewardServer) -> AsyncIterator[Any]:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {steward.token}"}, timeout=60) as http,
        streamable_http_client(f"{steward.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@dataclass
class ToolOutcome:
    is_error: bool
    text: str
    structured: dict[str, Any] | None
    seconds: float


def call(steward: StewardServer, name: str, arguments: dict[str, Any]) -> ToolOutcome:
    """One tools/call through /mcp with the owner token."""

    async def run() -> ToolOutcome:
        async with mcp_session(steward) as session:
            started = time.monotonic()
            result = await session.call_tool(name, arguments)
            elapsed = time.monotonic() - started
            text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
            return ToolOutcome(bool(result.is_error), text, result.structured_content, elapsed)

    return asyncio.run(run())


def outbox(steward: StewardServer, where: str = "true") -> list[dict[str, Any]]:
    return steward.query(
        f"SELECT id, idempotency_key, status, to_addrs, subject, error FROM email_outbox "
        f"WHERE {where} ORDER BY id"
    )


# --- web.search / web.hn_top ----------------------------------------------------------------------------


def test_web_and_email_tools_are_listed(steward: StewardServer) -> None:
    async def run() -> dict[str, Any]:
        async with mcp_session(steward) as session:
            return {t.name: t for t in (await session.list_tools()).tools}

    tools = asyncio.run(run())
    for name in ("web.search", "web.fetch", "web.hn_top", "email.send", "email.draft"):
        assert name in tools, sorted(tools)
    assert tools["web.fetch"].input_schema["required"] == ["url"]
    assert tools["email.send"].input_schema["required"] == ["to", "subject", "body"]


def test_search_local_returns_corpus_documents(steward: StewardServer) -> None:
    got = call(steward, "web.search", {"query": "postgresql full text search", "limit": 3})
    assert not got.is_error, got.text
    assert got.structured is not None
    results = got.structured["results"]
    assert got.structured["backend"] == "local"
    assert 1 <= len(results) <= 3
    assert results[0]["title"] == "PostgreSQL full-text search"
    assert results[0]["url"] == "https://www.postgresql.org/docs/current/textsearch.html"
    assert "tsvector" in results[0]["content"]
    assert "PostgreSQL full-text search" in got.text


def test_search_with_no_match_is_an_empty_result_not_an_error(steward: StewardServer) -> None:
    got = call(steward, "web.search", {"query": "zzyzx qwxv"})
    assert not got.is_error
    assert got.structured is not None
    assert got.structured["results"] == []


def test_hn_top_offline_returns_the_fixture_stories(steward: StewardServer) -> None:
    got = call(steward, "web.hn_top", {"limit": 5})
    assert not got.is_error, got.text
    assert got.structured is not None
    assert got.structured["source"] == "fixture"
    fixture = json.loads(HN_FIXTURE.read_text())["stories"]
    assert [s["title"] for s in got.structured["stories"]] == [s["title"] for s in fixture[:5]]
    assert "offline" in got.text


def test_hn_top_reads_the_live_api_and_falls_back_to_the_shipped_feed_when_down(launcher: Any) -> None:
    fake = FakeHackerNews()
    try:
        config = base_config(None)
        # No corpus or hn_fixture: the ones shipped in config/ are found next to the binary.
        config["tools"] = {"web": {"hn_base_url": fake.url}}
        config["policy"] = {"tiers": {"web.*": "low"}}
        server = launcher.launch(ServerSpec(config))
        live = call(server, "web.hn_top", {"limit": 3})
        assert not live.is_error, live.text
        assert live.structured is not None
        assert live.structured["source"] == "live"
        titles = [s["title"] for s in live.structured["stories"]]
        assert titles == ["Live story 1", "Live story 2", "Live story 3"]
        assert fake.requests == 4  # the id list, then one item per story

        fake.down = True
        down = call(server, "web.hn_top", {"limit": 3})
        assert not down.is_error, down.text
        assert down.structured is not None
        assert down.structured["source"] == "fixture"
        assert "503" in down.structured["reason"]

        shipped = call(server, "web.search", {"query": "pgvector"})
        assert shipped.structured is not None
        assert shipped.structured["results"][0]["url"] == "https://github.com/pgvector/pgvector"
    finally:
        fake.close()


# --- web.fetch ----------------------------------------------------------------------------------------


def test_fetch_of_an_allowed_local_page_returns_readable_text(steward: StewardServer, site: Site) -> None:
    got = call(steward, "web.fetch", {"url": f"{site.url}/page"})
    assert not got.is_error, got.text
    assert got.structured is not None
    page = got.structured["pages"][0]
    assert page["title"] == "Steward test page"
    assert page["status"] == 200
    assert page["content"] == "Readable heading\n\nThe first paragraph & its entity.\n\n- alpha\n- beta"
    assert "SCRIPT-TEXT" not in got.text
    assert "display" not in got.text
    assert "/page" in site.paths


def test_fetch_cuts_long_text_at_max_bytes(steward: StewardServer, site: Site) -> None:
    got = call(steward, "web.fetch", {"url": f"{site.url}/page", "max_bytes": 20})
    assert not got.is_error, got.text
    assert got.structured is not None
    page = got.structured["pages"][0]
    assert page["truncated"] is True
    assert len(page["content"].encode()) <= 20


def test_fetch_follows_a_redirect_within_the_allowed_host(steward: StewardServer, site: Site) -> None:
    got = call(steward, "web.fetch", {"url": f"{site.url}/to-page"})
    assert not got.is_error, got.text
    assert got.structured is not None
    assert got.structured["pages"][0]["final_url"] == f"{site.url}/page?via=redirect"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_fetch_of_loopback_is_refused_without_connecting(
    steward: StewardServer, loopback_counter: ConnectionCounter, host: str
) -> None:
    before = loopback_counter.accepted
    got = call(steward, "web.fetch", {"url": f"http://{host}:{loopback_counter.port}/"})
    assert got.is_error
    assert got.text.startswith("permission_denied:"), got.text
    assert "allow_hosts" in got.text
    time.sleep(0.3)  # a connection would have been accepted by now
    assert loopback_counter.accepted == before, f"{host}: the refused address was connected to"


@pytest.mark.parametrize(
    ("url", "range_word"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://10.255.1.2:8080/admin", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade"),
        ("http://[fd00::1]/", "unique-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://224.0.0.1/", "multicast"),
    ],
)
def test_fetch_of_private_and_metadata_addresses_is_refused_before_connecting(
    steward: StewardServer, url: str, range_word: str
) -> None:
    got = call(steward, "web.fetch", {"url": url})
    assert got.is_error
    assert got.text.startswith("permission_denied:"), got.text
    assert range_word in got.text
    assert "Nothing was sent" in got.text
    # A connection attempt to an address that does not answer would take seconds; a refusal none.
    assert got.seconds < 2, f"{url} took {got.seconds:.1f} s: was a connection attempted?"


def test_redirect_to_a_refused_address_is_refused(steward: StewardServer, site: Site) -> None:
    victim: ConnectionCounter = site.victim  # type: ignore[attr-defined]
    got = call(steward, "web.fetch", {"url": f"{site.url}/to-loopback"})
    assert got.is_error
    assert got.text.startswith("permission_denied:"), got.text
    assert "127.0.0.2" in got.text
    time.sleep(0.3)
    assert victim.accepted == 0, "the redirect target was connected to"

    meta = call(steward, "web.fetch", {"url": f"{site.url}/to-metadata"})
    assert meta.is_error, meta.text
    assert "169.254.169.254" in meta.text, meta.text
    assert meta.seconds < 2


def test_fetch_refuses_other_schemes_and_non_text(steward: StewardServer, site: Site) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/", "not a url"):
        got = call(steward, "web.fetch", {"url": url})
        assert got.is_error, (url, got.text)
        assert got.text.startswith("invalid_argument:"), (url, got.text)
    redirected = call(steward, "web.fetch", {"url": f"{site.url}/to-file"})
    assert redirected.is_error, redirected.text
    assert "file" in redirected.text, redirected.text
    image = call(steward, "web.fetch", {"url": f"{site.url}/image"})
    assert image.is_error, image.text
    assert "image/png" in image.text, image.text
    missing = call(steward, "web.fetch", {"url": f"{site.url}/missing"})
    assert missing.is_error, missing.text
    assert "404" in missing.text, missing.text


# --- email ----------------------------------------------------------------------------------------------


def test_send_reaches_the_smtp_server_with_correct_headers(
    steward: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    sink, _ = smtp
    before = len(sink.messages)
    subject = "Résumé ☕ of the week"
    body = "Hello Ana,\n\nthree stories today.\n.\nA line with only a dot, above.\n"
    got = call(
        steward,
        "email.send",
        {
            "to": ["Ana Lima <ana@example.com>", "me@x.org"],
            "cc": ["bob@example.com"],
            "subject": subject,
            "body": body,
        },
    )
    assert not got.is_error, got.text
    assert len(sink.messages) == before + 1
    received = sink.messages[-1]
    assert received.mail_from == "steward@example.com"
    assert sorted(received.rcpt_tos) == ["ana@example.com", "bob@example.com", "me@x.org"]
    msg = received.message
    assert msg["Subject"] == subject
    assert str(msg["From"]) == "Steward <steward@example.com>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.com", "me@x.org"]
    assert msg["To"].addresses[0].display_name == "Ana Lima"
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["bob@example.com"]
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    date = email.utils.parsedate_to_datetime(msg["Date"])
    assert abs(date.timestamp() - time.time()) < 120
    assert msg["Message-ID"].startswith("<")
    assert msg["Message-ID"].endswith("@example.com>")
    assert got.structured is not None
    assert got.structured["message_id"] == msg["Message-ID"]
    assert msg.get_content().replace("\r\n", "\n") == body
    assert msg["Bcc"] is None
    row = outbox(steward, f"id = {got.structured['id']}")[0]
    assert row["status"] == "sent"


def test_send_with_html_is_multipart_alternative(steward: StewardServer, smtp: tuple[SmtpSink, int]) -> None:
    sink, _ = smtp
    got = call(
        steward,
        "email.send",
        {
            "to": ["ana@example.com"],
            "subject": "Digest",
            "body": "plain text",
            "html": "<p>rich <b>text</b></p>",
        },
    )
    assert not got.is_error, got.text
    msg = sink.messages[-1].message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(preferencelist=("plain",)).get_content().strip() == "plain text"
    assert msg.get_body(preferencelist=("html",)).get_content().strip() == "<p>rich <b>text</b></p>"


@pytest.mark.parametrize(
    "recipients",
    [
        {"to": ["stranger@evil.org"]},
        {"to": ["ana@example.com"], "cc": ["spy@evil.org"]},
        {"to": ["ana@example.com.evil.org"]},
        {"to": ["you@x.org"]},
    ],
)
def test_send_to_a_recipient_outside_the_allowlist_sends_nothing(
    steward: StewardServer, smtp: tuple[SmtpSink, int], recipients: dict[str, list[str]]
) -> None:
    sink, _ = smtp
    messages, ehlos = len(sink.messages), sink.ehlos
    rows = len(outbox(steward))
    got = call(steward, "email.send", {**recipients, "subject": "Hi", "body": "Secret"})
    assert got.is_error
    assert got.text.startswith("permission_denied:"), got.text
    assert "allow_recipients" in got.text
    time.sleep(0.3)
    assert len(sink.messages) == messages, "a refused message reached the SMTP server"
    assert sink.ehlos == ehlos, "the SMTP server was connected to for a refused message"
    assert len(outbox(steward)) == rows


def test_header_injection_through_the_subject_or_addresses_is_neutralised(
    steward: StewardServer, smtp: tuple[SmtpSink, int]
) -> None:
    sink, _ = smtp
    got = call(
        steward, "email.send", {"to": ["ana@example.com"], "subject": "Hi\r\nBcc: spy@evil.org", "body": "x"}
    )
    assert not got.is_error, got.text
    received = sink.messages[-1]
    assert received.rcpt_tos == ["ana@example.com"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Hi  Bcc: spy@evil.org"

    before = len(sink.messages)
    bad = call(
        steward,
        "email.send",
        {"to": ["ana@example.com\r\nRCPT TO:<spy@evil.org>"], "subject": "x", "body": "x"},
    )
    assert bad.is_error, bad.text
    assert bad.text.startswith("invalid_argument:"), bad.text
    assert len(sink.messages) == before


def test_the_same_idempotency_key_sends_once(steward: StewardServer, smtp: tuple[SmtpSink, int]) -> None:
    sink, _ = smtp
    key = f"digest-{uuid.uuid4()}"
    args = {"to": ["ana@example.com"], "subject": "Once only", "body": "x", "idempotency_key": key}
    before = len(sink.messages)
    first = call(steward, "email.send", args)
    second = call(steward, "email.send", args)
    assert not first.is_error, (first.text, second.text)
    assert not second.is_error, (first.text, second.text)
    assert len(sink.messages) == before + 1
    assert first.structured is not None
    assert second.structured is not None
    assert first.structured["duplicate"] is False
    assert second.structured["duplicate"] is True
    assert second.structured["id"] == first.structured["id"]
    assert "not sent again" in second.text
    rows = outbox(steward, f"idempotency_key = '{key}'")
    assert [r["status"] for r in rows] == ["sent"]


def test_draft_is_stored_and_not_sent(steward: StewardServer, smtp: tuple[SmtpSink, int]) -> None:
    sink, _ = smtp
    messages, ehlos = len(sink.messages), sink.ehlos
    draft = {"to": ["stranger@evil.org"], "subject": "Draft only", "body": "later"}
    got = call(steward, "email.draft", draft)
    assert not got.is_error, got.text
    assert got.structured is not None
    assert got.structured["status"] == "draft"
    assert "email.send would refuse stranger@evil.org" in got.text
    row = outbox(steward, f"id = {got.structured['id']}")[0]
    assert row["status"] == "draft"
    assert row["to_addrs"] == ["stranger@evil.org"]
    time.sleep(0.2)
    assert len(sink.messages) == messages
    assert sink.ehlos == ehlos


# --- fallback (web down -> local documents) --------------------------------------------------------------


def test_a_failed_fetch_falls_back_to_local_documents_and_the_run_records_it(steward: StewardServer) -> None:
    saved = call(
        steward,
        "memory.remember",
        {
            "title": "Postgres indexing tips",
            "content": (
                "Postgres indexing tips: use EXPLAIN ANALYZE before adding an index, "
                "and prefer partial indexes for hot subsets."
            ),
        },
    )
    assert not saved.is_error, saved.text

    events = steward.chat(
        "Fetch http://10.0.0.1/tips and summarize the postgres indexing tips", agent="fallbacker", timeout=90
    )
    results = events_of(events, "tool_result")
    assert [(r["tool"], r["ok"]) for r in results] == [("web.fetch", False), ("memory.search", True)], results
    statuses = [e["text"] for e in events_of(events, "status")]
    assert any(s.startswith("fetching 10.0.0.1") for s in statuses), statuses
    answer = text_of(events)
    assert "used fallback: local documents" in answer, answer
    assert "EXPLAIN ANALYZE" in answer
    done = events_of(events, "done")[0]
    assert done["factors"]["used_fallback"] is True, done
    run_id = events_of(events, "session")[0]["run_id"]
    stats = steward.query(f"SELECT stats FROM run WHERE id = '{run_id}'")[0]["stats"]
    assert stats["used_fallback"] is True
