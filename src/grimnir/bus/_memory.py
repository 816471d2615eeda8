"""The in-process bus: the embedded default (``memory://``) for one-machine setups."""

from __future__ import annotations

from collections.abc import Iterable

from grimnir.bus._api import DEFAULT_MAX_PENDING, BusBase, Subscription
from grimnir.bus._event import Event
from grimnir.bus._filter import EventFilter


class MemoryBus(BusBase):
    """Fan-out inside one process and one asyncio loop.

    Events are serialised to JSON on publish (and thrown away) so that an event
    Redis or NATS would refuse fails here too, during development.
    """

    async def publish(self, event: Event) -> None:
        self._check_open()
        event.to_json()
        for sub in list(self._subscriptions):
            sub.offer(event)

    async def subscribe(
        self,
        types: Iterable[str] | None = None,
        station_id: str | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        self._check_open()
        sub = Subscription(EventFilter.build(types, station_id), self._forget, max_pending)
        self._subscriptions.add(sub)
        return sub

    async def _forget(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
