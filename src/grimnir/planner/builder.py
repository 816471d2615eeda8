"""The rolling timeline: shows, clocks and the library become concrete entries.

``build`` plans a window (48 h by default) and writes it in one transaction;
``simulate`` does the same without writing (what-if); ``diff`` compares two
versions of a timeline.

What a rebuild may touch: entries that aired or are on air, and entries
starting within ``LOCK`` of ``now``, are never changed. Entries the executor
has only queued in the engine (it holds the next hour there) are replanned
like planned ones; the executor takes back from the engine what a rebuild
removed. Planning resumes exactly where the last of those
ends (the first new entry starts at its ``ends_at``: entries follow each
other back to back, crossfades are the executor's business); every later
planned entry of the station is replaced by the new plan (the window is
rebuilt as a whole, so nothing stale survives beyond it). The report's gaps
are the holes of the timeline as it will be after the write, kept + new.

Determinism: each slot draws from ``random.Random(sha256(station, slot,
slot start))`` and slots are anchored to calendar positions (local hours,
show starts), never to ``now``. The slot in which planning resumes is
re-drawn from its start with the history as it was then (kept entries and
other as-run plays before it), so a rebuild of the same window yields the
same entries. Should that replay not lead to the kept entries (the library
or the rules changed), the slot is re-drawn from the join instead: the plan
after it changes, deterministically, and still joins without a hole.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EntryStatus, PlannerError
from grimnir.observability import metrics as observed
from grimnir.planner._content import Content
from grimnir.planner._entries import Findings, SlotFiller
from grimnir.planner._load import Context, entries_between, load_context
from grimnir.planner._slots import lay_out
from grimnir.planner.clocks import SlotInstance
from grimnir.planner.playlists import PlaylistState
from grimnir.planner.reports import BuildReport, Gap, PlannedEntry, diff, holes
from grimnir.planner.shows import ShowSchedule, schedule
from grimnir.planner.tracks import TrackLibrary
from grimnir.store.models import TimelineEntry
from grimnir.store.repos import allocate_timeline_seq

REPLANNABLE = (EntryStatus.PLANNED, EntryStatus.QUEUED)
"""Statuses a rebuild may replace (from ``LOCK`` on): not yet on air."""
LOCK = timedelta(minutes=2)
"""Entries starting this close to ``now`` are about to be queued: never replanned."""

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

__all__ = ["LOCK", "BuildReport", "Plan", "build", "diff", "plan", "simulate", "timeline_holes"]


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
    with observed.plan_build(str(station_id)) as span:
        async with session_factory() as session, session.begin():
            ctx = await load_context(session, station_id, start, end, library=library)
            shows = schedule(ctx.shows, ctx.tz, start, end)
            rebroadcasts = await _rebroadcasts(session, ctx, shows)
            load_ms = (time.perf_counter() - began) * 1000
            result = plan(ctx, shows, start, end, now=now, lock=lock, rebroadcasts=rebroadcasts)
            if write:
                await _write(session, station_id, result, now + lock, since=ctx.since or start)
                result.report.written = True
        span.set_attribute("entries", len(result.new))
    if write:
        observed.planned_entries(str(station_id), len(result.new))
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


async def timeline_holes(
    session_factory: SessionFactory, station_id: uuid.UUID, start: datetime, end: datetime
) -> list[Gap]:
    """Holes in the station's stored timeline over ``start`` … ``end``: where no
    (not skipped) entry plays. The time after the last stored entry is not
    planned yet rather than a hole, and is left out."""
    async with session_factory() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(
                TimelineEntry.station_id == station_id,
                TimelineEntry.ends_at > start,
                TimelineEntry.starts_at < end,
            )
            .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
        )
        entries = [PlannedEntry.from_row(r) for r in rows]
    return holes(entries, start, end, tail=False)


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
    kept = [e for e in ctx.entries if e.status not in REPLANNABLE or e.starts_at < lock_at]
    replaced = [e for e in ctx.entries if e.status in REPLANNABLE and e.starts_at >= lock_at]
    report.kept = sum(1 for e in kept if e.ends_at > start and e.starts_at < end)
    report.removed = len(replaced) + ctx.later_planned
    kept_end = max((e.ends_at for e in kept if e.ends_at > start), default=None)
    plan_from = max(start, kept_end) if kept_end is not None else start
    found = Findings()
    new: list[PlannedEntry] = []
    instances = (
        lay_out(
            plan_from,
            end,
            shows.occurrences,
            ctx.default_clock,
            ctx.clocks,
            ctx.tz,
            report.warnings,
        )
        if plan_from < end
        else []
    )
    if instances:
        fill = _Fill(ctx, instances, Content(ctx, rebroadcasts or {}), found)
        if kept_end is None or kept_end <= start:
            # nothing kept covers the start: the item in progress there is planned too
            generated = fill.replay(kept, None)
            new = [e for e in generated if e.ends_at > plan_from and e.starts_at < end]
        else:
            generated = fill.replay(kept, plan_from)
            new = [e for e in generated if plan_from <= e.starts_at < end]
    report.entries = new
    report.gaps = _gaps([*kept, *new], found.gaps, max(start, now), end)
    report.underfilled = found.underfilled
    report.relaxations = found.relaxations
    report.warnings.extend(found.warnings)
    return Plan(report, new, replaced)


RESUMED_AT = "resumed_at"
"""Meta key of the first entry a resumed slot planned: where that build resumed."""


class _Fill:
    """Fills the slot instances of one build in order.

    With a join (the end of the kept entries), the slot where planning
    resumes is first replayed the way the build that planned the kept entries
    drew it: from its start with the history as it was then, or from where
    that build resumed (``RESUMED_AT``). When the replay plans exactly what is
    kept and has an entry starting at the join, the rest follows as before (a
    rebuild changes nothing). When it does not (the library, the rules or the
    history changed since), the replay is dropped and the slot is resumed at
    the join itself, so the new entries always start where the kept ones end.
    """

    def __init__(
        self, ctx: Context, instances: list[SlotInstance], content: Content, found: Findings
    ) -> None:
        self.ctx = ctx
        self.instances = instances
        self.content = content
        self.found = found
        self.limits: list[datetime | None] = [None] * len(instances)
        upcoming: datetime | None = None
        for i in range(len(instances) - 1, -1, -1):
            self.limits[i] = upcoming
            if instances[i].hard:
                upcoming = instances[i].start
        self.generated: list[PlannedEntry] = []

    def replay(self, kept: list[PlannedEntry], join: datetime | None) -> list[PlannedEntry]:
        """Every entry from where drawing starts (see the class docstring)."""
        regen = self.instances[0].start
        if join is None:
            self._rest(*self._from_start(kept))
            return self.generated
        mark = self.found.mark()
        anchors = [
            datetime.fromisoformat(str(e.meta[RESUMED_AT]))
            for e in kept
            if regen <= e.starts_at < join and RESUMED_AT in e.meta
        ]
        since = max((a for a in anchors if regen < a < join), default=None)
        filler, i, cursor = self._from_start(kept) if since is None else self._resume(kept, since)
        last = self._index(join)
        while i < len(self.instances) and (cursor < join or i <= last):
            cursor = self._run(filler, i, cursor)
            i += 1
        if _replays(self.generated, kept, since or regen, join):
            self._rest(filler, i, cursor)
            return self.generated
        self.found.rewind(mark)
        self._rest(*self._resume(kept, join))
        first = next((k for k, e in enumerate(self.generated) if e.starts_at >= join), None)
        if first is not None:
            entry = self.generated[first]
            self.generated[first] = entry.moved(meta={**entry.meta, RESUMED_AT: join.isoformat()})
        return self.generated

    def _from_start(self, kept: list[PlannedEntry]) -> tuple[SlotFiller, int, datetime]:
        regen = self.instances[0].start
        cursor = max((e.ends_at for e in kept if e.starts_at < regen), default=regen)
        history = self.ctx.history(regen, kept)
        return SlotFiller(self.ctx.station_id, self.content, history, self.found), 0, cursor

    def _resume(self, kept: list[PlannedEntry], at: datetime) -> tuple[SlotFiller, int, datetime]:
        """Draw again from ``at`` inside its slot, after the kept entries before it."""
        # NOTE: playlist positions are not stored: a build deals from scratch where
        # it starts drawing, so a later replay from ``at`` deals the same.
        self.ctx.playlist_state = PlaylistState()
        history = self.ctx.history(at, kept)
        filler = SlotFiller(self.ctx.station_id, self.content, history, self.found)
        regen = self.instances[0].start
        # what is on air before ``at``, for a rebroadcast of this very hour
        self.generated = sorted(
            (e for e in kept if regen <= e.starts_at < at), key=lambda e: e.starts_at
        )
        index = self._index(at)
        inst = self.instances[index]
        played = [e for e in self.generated if e.starts_at >= inst.start]
        return filler, index + 1, self._run(filler, index, at, played)

    def _index(self, at: datetime) -> int:
        """The instance ``at`` falls in (or the next one)."""
        return next(
            (k for k, inst in enumerate(self.instances) if inst.end > at),
            len(self.instances) - 1,
        )

    def _rest(self, filler: SlotFiller, index: int, cursor: datetime) -> None:
        for k in range(index, len(self.instances)):
            cursor = self._run(filler, k, cursor)

    def _run(
        self,
        filler: SlotFiller,
        index: int,
        cursor: datetime,
        played: list[PlannedEntry] | None = None,
    ) -> datetime:
        inst = self.instances[index]
        again = inst.slot.params.get("rebroadcast_of")
        if again and datetime.fromisoformat(str(again)) >= self.instances[0].start:
            # the replayed hour was planned in this very build, not yet stored
            src = datetime.fromisoformat(str(again))
            span = src + (inst.end - inst.start)
            self.content.rebroadcasts[str(again)] = [
                e for e in self.generated if src <= e.starts_at < span
            ]
        entries, cursor = filler.run(inst, cursor, self.limits[index], played)
        self.generated.extend(entries)
        return cursor


def _replays(
    generated: list[PlannedEntry], kept: list[PlannedEntry], since: datetime, join: datetime
) -> bool:
    """Whether a replay from ``since`` planned the kept entries from there on and
    has an entry starting exactly at ``join``."""
    on_air = sorted((e for e in kept if since <= e.starts_at < join), key=lambda e: e.starts_at)
    since = on_air[0].starts_at if on_air else join
    again = [e for e in generated if since <= e.starts_at < join]

    def key(e: PlannedEntry) -> tuple[object, ...]:
        return (e.starts_at, e.ends_at, e.kind, e.media_id, e.webstream_id)

    joins = any(e.starts_at == join for e in generated)
    return joins and [key(e) for e in again] == [key(e) for e in on_air]


def _gaps(
    timeline: list[PlannedEntry], found: list[Gap], start: datetime, end: datetime
) -> list[Gap]:
    """The holes of the timeline as it will be after the write (kept + new), with the
    filler's reason where it knows why (e.g. an empty library)."""
    out: list[Gap] = []
    for hole in holes(timeline, start, end):
        at = hole.start
        for gap in sorted(found, key=lambda g: g.start):
            a, b = max(gap.start, at), min(gap.end, hole.end)
            if a >= b:
                continue
            if a > at:
                out.append(Gap(at, a, hole.reason))
            out.append(Gap(a, b, gap.reason))
            at = b
        if at < hole.end:
            out.append(Gap(at, hole.end, hole.reason))
    return out


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
    session: AsyncSession,
    station_id: uuid.UUID,
    result: Plan,
    lock_at: datetime,
    *,
    since: datetime,
) -> None:
    """Replace the station's replanable entries with the plan's (caller's transaction).

    A stored entry the new plan has again, unchanged in every planned field, stays as
    it is (same row, id and status): what the executor already queued in the engine is
    not taken back and sent again after every rebuild, only what really changed.
    """
    # NOTE: rows not loaded into the plan (before its history, after its end) go as before
    await session.execute(
        delete(TimelineEntry).where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.status.in_(REPLANNABLE),
            TimelineEntry.starts_at >= lock_at,
            or_(TimelineEntry.ends_at <= since, TimelineEntry.starts_at >= result.report.end),
        )
    )
    stored: dict[datetime, list[PlannedEntry]] = {}
    for entry in result.replaced:
        stored.setdefault(entry.starts_at, []).append(entry)
    fresh: list[PlannedEntry] = []
    for entry in result.new:
        same = next((s for s in stored.get(entry.starts_at, ()) if s.same_as(entry)), None)
        if same is None:
            fresh.append(entry)
        else:
            stored[entry.starts_at].remove(same)
    gone = [e.id for entries in stored.values() for e in entries if e.id is not None]
    for at in range(0, len(gone), _CHUNK):
        await session.execute(
            delete(TimelineEntry).where(
                TimelineEntry.id.in_(gone[at : at + _CHUNK]),
                TimelineEntry.status.in_(REPLANNABLE),
            )
        )
    result.report.unchanged = len(result.new) - len(fresh)
    if not fresh:
        return
    first = await allocate_timeline_seq(session, station_id, len(fresh))
    rows = [entry.to_values(station_id, seq) for seq, entry in enumerate(fresh, start=first)]
    await session.execute(insert(TimelineEntry), rows)


_CHUNK = 500
"""Ids per DELETE … IN (…): well under every driver's bound-parameter limit."""
