"""NaadClient against real TCP stream servers and an HTTP archive on loopback:
documents in random-size pieces, heartbeats, a silent host, a dropped
connection, a missed alert fetched from the archive — each alert once."""

from __future__ import annotations

import asyncio
import contextlib
import random

from grimnir.eas import Backoff, NaadClient, SameMessage, naad_archive_paths, parse_cap
from tests.eas._cap_samples import alert, info
from tests.eas_sources._http import HttpServer, Request, respond

SENDER = "cap-pac@canada.ca"
SENT = "2026-03-01T13:05:00-05:00"
N1, N2, N3 = (alert(identifier=f"urn:oid:2.49.0.1.124.{n}", infos=(info(),)) for n in (1, 2, 3))


def heartbeat(*identifiers: str) -> bytes:
    refs = " ".join(f"{SENDER},urn:oid:2.49.0.1.124.{n},{SENT}" for n in identifiers)
    return alert(
        identifier="urn:oid:2.49.0.1.124.hb",
        sender="NAADS-Heartbeat",
        status="System",
        references=refs,
        infos=(),
    )


HB1, HB2 = heartbeat("1"), heartbeat("1", "2", "3")
MALFORMED = b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>"


class Host:
    """A NAAD-style stream server: per connection, a list of documents sent in
    random pieces, then either silence or a close."""

    def __init__(self, address: str, plans: list[tuple[list[bytes], bool]]) -> None:
        self.address = address
        self.plans = plans
        self.connections = 0
        self.sent_all = asyncio.Event()
        self.port = 0
        self._rng = random.Random(20)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.address, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        documents, stay_silent = self.plans[min(self.connections, len(self.plans) - 1)]
        self.connections += 1
        try:
            stream = b"\r\n".join([b"", *documents, b""])
            at = 0
            while at < len(stream):
                size = self._rng.randint(1, 300)
                writer.write(stream[at : at + size])
                at += size
                await writer.drain()
                await asyncio.sleep(0.001)
            self.sent_all.set()
            if stay_silent:
                await reader.read()  # silent until the client gives up and closes
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)


async def test_naad_stream_reconnects_and_fetches_missed_alerts_once() -> None:
    path_n3 = naad_archive_paths(parse_cap(HB2))[2]
    archive_requests: list[str] = []

    async def archive(request: Request, writer: asyncio.StreamWriter) -> None:
        archive_requests.append(request.path)
        if request.path == "/a2" + path_n3:
            await respond(writer, 200, N3)
        else:
            await respond(writer, 404)

    first = Host("127.0.0.1", [([N1, HB1, b"noise between documents", N2], True), ([HB2], True)])
    second = Host("127.0.0.2", [([N2, MALFORMED, HB2], False)])
    delivered: list[tuple[str, str]] = []

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        assert isinstance(payload, bytes)
        delivered.append((parse_cap(payload).identifier, label))

    await first.start()
    await second.start()
    try:
        async with HttpServer(archive, "127.0.0.3") as server:
            client = NaadClient(
                [(first.address, first.port), (second.address, second.port)],
                deliver,
                heartbeat_timeout_s=1.0,
                archive_urls=[server.url("/a1"), server.url("/a2/")],
                backoff=Backoff(0.01, 0.05),
            )
            async with asyncio.timeout(30), client:
                # first (silent) → second (closes) → first again (HB2, silent) → second:
                # by the fourth connection the client has handled HB2 twice.
                while second.connections < 2:
                    await asyncio.sleep(0.01)
            health = client.health
    finally:
        await first.close()
        await second.close()

    assert delivered == [
        ("urn:oid:2.49.0.1.124.1", "naad:127.0.0.1"),
        ("urn:oid:2.49.0.1.124.2", "naad:127.0.0.1"),
        ("urn:oid:2.49.0.1.124.3", "naad:127.0.0.3"),  # from the archive
    ]
    # Only the missed alert was looked up: first archive lacks it, second has it.
    assert archive_requests == ["/a1" + path_n3, "/a2" + path_n3]
    assert first.connections == 2
    assert client.connections >= 3
    # The malformed document, refused each time it was read (the test may stop
    # the client before the second connection to `second` got that far).
    assert 1 <= health.rejected <= second.connections
    assert "reconnecting" in (health.last_error or "") or "closed" in (health.last_error or "")
