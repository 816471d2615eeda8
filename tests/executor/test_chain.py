"""Full chain: timeline in a real database → executor → real engine → as-run log.

The engine runs on a ``VirtualClock`` driven by the test and the executor
reads "now" from the same clock, so a minute of programme runs in seconds of
wall time while every start is decided by engine frames. The executor runs in
lock-step with the clock (``StationExecutor.settle``), so times are exact,
however busy the machine:

- what the test does at t (a DJ, a skip, an insert) reaches the engine on the
  next block, at t + 20 ms; so does what the executor does about an engine
  event (a pre-emption fades out over 200 ms from the block after the event);
- a join in progress is given the offset for ``JOIN_LEAD`` (0.2 s) ahead, but a
  file starts on the next block, so it ends 0.18 s before its slot does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from grimnir.bus import MemoryBus
from grimnir.domain import EndReason, EntryKind, EntryStatus, Timing
from grimnir.executor import StationExecutor
from grimnir.store.models import AsRun, ExecutorStateRecord, TimelineEntry
from tests._live import ToneLive
from tests.executor._station import (
    ORIGIN,
    Sessions,
    VirtualStation,
    add_entry,
    add_media,
    drain,
    write_tone,
)

POLL_S = 0.2


def executor(virtual: VirtualStation, sessions: Sessions, bus: MemoryBus) -> StationExecutor:
    """A lock-step executor polling the timeline every 0.2 s of programme (10 blocks)."""
    return virtual.executor(sessions, bus, poll_s=POLL_S)


async def as_run(sessions: Sessions, station: uuid.UUID) -> list[AsRun]:
    async with sessions() as session:
        rows = await session.scalars(
            select(AsRun).where(AsRun.station_id == station).order_by(AsRun.started_at)
        )
        return list(rows)


async def statuses(sessions: Sessions, ids: list[uuid.UUID]) -> list[EntryStatus]:
    async with sessions() as session:
        found = {
            row.id: row.status
            for row in await session.scalars(select(TimelineEntry).where(TimelineEntry.id.in_(ids)))
        }
    return [found[i] for i in ids]


def offset(when: datetime) -> float:
    return (when - ORIGIN).total_seconds()


def times(rows: list[AsRun]) -> list[tuple[float, float | None]]:
    """(start, end) of each as-run row, in seconds of programme."""
    return [
        (offset(r.started_at), None if r.ended_at is None else offset(r.ended_at)) for r in rows
    ]


async def test_the_as_run_log_matches_the_plan(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    tone = {s: write_tone(tmp_path / f"t{s}.wav", s, 220 * s) for s in (2, 3, 4)}
    a = await add_media(sessions, station_id, tone[4], "Song A")
    j = await add_media(sessions, station_id, tone[2], "Station ID", "Jingles")
    b = await add_media(sessions, station_id, tone[3], "Song B")
    at = virtual.at
    missed = await add_entry(sessions, station_id, at(-20), 4, media=a)
    plan = [
        await add_entry(sessions, station_id, at(10), 4, media=a),
        await add_entry(sessions, station_id, at(14), 2, media=j, kind=EntryKind.JINGLE),
        await add_entry(sessions, station_id, at(18), 3, media=b, timing=Timing.HARD),
        await add_entry(sessions, station_id, at(21), 4, media=a),
        await add_entry(sessions, station_id, at(23.5), 3, media=b, timing=Timing.HARD),
        await add_entry(sessions, station_id, at(45), 3, media=b),  # after a hole in the plan
    ]
    sub = await bus.subscribe(station_id=str(station_id))
    ex = executor(virtual, sessions, bus)
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(52)
    finally:
        await ex.close()

    rows = await as_run(sessions, station_id)
    assert [r.timeline_entry_id for r in rows] == [e.id for e in plan]
    # soft entries start at their time or at the end of the one before, never after it
    # (a hole in the plan moves the soft entry after it earlier); hard ones on time
    assert times(rows) == [
        (10.0, 14.0),
        (14.0, 16.0),
        (18.0, 21.0),
        (21.0, 23.52),  # cut by the hard entry at 23.5 with a 20 ms declick fade
        (23.5, 26.5),
        (26.5, 29.5),  # planned at 45 s: it follows at once, not after 18.5 s of silence
    ]
    reasons = [r.end_reason for r in rows]
    assert reasons == [EndReason.FINISHED] * 3 + [EndReason.PREEMPTED] + [EndReason.FINISHED] * 2
    assert rows[1].title == "Station ID"  # the log keeps the jingle's name
    assert all(r.layer == "automation" and r.album == "Album" for r in rows)
    assert await statuses(sessions, [e.id for e in plan]) == [EntryStatus.AIRED] * 6
    assert await statuses(sessions, [missed.id]) == [EntryStatus.SKIPPED]

    # what was heard: programme while items play, silence in the gap between 16 s and 18 s
    level = dict(virtual.levels)

    def frame(seconds: float) -> int:
        return round(seconds * 48_000) // 960 * 960

    assert level[frame(11)] > 0.2
    assert level[frame(17)] == 0.0
    assert level[frame(27)] > 0.2

    events = await drain(sub)
    kinds = [e.type for e in events]
    assert kinds.count("item.started") == 6
    assert kinds.count("item.ended") == 6
    playing = [e.data for e in events if e.type == "now_playing"]
    assert [p["entry_id"] for p in playing] == [str(e.id) for e in plan]
    assert playing[0]["title"] == "Song A"
    assert playing[1]["title"] == ""  # jingles go on air without metadata
    assert [e.data["to_key"] for e in events if e.type == "priority.changed"][:1] == ["automation"]
    async with sessions() as session:
        state = await session.get(ExecutorStateRecord, station_id)
    assert state is not None


async def test_live_preempts_and_emergency_preempts_live(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:

    song = await add_media(sessions, station_id, write_tone(tmp_path / "s.wav", 20, 330), "Long")
    alert = write_tone(tmp_path / "alert.wav", 2, 880)
    first = await add_entry(sessions, station_id, virtual.at(5), 20, media=song)
    second = await add_entry(sessions, station_id, virtual.at(25), 20, media=song)
    sub = await bus.subscribe(["priority.changed"], str(station_id))
    ex = executor(virtual, sessions, bus)
    await ex.start()
    states: list[str] = []
    try:
        await ex.wait_ready()
        await virtual.run_until(8)
        virtual.engine.set_live(ToneLive(6), "/live")  # a DJ for 6 s
        await virtual.run_until(10)
        states.append(ex.state.value)
        await virtual.run_until(30)
        states.append(ex.state.value)
        virtual.engine.set_live(ToneLive(10), "/live")
        await virtual.run_until(33)
        await ex.insert_emergency(alert)
        await virtual.run_until(34)
        states.append(ex.state.value)
        await virtual.run_until(37)
        states.append(ex.state.value)
        await virtual.run_until(46)
    finally:
        await ex.close()

    assert states == ["live", "playing", "emergency", "live"]
    ladder = [e.data["to"] for e in await drain(sub)]
    assert ladder == [3, 1, 3, 1, 0, 1, 3]  # automation, live, back, live, emergency, live, back

    rows = await as_run(sessions, station_id)
    summary = [(r.layer, r.timeline_entry_id, r.end_reason) for r in rows]
    # automation plays on under the DJ and the alert; the log follows what is heard
    assert summary == [
        ("automation", first.id, EndReason.PREEMPTED),
        ("live", None, EndReason.FINISHED),
        ("automation", first.id, EndReason.FINISHED),  # heard again where it had got to
        ("automation", second.id, EndReason.PREEMPTED),
        ("live", None, EndReason.PREEMPTED),
        ("emergency", None, EndReason.FINISHED),
        ("live", None, EndReason.FINISHED),
        ("automation", second.id, EndReason.FINISHED),
    ]
    assert times(rows) == [
        (5.0, 8.02),  # the DJ's audio from 8.02 takes the air
        (8.02, 14.1),  # 6 s of DJ; 100 ms after the last audio automation is heard again
        (14.1, 25.0),  # on time: no rejoin, no silence, the song ends where planned
        (25.0, 30.02),
        (30.02, 33.02),
        (33.02, 35.02),  # inserted at 33 s, over the DJ
        (35.02, 40.1),  # the DJ is heard again after the alert
        (40.1, 45.0),
    ]
    assert [r.priority for r in rows] == [3, 1, 3, 3, 1, 0, 1, 3]


async def test_a_scheduled_show_airs_its_fallback_programme_under_the_dj(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:

    filler = await add_media(sessions, station_id, write_tone(tmp_path / "f.wav", 10, 500), "Fill")
    no_dj = await add_entry(sessions, station_id, virtual.at(5), 10, kind=EntryKind.LIVE)
    cover = await add_entry(sessions, station_id, virtual.at(5), 10, media=filler)
    show = await add_entry(
        sessions, station_id, virtual.at(20), 10, kind=EntryKind.LIVE, meta={"mount": "/show"}
    )
    held = await add_entry(sessions, station_id, virtual.at(20), 10, media=filler)
    ex = executor(virtual, sessions, bus)
    ex.live_grace_s = 2.0
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(20.3)
        virtual.engine.set_live(ToneLive(9.5), "/show")  # the DJ arrives within the grace
        await virtual.run_until(25)
        scheduled = ex.priority.on_air
        await virtual.run_until(32)
    finally:
        await ex.close()

    rows = await as_run(sessions, station_id)
    # the show's fallback programme plays at once (under the DJ once one comes); the
    # entry planned at 20 s follows the cover at 15 s: a hole in the plan is not aired
    assert [(r.layer, r.timeline_entry_id, r.end_reason) for r in rows] == [
        ("automation", cover.id, EndReason.FINISHED),  # no DJ: no silence waiting for one
        ("automation", held.id, EndReason.PREEMPTED),
        ("live", None, EndReason.FINISHED),
    ]
    assert times(rows) == [
        (5.0, 15.0),
        (15.0, 20.32),  # the DJ's audio from 20.32 takes the air
        (20.32, 30.8),  # 9.5 s of DJ, nothing under it any more: the 1 s grace, then off
    ]
    assert rows[2].priority == 2
    assert scheduled == 2
    assert await statuses(sessions, [no_dj.id, cover.id, show.id, held.id]) == [
        EntryStatus.SKIPPED,
        EntryStatus.AIRED,
        EntryStatus.AIRED,
        EntryStatus.AIRED,
    ]


async def test_a_restarted_executor_plays_nothing_twice(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    song = await add_media(sessions, station_id, write_tone(tmp_path / "s.wav", 6, 300), "Six")
    plan = [
        await add_entry(sessions, station_id, virtual.at(t), 6, media=song) for t in (5, 11, 17)
    ]
    starts: list[str] = []

    async def count_starts() -> None:
        async for record in virtual.client.events():
            if record.type == "item.started":
                starts.append(str(record.data["item_id"]))

    import asyncio

    counter = asyncio.create_task(count_starts())
    first = executor(virtual, sessions, bus)
    await first.start()
    try:
        await first.wait_ready()
        await virtual.run_until(7)  # the first entry on air, two queued
    finally:
        await first.close()
    await virtual.run_until(8)
    second = executor(virtual, sessions, bus)
    await second.start()
    try:
        await second.wait_ready()
        assert second.in_engine == {str(e.id) for e in plan}
        await virtual.run_until(26)
    finally:
        await second.close()
        counter.cancel()

    assert sorted(starts) == sorted(str(e.id) for e in plan)  # each sent and started once
    rows = await as_run(sessions, station_id)
    assert [r.timeline_entry_id for r in rows] == [e.id for e in plan]
    assert times(rows) == [(5.0, 11.0), (11.0, 17.0), (17.0, 23.0)]
    assert await statuses(sessions, [e.id for e in plan]) == [EntryStatus.AIRED] * 3


async def test_manual_skip_insert_stop_and_reload(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    tmp_path: Path,
) -> None:
    song = await add_media(sessions, station_id, write_tone(tmp_path / "s.wav", 8, 300), "Eight")
    promo = write_tone(tmp_path / "promo.wav", 1, 600)
    a = await add_entry(sessions, station_id, virtual.at(2), 8, media=song)
    b = await add_entry(sessions, station_id, virtual.at(10), 8, media=song)
    ex = executor(virtual, sessions, bus)
    ex.poll_s = 600  # timeline passes only when woken or asked: reload() must do its part
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(4)
        await ex.skip(fade_ms=100)  # a ends early: b (already queued) follows at once
        await virtual.run_until(6)
        await ex.stop(fade_ms=100)
        await virtual.run_until(7)
        stopped_state = ex.state.value
        inserted = await ex.insert(promo)  # plays next, at once: nothing is on air
        await virtual.run_until(9)
        await ex.resume()  # b joins in progress, where its moved slot has got to
        await virtual.run_until(15)
        late = await add_entry(sessions, station_id, virtual.at(20), 2, media=song)
        assert await ex.reload() == 1  # the planner added an entry: sent now
        await virtual.run_until(29)
    finally:
        await ex.close()

    rows = await as_run(sessions, station_id)
    got = [(r.timeline_entry_id, r.end_reason) for r in rows]
    assert got == [
        (a.id, EndReason.SKIPPED),
        (b.id, EndReason.SKIPPED),
        (None, EndReason.FINISHED),
        (b.id, EndReason.FINISHED),
        (late.id, EndReason.FINISHED),
    ]
    assert inserted.startswith("insert-")
    assert times(rows) == [
        (2.0, 4.12),  # skipped at 4 s: a 100 ms fade from the next block
        (4.02, 6.12),  # b at once, under a's fade (not at 10 s); stopped at 6 s
        (7.02, 8.02),  # inserted at 7 s
        (9.2, 12.02),  # resumed at 9 s: joined in progress in its slot, moved to 4.02 s
        (20.0, 28.0),  # reloaded at 15 s, on air at its time
    ]
    assert stopped_state == "idle"
