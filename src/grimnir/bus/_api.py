"""The event bus interface: publish events, subscribe by type and station.

Delivery is live fan-out, at most once: a subscriber gets the events published
after its ``subscribe()`` returned, in publish order (per publisher), until it
closes. Nothing is stored for absent subscribers; what must survive (the
as-run log, the timeline) lives in the database. A subscriber that falls
behind loses its *oldest* queued events and counts them in ``dropped``; it
never slows the publisher or the other subscribers, so a stuck web client
cannot stall the executor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Protocol, Self

from grimnir.bus._event import BUS_GAP, Event
from grimnir.bus._filter import EventFilter
from grimnir.domain.errors import BusError as BusError

log = logging.getLogger("grimnir.bus")

DEFAULT_MAX_PENDING = 1000


class Subscription:
    """Events matching one filter, as an async iterator.

    ``async for event in sub`` waits for the next event and ends when the
    subscription (or its bus) is closed. Use it as ``async with`` to close it on
    the way out. ``received`` counts the events that reached it, ``dropped``
    those discarded because more than ``max_pending`` were waiting unread.
    """

    def __init__(
        self,
        event_filter: EventFilter,
        on_close: Callable[[Subscription], Awaitable[None]],
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self.filter = event_filter
        self.max_pending = max_pending
        self.dropped = 0
        self.received = 0
        self._queue: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Events received and not read yet."""
        return len(self._queue)

    def offer(self, event: Event) -> None:
        """Queue ``event`` if it matches (called by the bus; never blocks)."""
        if self._closed or not self.filter.matches(event):
            return
        self.received += 1
        if len(self._queue) >= self.max_pending:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "event subscriber too slow: %d events waiting unread; dropping the oldest "
                    "(counted in Subscription.dropped)",
                    self.max_pending,
                )
        self._queue.append(event)
        self._wakeup.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._queue:
                return self._queue.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; TimeoutError after ``timeout`` seconds, BusError if closed."""
        try:
            async with asyncio.timeout(timeout):
                return await anext(self)
        except StopAsyncIteration:
            raise BusError("subscription is closed") from None

    def end(self) -> None:
        """Stop delivery and end iteration, without telling the server (the bus does)."""
        self._closed = True
        self._queue.clear()
        self._wakeup.set()

    async def close(self) -> None:
        """Stop receiving: iteration ends, queued events are discarded. Idempotent."""
        if self._closed:
            return
        self.end()
        await self._on_close(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class EventBus(Protocol):
    """Publish/subscribe for :class:`Event`; memory, Redis and NATS implement it.

    ``connect()`` is optional (the first publish or subscribe connects) but lets
    a process fail at start-up with a clear message when the server is missing.
    """

    async def connect(self) -> None: ...

    @property
    def connected(self) -> bool:
        """Whether the bus reaches its server now (readiness probes ask)."""
        ...

    async def publish(self, event: Event) -> None:
        """Send ``event`` to every matching subscriber, in any process on this bus."""
        ...

    async def subscribe(
        self,
        types: Iterable[str] | None = None,
        station_id: str | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Start receiving events of ``types`` (exact, ``"item.*"``, or None for
        all) from ``station_id`` (None: every station and station-less events).
        Returns once the subscription is live: events published afterwards arrive."""
        ...

    async def close(self) -> None:
        """End every subscription and release the connection. Idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BusBase:
    """Shared bookkeeping: the open subscriptions, close-once, async context manager."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the event bus is closed")

    async def connect(self) -> None:
        self._check_open()

    @property
    def connected(self) -> bool:
        """Whether the bus reaches its server now (in-process: while it is open)."""
        return not self._closed

    async def _close_connection(self) -> None:
        """Release server resources (subclasses)."""

    def _tell_gap(self, lost_for_s: float) -> None:
        """Tell every subscription its connection was lost and is back (``BUS_GAP``)."""
        gap = Event.now(BUS_GAP, None, lost_for_s=round(lost_for_s, 3))
        for sub in list(self._subscriptions):
            sub.offer(gap)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        subscriptions, self._subscriptions = self._subscriptions, set()
        for sub in subscriptions:
            sub.end()
        await self._close_connection()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
