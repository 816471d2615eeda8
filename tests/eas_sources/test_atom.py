"""AtomPoller against a real HTTP server on loopback: an IPAWS-style feed that
changes, answers 304, fails (500, stall, malformed) and links to CAP documents."""

from __future__ import annotations

import asyncio

import httpx

from grimnir.eas import AtomPoller, Backoff, SameMessage, parse_cap
from tests.eas._cap_samples import alert, info
from tests.eas_sources._http import HttpServer, Request, respond

ATOM = "http://www.w3.org/2005/Atom"
A = alert(identifier="urn:a", infos=(info(),))
B = alert(identifier="urn:b", infos=(info(),))
C = alert(identifier="urn:c", infos=(info(),))


def _embedded(data: bytes) -> str:
    return data.decode().split("?>", 1)[1]


def _feed(*entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="{ATOM}"><id>urn:feed</id><title>IPAWS-OPEN</title>
<updated>2026-03-01T18:06:00Z</updated>{"".join(entries)}</feed>""".encode()


def _linked(entry_id: str, href: str) -> str:
    return f"""<entry><id>{entry_id}</id><title>{entry_id}</title>
<updated>2026-03-01T18:05:00Z</updated>
<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>"""


ENTRY_A = f"""<entry><id>urn:entry:a</id><title>A</title><updated>2026-03-01T18:05:00Z</updated>
<content type="text/xml">{_embedded(A)}</content></entry>"""
V1 = _feed(ENTRY_A, _linked("urn:entry:b", "/cap/b.xml"))
V2 = _feed(
    ENTRY_A,
    _linked("urn:entry:b", "/cap/b.xml"),
    _linked("urn:entry:c", "/cap/c.xml"),
    _linked("urn:entry:d", "/cap/malformed.xml"),
    _linked("urn:entry:e", "/cap/huge.xml"),
)


class FeedScript:
    """The feed's answers, request by request, and what the poller looked like then."""

    def __init__(self) -> None:
        self.feed_requests: list[Request] = []
        self.doc_requests: list[str] = []
        self.retry_seen: list[float | None] = []
        self.poller: AtomPoller | None = None
        self.c_failures = 1
        self.done = asyncio.Event()

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path.startswith("/cap/"):
            await self._document(request.path, writer)
            return
        self.feed_requests.append(request)
        if self.poller is not None:
            self.retry_seen.append(self.poller.health.retry_in_s)
        n = len(self.feed_requests)
        etag = request.headers.get("if-none-match")
        if n == 1:
            await respond(writer, 200, V1, {"ETag": '"v1"', "Content-Type": "application/atom+xml"})
        elif n == 2:
            await respond(writer, 304 if etag == '"v1"' else 200, b"" if etag else V1)
        elif n == 3:
            await respond(writer, 500, b"oops")
        elif n == 4:
            await asyncio.sleep(30)  # a stalled server: the poller's timeout ends it
        elif n == 5:
            await respond(writer, 200, b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>")
        elif etag == '"v2"':
            await respond(writer, 304)
            if n >= 9:
                self.done.set()
        else:
            await respond(writer, 200, V2, {"ETag": '"v2"'})

    async def _document(self, path: str, writer: asyncio.StreamWriter) -> None:
        self.doc_requests.append(path)
        if path == "/cap/b.xml":
            await respond(writer, 200, B)
        elif path == "/cap/c.xml" and self.c_failures:
            self.c_failures -= 1
            await respond(writer, 500)
        elif path == "/cap/c.xml":
            await respond(writer, 200, C)
        elif path == "/cap/malformed.xml":
            await respond(
                writer, 200, b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><ident"
            )
        else:
            await respond(writer, 200, b"<alert>" + b"x" * 200_000 + b"</alert>")


async def test_feed_entries_delivered_once_through_errors_and_304s() -> None:
    script = FeedScript()
    delivered: list[tuple[str, str]] = []

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        assert isinstance(payload, bytes)
        delivered.append((parse_cap(payload).identifier, label))

    async with HttpServer(script.handle) as server, httpx.AsyncClient() as client:
        url = server.url("/feed")
        poller = AtomPoller(
            url,
            0.02,
            deliver,
            client,
            timeout_s=0.5,
            max_document_bytes=64_000,
            backoff=Backoff(0.05, 0.15),
        )
        script.poller = poller
        async with asyncio.timeout(30), poller:
            await script.done.wait()
        health = poller.health

    label = f"feed:{url}"
    assert delivered == [("urn:a", label), ("urn:b", label), ("urn:c", label)]
    # Conditional GET: the second poll carried the first answer's ETag and got a 304.
    assert script.feed_requests[1].headers.get("if-none-match") == '"v1"'
    # Backoff: the poller's delay before each retry doubled, capped, then reset.
    assert script.retry_seen[:7] == [None, None, None, 0.05, 0.1, 0.15, None]
    # The feed with c's document unreachable was not taken as the base of a 304:
    # the next poll still sent the old ETag, got the feed in full, and c came.
    assert script.feed_requests[6].headers.get("if-none-match") == '"v1"'
    assert script.feed_requests[7].headers.get("if-none-match") == '"v2"'
    assert script.doc_requests.count("/cap/b.xml") == 1
    assert script.doc_requests.count("/cap/c.xml") == 2
    assert script.doc_requests.count("/cap/malformed.xml") == 1
    assert health.rejected == 2  # the malformed and the oversized document
    assert health.delivered == 3
    assert health.consecutive_failures == 0
    assert health.last_ok is not None
    assert not health.running


async def test_poller_opens_its_own_client_and_stops_on_its_event() -> None:
    served = asyncio.Event()

    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        await respond(writer, 200, _feed(ENTRY_A))
        served.set()

    delivered: list[bytes | SameMessage] = []

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        delivered.append(payload)
        raise RuntimeError("the alert service is down")  # a failing callback is not fatal

    async with HttpServer(handle) as server:
        poller = AtomPoller(server.url("/feed"), 0.02, deliver)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        async with asyncio.timeout(10):
            while len(server.requests) < 3:
                await asyncio.sleep(0.01)
        stop.set()
        await task
    assert len(delivered) == 1
    assert poller.health.delivery_errors == 1
    assert poller.health.delivered == 0
