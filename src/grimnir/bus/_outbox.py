"""A publisher's outbox: events that could not be published wait, in order, and go out
when the bus is back.

Redis pub/sub keeps nothing: an event published while the server is away is lost
(the ``item.ended`` of a skip, say). The executor publishes through an outbox
instead: what fails stays queued and is sent, oldest first, on the next publish
or ``flush()``; later events wait behind it so order holds. The outbox is
bounded; should it overflow, the oldest are dropped and a ``bus.gap`` event
goes out first when the bus is back, so subscribers know they missed some.
Subscribers that lost their own connection meanwhile are told by their bus
(``BUS_GAP`` on reconnect).
"""

from __future__ import annotations

from collections import deque
from typing import Final

from grimnir.bus._api import EventBus
from grimnir.bus._event import BUS_GAP, Event

OUTBOX_EVENTS: Final = 10_000
"""Events kept while the bus is away (hours of a station's item and state events)."""


class Outbox:
    """Publishes through ``bus``; what fails waits for the next try (module docstring)."""

    def __init__(self, bus: EventBus, station_id: str | None, limit: int = OUTBOX_EVENTS) -> None:
        self.bus = bus
        self.station_id = station_id
        self._waiting: deque[Event] = deque()
        self._limit = limit
        self.dropped = 0
        """Events dropped because the outbox was full (reported in a ``bus.gap``)."""

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def publish(self, event: Event) -> None:
        """Queue ``event`` behind what waits and send all that can go now; raises the
        bus's error when something is left waiting (the event is kept, not lost)."""
        if len(self._waiting) >= self._limit:
            self._waiting.popleft()
            self.dropped += 1
        self._waiting.append(event)
        await self.flush()

    async def flush(self) -> None:
        """Send what waits, oldest first; stops (raising) at the first failure."""
        if self.dropped:
            gap = Event.now(BUS_GAP, self.station_id, dropped=self.dropped)
            await self.bus.publish(gap)
            self.dropped = 0
        while self._waiting:
            await self.bus.publish(self._waiting[0])
            self._waiting.popleft()
