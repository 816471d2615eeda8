"""One contract for every event bus: memory, Redis and NATS must behave the same."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from grimnir.bus import (
    ITEM_ENDED,
    ITEM_STARTED,
    NOW_PLAYING,
    TELEMETRY,
    BusError,
    Event,
    EventBus,
)
from tests.bus._bus_helpers import collect, wait_until


def ev(type_: str, station: str | None = "st-a", **data: object) -> Event:
    return Event(type=type_, station_id=station, at=datetime.now(UTC), data=dict(data))


async def test_round_trip_keeps_the_envelope_exactly(bus: EventBus) -> None:
    sub = await bus.subscribe()
    sent = Event(
        type=NOW_PLAYING,
        station_id="st-a",
        at=datetime(2024, 3, 31, 0, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=2))),
        data={
            "title": "Ævintýri — «live» 🎙",
            "artist": None,
            "position_ms": 123_456_789_012,
            "gain_db": -3.25,
            "tiny": 1e-300,
            "hard": True,
            "cues": [0, 1.5, {"in": 0.125}],
            "nested": {"a": {"b": []}},
        },
    )
    await bus.publish(sent)
    [got] = await collect(sub, 1)
    assert got == sent
    assert got.id == sent.id
    assert got.at == datetime(2024, 3, 30, 22, 59, 59, 999_999, tzinfo=UTC)
    assert got.at.tzinfo is UTC
    assert got.data["position_ms"] == 123_456_789_012
    assert isinstance(got.data["position_ms"], int)


async def test_filter_by_exact_type(bus: EventBus) -> None:
    sub = await bus.subscribe([ITEM_STARTED])
    sent = [ev(ITEM_ENDED), ev(ITEM_STARTED, n=1), ev(NOW_PLAYING), ev("item.started.x")]
    sent += [ev(TELEMETRY), ev(ITEM_STARTED, n=2)]
    for event in sent:
        await bus.publish(event)
    # Order is kept, so once the last matching event is in, nothing else can be pending.
    assert await collect(sub, 2) == [sent[1], sent[5]]
    assert sub.pending == 0


async def test_filter_by_prefix_wildcard(bus: EventBus) -> None:
    sub = await bus.subscribe(["item.*"])
    sent = [ev(ITEM_STARTED), ev("items.x"), ev("item"), ev("item.cue.point"), ev(NOW_PLAYING)]
    sent.append(ev(ITEM_ENDED))
    for event in sent:
        await bus.publish(event)
    assert await collect(sub, 3) == [sent[0], sent[3], sent[5]]


async def test_filter_by_several_types(bus: EventBus) -> None:
    sub = await bus.subscribe([NOW_PLAYING, "live.*", ITEM_ENDED])
    sent = [ev(ITEM_STARTED), ev("live.connected"), ev(TELEMETRY), ev(NOW_PLAYING)]
    sent += [ev("liveish"), ev(ITEM_ENDED)]
    for event in sent:
        await bus.publish(event)
    assert await collect(sub, 3) == [sent[1], sent[3], sent[5]]


@pytest.mark.parametrize("station", ["st-a", "a.b", "_", "we*ird [id]?", "Østfold/1"])
async def test_filter_by_station(bus: EventBus, station: str) -> None:
    sub = await bus.subscribe(station_id=station)
    both = await bus.subscribe([ITEM_STARTED, NOW_PLAYING], station_id=station)
    others = ["st-b", "a", "a.b.c", "_x", None, "we", "Østfold"]
    sent = [ev(ITEM_STARTED, station=s) for s in others if s != station]
    sent += [ev(ITEM_STARTED, station=station), ev(TELEMETRY, station=station)]
    sent += [ev(NOW_PLAYING, station=s) for s in others if s != station]
    sent.append(ev(NOW_PLAYING, station=station))
    for event in sent:
        await bus.publish(event)
    mine = [e for e in sent if e.station_id == station]
    assert await collect(sub, len(mine)) == mine
    assert await collect(both, 2) == [mine[0], mine[2]]


async def test_station_less_events_reach_unfiltered_subscribers(bus: EventBus) -> None:
    sub = await bus.subscribe([ITEM_STARTED, "schedule.*"])
    sent = [ev("schedule.updated", station=None), ev(ITEM_STARTED, station="st-z")]
    for event in sent:
        await bus.publish(event)
    assert await collect(sub, 2) == sent


async def test_every_subscriber_gets_every_event_in_order(bus: EventBus) -> None:
    subs = [await bus.subscribe() for _ in range(3)]
    subs.append(await bus.subscribe(["item.*"]))
    sent = [ev(ITEM_STARTED if i % 2 else ITEM_ENDED, n=i) for i in range(50)]
    for event in sent:
        await bus.publish(event)
    results = await asyncio.gather(*(collect(sub, 50) for sub in subs))
    assert all(got == sent for got in results)


async def test_slow_subscriber_drops_oldest_and_others_are_unaffected(bus: EventBus) -> None:
    slow = await bus.subscribe(max_pending=5)
    fast = await bus.subscribe()
    sent = [ev(TELEMETRY, n=i) for i in range(20)]
    for event in sent:  # the unread slow subscriber does not hold this up
        await bus.publish(event)
    assert await collect(fast, 20) == sent
    await wait_until(lambda: slow.received == 20)
    assert slow.dropped == 15
    assert fast.dropped == 0
    assert await collect(slow, 5) == sent[15:]
    later = ev(NOW_PLAYING)
    await bus.publish(later)
    assert await collect(slow, 1) == [later]
    assert slow.dropped == 15


async def test_close_ends_iteration(bus: EventBus) -> None:
    sub = await bus.subscribe()
    first = ev(NOW_PLAYING)
    await bus.publish(first)
    seen: list[Event] = []

    async def consume() -> None:
        async for event in sub:
            seen.append(event)

    task = asyncio.create_task(consume())
    await wait_until(lambda: seen == [first])
    await sub.close()
    async with asyncio.timeout(5):
        await task
    assert sub.closed
    await sub.close()  # idempotent
    with pytest.raises(BusError, match="closed"):
        await sub.get(timeout=1)


async def test_unsubscribed_gets_nothing_more(bus: EventBus) -> None:
    gone = await bus.subscribe()
    stays = await bus.subscribe()
    first, second = ev(NOW_PLAYING, n=1), ev(NOW_PLAYING, n=2)
    await bus.publish(first)
    await wait_until(lambda: gone.pending == 1)
    async with gone:
        pass  # leaving the block closes it, discarding the unread event
    assert gone.pending == 0
    await bus.publish(second)
    assert await collect(stays, 2) == [first, second]
    assert [e async for e in gone] == []
    assert gone.received == 1


async def test_a_thousand_events_arrive_in_order(bus: EventBus) -> None:
    sub = await bus.subscribe([TELEMETRY], station_id="st-a")
    sent = [ev(TELEMETRY, n=i, peak_db=-float(i) / 7) for i in range(1000)]
    for event in sent:
        await bus.publish(event)
    got = await collect(sub, 1000, timeout=30)
    assert [e.data["n"] for e in got] == list(range(1000))
    assert got == sent
    assert sub.dropped == 0


async def test_bus_close_ends_every_subscription(bus: EventBus) -> None:
    subs = [await bus.subscribe(), await bus.subscribe(["item.*"], station_id="st-a")]
    waiting = [asyncio.create_task(anext(sub, None)) for sub in subs]
    await asyncio.sleep(0.05)
    assert bus.connected  # what readiness probes ask
    await bus.close()
    assert not bus.connected
    async with asyncio.timeout(5):
        assert await asyncio.gather(*waiting) == [None, None]
    with pytest.raises(BusError, match="closed"):
        await bus.publish(ev(NOW_PLAYING))
    with pytest.raises(BusError, match="closed"):
        await bus.subscribe()
    await bus.close()  # idempotent


async def test_bad_subscription_patterns_are_refused(bus: EventBus) -> None:
    for bad in (["item*"], ["*.started"], ["item.*.x"], [""], [], ["a b"]):
        with pytest.raises(ValueError, match="type"):
            await bus.subscribe(bad)
    with pytest.raises(ValueError, match="station_id"):
        await bus.subscribe(station_id="")
    # A lone string is one type, not an iterable of one-letter types.
    sub = await bus.subscribe(NOW_PLAYING)
    event = ev(NOW_PLAYING)
    await bus.publish(event)
    assert await collect(sub, 1) == [event]
