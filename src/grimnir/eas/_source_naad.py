"""A client of the NAAD System's TCP stream of CAP-CP (Pelmorex, Canada).

The stream carries documents back to back and a heartbeat about every
minute. The client holds one connection, moving to the next host of its
list when the connection drops, cannot be made, or brings no complete
document (alert or heartbeat) within ``heartbeat_timeout_s``. Each heartbeat
lists the last alerts sent; any of them not received is fetched from the
archive over HTTP. Every alert is delivered once, whichever way it came
(deduplicated by sender, identifier and sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from grimnir.eas._source_base import AlertSource, Backoff, Deliver, SeenSet, log
from grimnir.eas._source_http import DocumentRefused, describe, fetch_limited
from grimnir.eas.cap import DEFAULT_MAX_BYTES, CapAlert, CapReference
from grimnir.eas.cap_parse import parse_cap
from grimnir.eas.errors import CapError
from grimnir.eas.feeds import NaadSplitter, naad_archive_paths

#: The NAAD System's archives (NAADS LMD User Guide), tried in turn.
NAAD_ARCHIVES = (
    "http://capcp1.naad-adna.pelmorex.com",
    "http://capcp2.naad-adna.pelmorex.com",
)
#: The NAAD System's stream servers and port.
NAAD_HOSTS = (
    ("streaming1.naad-adna.pelmorex.com", 8080),
    ("streaming2.naad-adna.pelmorex.com", 8080),
)


class NaadClient(AlertSource):
    """Holds a NAAD-style stream open and delivers each CAP-CP alert once.

    Stream alerts are labelled ``naad:<host>`` (the host connected to at the
    time; :attr:`label` and the health follow it), alerts fetched from the
    archive ``naad:<archive host>``. Heartbeats are not delivered.
    """

    def __init__(
        self,
        hosts: Sequence[tuple[str, int]],
        deliver: Deliver,
        *,
        heartbeat_timeout_s: float = 90.0,
        archive_urls: Sequence[str] = NAAD_ARCHIVES,
        client: httpx.AsyncClient | None = None,
        connect_timeout_s: float = 10.0,
        fetch_timeout_s: float = 15.0,
        max_document_bytes: int = DEFAULT_MAX_BYTES,
        backoff: Backoff | None = None,
    ) -> None:
        if not hosts:
            raise ValueError("NAAD client: give at least one (host, port) to connect to")
        if heartbeat_timeout_s <= 0:
            raise ValueError(f"NAAD heartbeat timeout {heartbeat_timeout_s} s: must be over 0")
        super().__init__(f"naad:{hosts[0][0]}", deliver, backoff or Backoff(1.0, 60.0))
        self.hosts = list(hosts)
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.archive_urls = [url.rstrip("/") for url in archive_urls]
        self.connect_timeout_s = connect_timeout_s
        self.fetch_timeout_s = fetch_timeout_s
        self.max_document_bytes = max_document_bytes
        self.connections = 0
        self._client = client
        self._seen = SeenSet()
        self._fetching: set[tuple[str, str, datetime]] = set()
        self._fetches: set[asyncio.Task[None]] = set()

    async def _main(self, stop: asyncio.Event) -> None:
        async with contextlib.AsyncExitStack() as stack:
            client = self._client
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient())
            try:
                turn = 0
                while not stop.is_set():
                    host, port = self.hosts[turn % len(self.hosts)]
                    turn += 1
                    self.label = f"naad:{host}"
                    reason = await self._connection(client, host, port)
                    if await self._pause(stop, self._failed(reason)):
                        return
            finally:
                for task in self._fetches:
                    task.cancel()
                for task in list(self._fetches):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _connection(self, client: httpx.AsyncClient, host: str, port: int) -> str:
        """Read one connection until it fails; why it ended."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as error:
            return f"cannot connect to {host}:{port}: {error or type(error).__name__}"
        self.connections += 1
        log.info("%s: connected to %s:%d", self.label, host, port)
        splitter = NaadSplitter(self.max_document_bytes)
        last_document = time.monotonic()
        try:
            while True:
                left = last_document + self.heartbeat_timeout_s - time.monotonic()
                try:
                    data = await asyncio.wait_for(reader.read(65536), max(left, 0.0))
                except TimeoutError:
                    return (
                        f"no alert or heartbeat from {host}:{port} in "
                        f"{self.heartbeat_timeout_s:g} s; reconnecting"
                    )
                except OSError as error:
                    return f"connection to {host}:{port} failed: {error}"
                if not data:
                    return f"{host}:{port} closed the connection"
                dropped = splitter.dropped
                documents = splitter.feed(data)
                if splitter.dropped > dropped:
                    self._reject(f"a document from {host}:{port} grew past the size limit")
                for document in documents:
                    last_document = time.monotonic()
                    self._ok()
                    await self._document(client, document)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _document(self, client: httpx.AsyncClient, document: bytes) -> None:
        try:
            alert = parse_cap(document, max_bytes=self.max_document_bytes)
        except CapError as refused:
            self._reject(str(refused))
            return
        if not alert.is_naad_heartbeat:
            await self._once(alert, document, self.label)
            return
        missed = [
            (ref, path)
            for ref, path in zip(alert.references, naad_archive_paths(alert), strict=True)
            if ref.key not in self._seen and ref.key not in self._fetching
        ]
        for ref, path in missed:
            self._fetching.add(ref.key)
            task = asyncio.create_task(self._fetch(client, ref, path))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _once(self, alert: CapAlert, document: bytes, label: str) -> None:
        if alert.key in self._seen:
            return
        self._seen.add(alert.key)
        await self._hand_on(document, label)

    async def _fetch(self, client: httpx.AsyncClient, ref: CapReference, path: str) -> None:
        """Fetch a missed alert from the first archive that has it."""
        try:
            for base in self.archive_urls:
                url = base + path
                try:
                    response = await fetch_limited(
                        client, url, self.max_document_bytes, self.fetch_timeout_s
                    )
                except httpx.HTTPError as error:
                    log.warning(
                        "%s: archive %s: %s", self.label, url, describe(error, self.fetch_timeout_s)
                    )
                    continue
                except DocumentRefused as refused:
                    self._reject(f"archive {refused!s}")
                    continue
                if response.status != 200:
                    log.warning("%s: archive %s: HTTP %d", self.label, url, response.status)
                    continue
                try:
                    alert = parse_cap(response.body, max_bytes=self.max_document_bytes)
                except CapError as refused:
                    self._reject(f"archive {url}: {refused}")
                    continue
                if alert.key != ref.key:
                    self._reject(f"archive {url}: holds {alert.key}, not the listed {ref.key}")
                    continue
                await self._once(alert, response.body, f"naad:{urlsplit(base).hostname}")
                return
            log.warning(
                "%s: missed alert %s %s not found in any archive; the next heartbeat retries",
                self.label,
                ref.sender,
                ref.identifier,
            )
        finally:
            self._fetching.discard(ref.key)
