"""The rolling replan never leaves a hole: rebuilds at many ``now`` values, with the
executor moving entries along (queued, on air, aired with as-run rows) in between."""

# ruff: noqa: F811 — the fixtures imported from _library are parameters here

from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import EntryStatus, MediaState, Timing
from grimnir.planner.builder import LOCK, build, timeline_holes
from grimnir.planner.reports import BuildReport, Gap, PlannedEntry
from grimnir.store.models import AsRun, ClockSlot, MediaItem, TimelineEntry
from tests.planner._library import (  # noqa: F401 — fixtures
    library_db,
    sessions,
    station_id,
)
from tests.planner.test_builder import T0, make_clock, setup

Sessions = async_sessionmaker[AsyncSession]
HOURS = 5
PRELOAD = timedelta(seconds=30)
"""How far ahead the simulated executor queues entries (its default ``preload_s``)."""


def rebuild_times(seed: int = 14) -> list[datetime]:
    """Every 10 minutes over four hours, plus odd instants (x:04:44.435 and random ones)."""
    rng = random.Random(seed)
    times = {T0 + timedelta(minutes=10 * k) for k in range(25)}
    times.add(T0.replace(hour=T0.hour + 2, minute=4, second=44, microsecond=435_000))
    times.update(T0 + timedelta(milliseconds=rng.randrange(4 * 3_600_000) + 1) for _ in range(12))
    return sorted(times)


async def air_until(
    sessions: Sessions, station_id: uuid.UUID, now: datetime, preload: timedelta = PRELOAD
) -> None:
    """Move the timeline along as the executor would have by ``now``: entries over are
    aired, the one playing is on air (both with as-run rows, started on time), the
    ones due within ``preload`` are queued."""
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(TimelineEntry).where(
                TimelineEntry.station_id == station_id,
                TimelineEntry.status.in_(
                    (EntryStatus.PLANNED, EntryStatus.QUEUED, EntryStatus.ON_AIR)
                ),
                TimelineEntry.starts_at < now + preload,
            )
        )
        for row in rows:
            if row.starts_at > now:
                row.status = EntryStatus.QUEUED
                continue
            if row.status != EntryStatus.ON_AIR:
                session.add(
                    AsRun(
                        station_id=station_id,
                        timeline_entry_id=row.id,
                        media_id=row.media_id,
                        title=row.title,
                        artist=row.artist,
                        started_at=row.starts_at,
                        ended_at=row.ends_at if row.ends_at <= now else None,
                    )
                )
            row.status = EntryStatus.AIRED if row.ends_at <= now else EntryStatus.ON_AIR


async def timeline(sessions: Sessions, station_id: uuid.UUID) -> list[PlannedEntry]:
    async with sessions() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(
                TimelineEntry.station_id == station_id,
                TimelineEntry.status != EntryStatus.SKIPPED,
            )
            .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
        )
        return [PlannedEntry.from_row(r) for r in rows]


def holes_in(entries: list[PlannedEntry], until: datetime) -> list[str]:
    """Every place where an entry does not start exactly where the previous one ends."""
    out = []
    for a, b in itertools.pairwise(e for e in entries if e.starts_at < until):
        if a.ends_at != b.starts_at:
            kind = "hole" if a.ends_at < b.starts_at else "overlap"
            out.append(f"{kind} {a.ends_at.isoformat()} – {b.starts_at.isoformat()}")
    return out


def assert_on_air_rules(entries: list[PlannedEntry], now: datetime, clocked: bool) -> None:
    assert entries[0].starts_at <= T0
    assert entries[-1].ends_at >= now + timedelta(hours=HOURS)
    assert holes_in(entries, now + timedelta(hours=HOURS)) == [], f"rebuilt at {now}"
    if clocked:
        hard = [e for e in entries if e.timing == Timing.HARD]
        tops = {e.starts_at for e in hard}
        assert len(hard) >= HOURS
        assert all(t.minute == t.second == t.microsecond == 0 for t in tops)


@pytest.mark.parametrize("clocked", [True, False], ids=["clock", "rotation"])
async def test_rolling_rebuilds_keep_the_timeline_contiguous(
    sessions: Sessions, station_id: uuid.UUID, clocked: bool
) -> None:
    rows = await setup(sessions, station_id)
    if clocked:
        await make_clock(sessions, station_id, rows)
    first = await build(sessions, station_id, T0, HOURS, now=T0)
    assert first.gaps == []
    previous = T0
    for now in rebuild_times():
        await air_until(sessions, station_id, now)
        before = await timeline(sessions, station_id)
        report = await build(sessions, station_id, now, HOURS, now=now)
        entries = await timeline(sessions, station_id)
        assert_on_air_rules(entries, now, clocked)
        assert report.gaps == [], (now, report.gaps)
        # what was kept is untouched; the first new entry joins it exactly
        kept = [e for e in before if e.status != EntryStatus.PLANNED or e.starts_at < now + LOCK]
        assert report.kept >= 1
        assert all(e in entries for e in kept)
        assert report.entries
        assert report.entries[0].starts_at == max(
            e.ends_at for e in entries[: -len(report.entries)]
        )
        # NOTE: the first build started mid-hour and planned the next hour with plays
        # it did not keep, so the first rebuild in that hour re-draws it; from then on
        # a rebuild changes nothing it planned. With a clock, only while planning
        # resumes in the same hour: playlist positions (the stopset's ads) are not
        # stored, so each build deals its playlists afresh from that hour.
        join = report.entries[0].starts_at
        if now >= T0 + timedelta(hours=1) and (not clocked or join.hour == previous.hour):
            old = {e.starts_at: e for e in before}
            covered = max(e.ends_at for e in before)
            for e in report.entries:
                if e.ends_at <= covered:
                    assert e.starts_at in old, (now, e)
                    assert old[e.starts_at].same_as(e), (now, e)
        previous = join


async def test_the_report_counts_holes_in_what_it_keeps(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    """A hole inside the locked part (a row gone) cannot be replanned: it is reported."""
    rows = await setup(sessions, station_id)
    await make_clock(sessions, station_id, rows)
    await build(sessions, station_id, T0, 3, now=T0)
    now = T0 + timedelta(minutes=30)
    await air_until(sessions, station_id, now)
    entries = await timeline(sessions, station_id)
    victim = next(e for e in entries if e.status == EntryStatus.PLANNED and e.starts_at > now)
    async with sessions() as session, session.begin():
        await session.execute(delete(TimelineEntry).where(TimelineEntry.id == victim.id))
        after = next(e for e in entries if e.starts_at == victim.ends_at)
        row = await session.get(TimelineEntry, after.id)
        assert row is not None
        row.status = EntryStatus.QUEUED
    # the entry after it is about to air (inside the lock): the hole is locked in
    lock = after.starts_at - now + timedelta(seconds=1)
    report: BuildReport = await build(sessions, station_id, now, 3, now=now, lock=lock)
    assert [(g.start, g.end) for g in report.gaps] == [(victim.starts_at, victim.ends_at)]
    assert report.errors
    holes = await timeline_holes(sessions, station_id, now, now + timedelta(hours=3))
    assert [(g.start, g.end) for g in holes] == [(victim.starts_at, victim.ends_at)]
    assert all(isinstance(g, Gap) for g in holes)


@pytest.mark.parametrize("clocked", [True, False], ids=["clock", "rotation"])
async def test_a_replay_that_no_longer_leads_to_the_kept_entries_resumes_at_the_join(
    sessions: Sessions, station_id: uuid.UUID, clocked: bool
) -> None:
    """Tracks of the hour gone from the library: the hour cannot be drawn again as it
    was, so the plan resumes exactly at the end of what is kept, and stays put."""
    rows = await setup(sessions, station_id)
    if clocked:
        await make_clock(sessions, station_id, rows)
    await build(sessions, station_id, T0, HOURS, now=T0)
    now = T0 + timedelta(minutes=25)
    await air_until(sessions, station_id, now)
    aired = [e.media_id for e in await timeline(sessions, station_id) if e.starts_at < now]
    async with sessions() as session, session.begin():
        await session.execute(
            update(MediaItem)
            .where(MediaItem.id.in_([m for m in aired if m != rows[-1]["id"]]))
            .values(state=MediaState.FAILED)
        )
    before = await timeline(sessions, station_id)
    report = await build(sessions, station_id, now, HOURS, now=now)
    entries = await timeline(sessions, station_id)
    assert_on_air_rules(entries, now, clocked)
    assert report.gaps == []
    locked = [e for e in before if e.status != EntryStatus.PLANNED or e.starts_at < now + LOCK]
    join = max(e.ends_at for e in locked)
    assert report.entries[0].starts_at == join
    assert report.entries[0].meta["resumed_at"] == join.isoformat()
    assert report.entries[0].timing == Timing.SOFT or join.minute == join.second == 0

    # a later rebuild in the same hour replays the resumed plan: nothing changes
    later = now + timedelta(minutes=10)
    await air_until(sessions, station_id, later)
    before = await timeline(sessions, station_id)
    again = await build(sessions, station_id, later, HOURS, now=later)
    assert again.gaps == []
    assert_on_air_rules(await timeline(sessions, station_id), later, clocked)
    old = {e.starts_at: e for e in before}
    covered = max(e.ends_at for e in before)
    assert again.entries
    assert all(old[e.starts_at].same_as(e) for e in again.entries if e.ends_at <= covered)


async def test_a_hard_item_that_aired_is_not_played_again_when_its_slot_resumes(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    """The top-of-hour ID is on air and the clock now names another item: the hour
    resumes after the ID that aired, without a second ID."""
    rows = await setup(sessions, station_id)
    ids = await make_clock(sessions, station_id, rows)
    await build(sessions, station_id, T0, HOURS, now=T0)
    top = T0.replace(minute=0) + timedelta(hours=1)
    now = top + timedelta(seconds=5)
    await air_until(sessions, station_id, now, preload=timedelta(0))
    async with sessions() as session, session.begin():
        await session.execute(
            update(ClockSlot)
            .where(ClockSlot.clock_id == ids["clock"], ClockSlot.position == 0)
            .values(media_id=rows[5]["id"])
        )
    report = await build(sessions, station_id, now, HOURS, now=now, lock=timedelta(0))
    entries = await timeline(sessions, station_id)
    assert_on_air_rules(entries, now, clocked=True)
    assert report.gaps == []
    on_air = next(e for e in entries if e.starts_at == top)
    assert on_air.media_id == ids["jingle"]
    assert report.entries[0].starts_at == on_air.ends_at == top + timedelta(seconds=8)
    assert report.entries[0].meta["resumed_at"] == on_air.ends_at.isoformat()
    assert report.entries[0].media_id not in (ids["jingle"], rows[5]["id"])
    assert report.entries[0].timing == Timing.SOFT
    later = [e for e in report.entries if e.starts_at == top + timedelta(hours=1)]
    assert [(e.media_id, e.timing) for e in later] == [(rows[5]["id"], Timing.HARD)]


async def test_queued_entries_beyond_the_lock_are_replanned(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    """The executor holds an hour in the engine (queued): a rebuild replans the queued
    entries from ``LOCK`` on like planned ones. What it plans again unchanged keeps its
    row (same id, still queued: the executor takes nothing back and sends nothing
    again); what changed gets new rows, and the executor takes the old ones back."""
    rows = await setup(sessions, station_id)
    await make_clock(sessions, station_id, rows)
    await build(sessions, station_id, T0, 3, now=T0)
    now = T0 + timedelta(minutes=20)
    await air_until(sessions, station_id, now, timedelta(hours=1))
    before = {e.id: e for e in await timeline(sessions, station_id)}
    queued = [e for e in before.values() if e.status == EntryStatus.QUEUED]
    assert any(e.starts_at >= now + LOCK for e in queued)
    report = await build(sessions, station_id, now, 3, now=now)
    after = {e.id: e for e in await timeline(sessions, station_id)}
    for entry in queued:
        assert after[entry.id].status == EntryStatus.QUEUED
        assert after[entry.id].same_as(entry)
    assert report.unchanged >= sum(1 for e in queued if e.starts_at >= now + LOCK)
    assert report.gaps == []

    # a queued track is withdrawn: its entry (and what the new draw changed) is replaced
    victim = next(e for e in queued if e.starts_at >= now + LOCK and e.media_id is not None)
    async with sessions() as session, session.begin():
        await session.execute(
            update(MediaItem).where(MediaItem.id == victim.media_id).values(state=MediaState.FAILED)
        )
    report = await build(sessions, station_id, now, 3, now=now)
    after = {e.id: e for e in await timeline(sessions, station_id)}
    assert victim.id not in after
    assert all(e.media_id != victim.media_id for e in after.values() if e.starts_at >= now + LOCK)
    for entry in queued:
        if entry.starts_at < now + LOCK:
            assert entry.id in after  # about to air: kept
    assert report.unchanged < len(report.entries)
    assert report.gaps == []
