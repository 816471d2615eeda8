"""Polling an ATOM feed of CAP alerts (the IPAWS-OPEN style).

Each poll is a conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the last good answer), so an unchanged feed costs a 304. Entries that
only link to their CAP document have it fetched (size-limited, with a
timeout); every new entry is delivered once. A failing feed is retried with
exponential backoff; a bad entry or document is refused and counted, and
the rest of the feed still goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from urllib.parse import urljoin

import httpx

from grimnir.eas._source_base import AlertSource, Backoff, Deliver, SeenSet, log
from grimnir.eas._source_http import DocumentRefused, describe, fetch_limited
from grimnir.eas.cap import DEFAULT_MAX_BYTES
from grimnir.eas.cap_parse import parse_cap
from grimnir.eas.errors import CapError
from grimnir.eas.feeds import DEFAULT_MAX_FEED_BYTES, FeedEntry, parse_cap_feed


class AtomPoller(AlertSource):
    """Polls ``url`` every ``interval_s`` and delivers each new CAP alert once.

    ``client`` is used when given (and left open), else the poller opens its
    own for its run. The label is ``feed:<url>``.
    """

    def __init__(
        self,
        url: str,
        interval_s: float,
        deliver: Deliver,
        client: httpx.AsyncClient | None = None,
        *,
        timeout_s: float = 15.0,
        max_feed_bytes: int = DEFAULT_MAX_FEED_BYTES,
        max_document_bytes: int = DEFAULT_MAX_BYTES,
        backoff: Backoff | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"feed poll interval {interval_s} s: must be more than 0")
        super().__init__(f"feed:{url}", deliver, backoff or Backoff(interval_s, 600.0))
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.max_feed_bytes = max_feed_bytes
        self.max_document_bytes = max_document_bytes
        self._client = client
        self._etag: str | None = None
        self._modified: str | None = None
        self._entries = SeenSet()
        self._alerts = SeenSet()

    async def _main(self, stop: asyncio.Event) -> None:
        async with contextlib.AsyncExitStack() as stack:
            client = self._client
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(follow_redirects=True))
            while not stop.is_set():
                delay = await self.poll(client)
                if await self._pause(stop, delay):
                    return

    async def poll(self, client: httpx.AsyncClient) -> float:
        """One poll of the feed; the delay before the next one."""
        headers = {"Accept": "application/atom+xml, application/xml;q=0.9"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._modified:
            headers["If-Modified-Since"] = self._modified
        try:
            response = await fetch_limited(
                client, self.url, self.max_feed_bytes, self.timeout_s, headers
            )
        except DocumentRefused as refused:
            return self._failed(f"feed refused: {refused}")
        except httpx.HTTPError as error:
            return self._failed(f"feed unreachable: {describe(error, self.timeout_s)}")
        if response.status == 304:
            self._ok()
            return self.interval_s
        if response.status != 200:
            return self._failed(f"feed answered HTTP {response.status}")
        try:
            entries = parse_cap_feed(response.body, max_bytes=self.max_feed_bytes)
        except CapError as refused:
            return self._failed(f"feed refused: {refused}")
        complete = True
        for entry in entries:
            complete = await self._entry(client, entry) and complete
        if complete:
            # Only a feed handled in full becomes the base of conditional GETs:
            # an entry whose document could not be fetched is tried again.
            self._etag = response.headers.get("etag")
            self._modified = response.headers.get("last-modified")
        self._ok()
        return self.interval_s

    async def _entry(self, client: httpx.AsyncClient, entry: FeedEntry) -> bool:
        """Handle one entry; ``False`` when its document could not be fetched (retry)."""
        key = (entry.id, entry.updated, entry.links)
        if entry.id is None and not entry.links and entry.alert is None:
            if key not in self._entries:
                self._entries.add(key)
                self._reject(f"entry {entry.title!r} has no id, link or embedded alert")
            return True
        if key in self._entries:
            return True
        if entry.error is not None:
            self._entries.add(key)
            self._reject(f"entry {entry.id!r}: {entry.error}")
            return True
        if entry.alert is not None:
            self._entries.add(key)
            await self._alert(entry.alert.raw, entry.alert.key)
            return True
        url = urljoin(self.url, entry.links[0])
        try:
            response = await fetch_limited(client, url, self.max_document_bytes, self.timeout_s)
        except httpx.HTTPError as error:
            return self._later(entry, describe(error, self.timeout_s))
        except DocumentRefused as refused:
            self._entries.add(key)
            self._reject(f"entry {entry.id!r}: {refused}")
            return True
        if response.status >= 500:
            return self._later(entry, f"{url} answered HTTP {response.status}")
        self._entries.add(key)
        if response.status != 200:
            self._reject(f"entry {entry.id!r}: {url} answered HTTP {response.status}")
            return True
        try:
            alert = parse_cap(response.body, max_bytes=self.max_document_bytes)
        except CapError as refused:
            self._reject(f"entry {entry.id!r}: {refused}")
            return True
        await self._alert(response.body, alert.key)
        return True

    def _later(self, entry: FeedEntry, reason: str) -> bool:
        """A linked document that may come later (network, 5xx): tried next poll."""
        log.warning(
            "%s: entry %r: its CAP document is unreachable (%s); trying next poll",
            self.label,
            entry.id,
            reason,
        )
        return False

    async def _alert(self, data: bytes, key: tuple[str, str, datetime]) -> None:
        if key in self._alerts:
            log.info("%s: alert %s already delivered", self.label, key)
            return
        self._alerts.add(key)
        await self._hand_on(data)
