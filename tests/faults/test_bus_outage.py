"""Events survive a bus outage: the executor's outbox keeps what Redis could not take
and sends it, in order, when Redis is back; what could not be kept is announced."""

from __future__ import annotations

import asyncio

import pytest

from grimnir.bus import BUS_GAP, BusError, Event, Outbox, RedisBus, Subscription
from tests.bus.test_bus_servers import private_server

pytestmark = pytest.mark.redis


def item(n: int) -> Event:
    return Event.now("item.ended", "st-1", n=n)


async def _next_real(sub: Subscription, gaps: list[Event]) -> Event:
    """The next event that is not a ``bus.gap`` notice (those go to ``gaps``)."""
    while True:
        event = await sub.get(timeout=20)
        if event.type != BUS_GAP:
            return event
        gaps.append(event)


async def _flush(outbox: Outbox) -> None:
    """Flush until the bus takes it all (its publisher reconnects on its own)."""
    async with asyncio.timeout(20):
        while True:
            try:
                await outbox.flush()
            except BusError:
                await asyncio.sleep(0.1)
                continue
            return


async def test_events_published_while_redis_is_down_arrive_in_order_afterwards() -> None:
    with private_server("redis") as server:
        publisher = RedisBus(server.url, connect_timeout=2.0, max_backoff=0.3)
        listener = RedisBus(server.url, connect_timeout=2.0, max_backoff=0.3)
        async with publisher, listener:
            sub = await listener.subscribe(station_id="st-1")
            outbox = Outbox(publisher, "st-1")
            gaps: list[Event] = []
            await outbox.publish(item(1))
            assert (await _next_real(sub, gaps)).data["n"] == 1

            await asyncio.to_thread(server.stop)
            for n in (2, 3, 4):
                with pytest.raises(BusError):
                    await outbox.publish(item(n))  # kept, not lost
            assert outbox.waiting == 3

            await asyncio.to_thread(server.start)
            # the listener is back (it says so with a gap notice) before the outbox goes
            async with asyncio.timeout(20):
                while not gaps:
                    gaps.append(await sub.get(timeout=20))
            assert gaps[0].type == BUS_GAP
            await _flush(outbox)
            got = [(await _next_real(sub, gaps)).data["n"] for _ in range(3)]
            assert got == [2, 3, 4]
            assert outbox.waiting == 0


async def test_an_overflowing_outbox_announces_what_it_dropped() -> None:
    with private_server("redis") as server:
        publisher = RedisBus(server.url, connect_timeout=2.0, max_backoff=0.3)
        listener = RedisBus(server.url, connect_timeout=2.0, max_backoff=0.3)
        async with publisher, listener:
            sub = await listener.subscribe(station_id="st-1")
            outbox = Outbox(publisher, "st-1", limit=2)
            await asyncio.to_thread(server.stop)
            for n in (1, 2, 3, 4, 5):
                with pytest.raises(BusError):
                    await outbox.publish(item(n))
            assert (outbox.waiting, outbox.dropped) == (2, 3)
            await asyncio.to_thread(server.start)
            async with asyncio.timeout(20):
                while (await sub.get(timeout=20)).type != BUS_GAP:
                    pass  # the listener's own notice: it reconnected
            await _flush(outbox)
            first = await sub.get(timeout=20)
            assert (first.type, first.station_id, first.data["dropped"]) == (BUS_GAP, "st-1", 3)
            rest = [(await sub.get(timeout=20)).data["n"] for _ in range(2)]
            assert rest == [4, 5]
