"""The engine carries the station without us, and we catch up afterwards.

A rebuilt timeline is taken back from the engine's queue (``Unqueue``); the
fallback rotation plays when the plan runs out; an executor that was away
writes the as-run log of what aired meanwhile from the engine's journal.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select

from grimnir.bus import MemoryBus
from grimnir.domain import EndReason, EntryStatus
from grimnir.store.models import AsRun, TimelineEntry
from tests.executor._station import (
    ORIGIN,
    Sessions,
    VirtualStation,
    add_entry,
    add_media,
    write_tone,
)


async def as_run(sessions: Sessions, station: uuid.UUID) -> list[AsRun]:
    async with sessions() as session:
        rows = await session.scalars(
            select(AsRun).where(AsRun.station_id == station).order_by(AsRun.started_at)
        )
        return list(rows)


def offset(when: datetime | None) -> float | None:
    return None if when is None else round((when - ORIGIN).total_seconds(), 2)


async def test_a_rebuilt_entry_is_taken_back_from_the_engine(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    a = await add_media(sessions, station_id, write_tone(tmp_path / "a.wav", 4, 300), "A")
    b = await add_media(sessions, station_id, write_tone(tmp_path / "b.wav", 4, 400), "B")
    c = await add_media(sessions, station_id, write_tone(tmp_path / "c.wav", 4, 500), "C")
    await add_entry(sessions, station_id, virtual.at(1), 4, media=a)
    old = await add_entry(sessions, station_id, virtual.at(5), 4, media=b)
    ex = virtual.executor(sessions, bus)
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(2)
        assert old.id in {uuid.UUID(i) for i in ex.in_engine}  # queued an hour ahead
        # the planner replaces the queued entry (a schedule edit)
        async with sessions() as session, session.begin():
            await session.execute(delete(TimelineEntry).where(TimelineEntry.id == old.id))
        new = await add_entry(sessions, station_id, virtual.at(5), 4, media=c)
        await ex.reload()
        await virtual.run_until(10)
    finally:
        await ex.close()
    rows = await as_run(sessions, station_id)
    assert [(r.title, offset(r.started_at), offset(r.ended_at)) for r in rows] == [
        ("A", 1.0, 5.0),
        ("C", 5.0, 9.0),  # B never aired: it was taken back
    ]
    assert rows[1].timeline_entry_id == new.id


async def test_an_executor_back_after_an_absence_logs_what_aired_meanwhile(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    song = await add_media(sessions, station_id, write_tone(tmp_path / "s.wav", 3, 300), "Song")
    plan = [await add_entry(sessions, station_id, virtual.at(t), 3, media=song) for t in (1, 4, 7)]
    first = virtual.executor(sessions, bus)
    await first.start()
    try:
        await first.wait_ready()
        await virtual.run_until(2)
    finally:
        await first.close()  # the control plane dies; the engine plays on
    await virtual.run_until(8)
    second = virtual.executor(sessions, bus)
    await second.start()
    try:
        await second.wait_ready()
        await virtual.run_until(11)
    finally:
        await second.close()
    rows = await as_run(sessions, station_id)
    assert [(r.timeline_entry_id, offset(r.started_at), offset(r.ended_at)) for r in rows] == [
        (plan[0].id, 1.0, 4.0),
        (plan[1].id, 4.0, 7.0),  # aired while nobody listened: logged from the journal
        (plan[2].id, 7.0, 10.0),
    ]
    assert all(r.end_reason is EndReason.FINISHED for r in rows)
    async with sessions() as session:
        found = await session.scalars(
            select(TimelineEntry.status).where(TimelineEntry.id.in_([e.id for e in plan]))
        )
        assert set(found) == {EntryStatus.AIRED}


async def test_the_rotation_plays_when_the_plan_runs_out(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    song = await add_media(sessions, station_id, write_tone(tmp_path / "s.wav", 2, 300), "Song")
    other = await add_media(sessions, station_id, write_tone(tmp_path / "o.wav", 2, 500), "Other")
    await add_entry(sessions, station_id, virtual.at(1), 2, media=song)
    ex = virtual.executor(sessions, bus, fallback_rotation=True)
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(8)
    finally:
        await ex.close()
    rows = await as_run(sessions, station_id)
    layers = [(r.layer, offset(r.started_at)) for r in rows]
    # the rotation covers the second before the plan, then takes over when it ends
    assert layers[0] == ("fallback", 0.0)
    assert ("automation", 1.0) in layers
    after = [r for r in rows if r.started_at >= virtual.at(3)]
    assert after
    assert all(r.layer == "fallback" for r in after)
    assert offset(after[0].started_at) == 3.0
    assert {r.media_id for r in rows if r.layer == "fallback"} <= {song.id, other.id}
    # nothing silent from the first block to the last
    assert all(peak > 0.01 for frame, peak in virtual.levels if frame > 960)
