"""The rolling timeline: shows, clocks and the library become concrete entries.

``build`` plans a window (48 h by default) and writes it in one transaction;
``simulate`` does the same without writing (what-if); ``diff`` compares two
versions of a timeline.

What a rebuild may touch: entries that aired, are on air or queued
(status other than ``planned``) and entries starting within ``LOCK`` of
``now`` are never changed. Planning resumes where the last of those ends;
every later planned entry of the station is replaced by the new plan (the
window is rebuilt as a whole, so nothing stale survives beyond it).

Determinism: each slot draws from ``random.Random(sha256(station, slot,
slot start))`` and slots are anchored to calendar positions (local hours,
show starts), never to ``now``. The slot in which planning resumes is
re-drawn from its start with the history as it was then (aired + kept
entries before it), so a rebuild of the same window yields the same entries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EntryStatus, PlannerError
from grimnir.planner._content import Content
from grimnir.planner._entries import Findings, SlotFiller
from grimnir.planner._load import Context, entries_between, load_context
from grimnir.planner._slots import lay_out
from grimnir.planner.reports import BuildReport, PlannedEntry, diff
from grimnir.planner.shows import ShowSchedule, schedule
from grimnir.planner.tracks import TrackLibrary
from grimnir.store.models import TimelineEntry
from grimnir.store.repos import allocate_timeline_seq

LOCK = timedelta(minutes=2)
"""Entries starting this close to ``now`` are about to be queued: never replanned."""

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

__all__ = ["LOCK", "BuildReport", "Plan", "build", "diff", "plan", "simulate"]


@dataclass(slots=True)
class Plan:
    """The outcome of planning a window, before anything is written."""

    report: BuildReport
    new: list[PlannedEntry]
    replaced: list[PlannedEntry]


async def build(
    session_factory: SessionFactory,
    station_id: uuid.UUID,
    start: datetime,
    hours: float = 48,
    *,
    now: datetime,
    write: bool = True,
    library: TrackLibrary | None = None,
    lock: timedelta = LOCK,
) -> BuildReport:
    """Plan ``hours`` from ``start`` for the station and (unless ``write=False``)
    store the result in one transaction.

    ``library`` may be passed in when the caller already holds the station's
    loaded :class:`TrackLibrary` (the benchmark, a long-running planner);
    otherwise it is loaded. Emits no events (the executor issue adds them).
    """
    for name, value in (("start", start), ("now", now)):
        if value.tzinfo is None:
            raise PlannerError(f"{name} {value.isoformat()} has no time zone; pass UTC times")
    if not 0 < hours <= 24 * 60:
        raise PlannerError(f"hours must be between 0 and 1440, got {hours}")
    began = time.perf_counter()
    end = start + timedelta(hours=hours)
    async with session_factory() as session, session.begin():
        ctx = await load_context(session, station_id, start, end, library=library)
        shows = schedule(ctx.shows, ctx.tz, start, end)
        rebroadcasts = await _rebroadcasts(session, ctx, shows)
        load_ms = (time.perf_counter() - began) * 1000
        result = plan(ctx, shows, start, end, now=now, lock=lock, rebroadcasts=rebroadcasts)
        if write:
            await _write(session, station_id, result.new, now + lock)
            result.report.written = True
    result.report.load_ms = load_ms
    result.report.elapsed_ms = (time.perf_counter() - began) * 1000
    return result.report


async def simulate(
    session_factory: SessionFactory,
    station_id: uuid.UUID,
    start: datetime,
    hours: float = 48,
    *,
    now: datetime,
    library: TrackLibrary | None = None,
) -> BuildReport:
    """What ``build`` would plan, without writing anything (what-if)."""
    return await build(
        session_factory, station_id, start, hours, now=now, write=False, library=library
    )


def plan(
    ctx: Context,
    shows: ShowSchedule,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    lock: timedelta = LOCK,
    rebroadcasts: dict[str, list[PlannedEntry]] | None = None,
) -> Plan:
    """Plan ``start`` … ``end`` from a loaded context (pure: no I/O)."""
    report = BuildReport(station_id=ctx.station_id, start=start, end=end)
    report.conflicts = [c.describe(ctx.tz) for c in shows.conflicts]
    report.warnings = [*ctx.problems, *shows.warnings]
    lock_at = now + lock
    kept = [e for e in ctx.entries if e.status != EntryStatus.PLANNED or e.starts_at < lock_at]
    replaced = [
        e for e in ctx.entries if e.status == EntryStatus.PLANNED and e.starts_at >= lock_at
    ]
    report.kept = sum(1 for e in kept if e.ends_at > start and e.starts_at < end)
    report.removed = len(replaced) + ctx.later_planned
    kept_end = max((e.ends_at for e in kept if e.ends_at > start), default=None)
    plan_from = max(start, kept_end) if kept_end is not None else start
    if plan_from >= end:
        return Plan(report, [], replaced)

    instances = lay_out(
        plan_from, end, shows.occurrences, ctx.default_clock, ctx.clocks, ctx.tz, report.warnings
    )
    if not instances:
        return Plan(report, [], replaced)
    regen = instances[0].start
    cursor = max((e.ends_at for e in kept if e.starts_at < regen), default=regen)
    found = Findings()
    content = Content(ctx, rebroadcasts or {})
    filler = SlotFiller(ctx.station_id, content, ctx.history(regen, kept), found)

    limits: list[datetime | None] = [None] * len(instances)
    upcoming: datetime | None = None
    for i in range(len(instances) - 1, -1, -1):
        limits[i] = upcoming
        if instances[i].hard:
            upcoming = instances[i].start
    generated: list[PlannedEntry] = []
    for inst, limit in zip(instances, limits, strict=True):
        again = inst.slot.params.get("rebroadcast_of")
        if again and datetime.fromisoformat(str(again)) >= regen:
            # the replayed hour was planned in this very build, not yet stored
            src = datetime.fromisoformat(str(again))
            span = src + (inst.end - inst.start)
            content.rebroadcasts[str(again)] = [e for e in generated if src <= e.starts_at < span]
        entries, cursor = filler.run(inst, cursor, limit)
        generated.extend(entries)

    if kept_end is None or kept_end <= start:
        # nothing kept covers the start: the item in progress there is planned too
        new = [e for e in generated if e.ends_at > plan_from and e.starts_at < end]
    else:
        new = [e for e in generated if plan_from <= e.starts_at < end]
    report.entries = new
    report.gaps = [g for g in found.gaps if g.end > plan_from and g.start < end]
    report.underfilled = found.underfilled
    report.relaxations = found.relaxations
    report.warnings.extend(found.warnings)
    return Plan(report, new, replaced)


async def _rebroadcasts(
    session: AsyncSession, ctx: Context, shows: ShowSchedule
) -> dict[str, list[PlannedEntry]]:
    """The earlier air time each rebroadcast replays, keyed by its ISO start."""
    out: dict[str, list[PlannedEntry]] = {}
    for occ in shows.occurrences:
        again = occ.content.rebroadcast_of
        if again is None or again.isoformat() in out:
            continue
        out[again.isoformat()] = await entries_between(
            session, ctx.station_id, None, again, again + (occ.end - occ.start)
        )
    return out


async def _write(
    session: AsyncSession, station_id: uuid.UUID, entries: list[PlannedEntry], lock_at: datetime
) -> None:
    """Replace the station's replanable entries with ``entries`` (caller's transaction)."""
    await session.execute(
        delete(TimelineEntry).where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.status == EntryStatus.PLANNED,
            TimelineEntry.starts_at >= lock_at,
        )
    )
    if not entries:
        return
    first = await allocate_timeline_seq(session, station_id, len(entries))
    rows: list[dict[str, Any]] = []
    for seq, entry in enumerate(entries, start=first):
        row = entry.to_row(station_id, seq)
        rows.append(
            {
                c.key: getattr(row, c.key)
                for c in TimelineEntry.__mapper__.column_attrs
                if getattr(row, c.key) is not None
            }
        )
    await session.execute(insert(TimelineEntry), rows)
