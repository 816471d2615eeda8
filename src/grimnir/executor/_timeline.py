"""Reading the planned timeline and turning entries into engine play requests.

The planner owns ``timeline_entries``; the executor only reads them and moves
their ``status`` along (planned → queued → on_air → aired/skipped). Files come
from ``media_items.path``, stream URLs from ``webstreams.urls``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import CuePoints, EntryKind, EntryStatus, Millis, Timing
from grimnir.engine.client import PlayRequest
from grimnir.store.models import AsRun, MediaItem, TimelineEntry, Webstream

Sessions = async_sessionmaker[AsyncSession]

PENDING = (EntryStatus.PLANNED, EntryStatus.QUEUED, EntryStatus.ON_AIR)
"""Entries the executor still has business with."""
DEFAULT_LIVE_MOUNT = "/live"


@dataclass(frozen=True, slots=True)
class Planned:
    """A timeline entry with what it needs to play: a file path or stream URLs."""

    id: uuid.UUID
    seq: int
    starts_at: datetime
    ends_at: datetime
    kind: EntryKind
    status: EntryStatus
    timing: Timing
    media_id: uuid.UUID | None
    path: str | None
    urls: tuple[str, ...]
    cue_in_ms: int
    cue_out_ms: int | None
    fade_in_ms: int
    fade_out_ms: int
    curve: Any
    gain_db: float
    title: str
    artist: str
    album: str
    meta: dict[str, Any]

    @property
    def item_id(self) -> str:
        return str(self.id)

    @property
    def mount(self) -> str:
        """The harbor mount a live entry waits on (``meta.mount``, default ``/live``)."""
        return str(self.meta.get("mount") or DEFAULT_LIVE_MOUNT)

    @property
    def slot_ms(self) -> int:
        return int((self.ends_at - self.starts_at) / timedelta(milliseconds=1))


async def load_pending(
    sessions: Sessions, station: uuid.UUID, until: datetime, *, at_least: int = 0
) -> list[Planned]:
    """Entries not yet aired that start before ``until``, in air order (start, seq);
    at least the first ``at_least`` of them wherever they start (so the engine always
    holds what follows, however early the item on air ends)."""
    query = (
        select(TimelineEntry, MediaItem.path, MediaItem.album, Webstream.urls)
        .outerjoin(MediaItem, MediaItem.id == TimelineEntry.media_id)
        .outerjoin(Webstream, Webstream.id == TimelineEntry.webstream_id)
        .where(TimelineEntry.station_id == station, TimelineEntry.status.in_(PENDING))
    )
    async with sessions() as session:
        rows = await _up_to(session, query, until, at_least, key=lambda row: _air_order(row[0]))
    return [_planned(entry, path, album, urls) for entry, path, album, urls in rows]


def _air_order(row: Any) -> tuple[datetime, int]:
    return (row.starts_at, row.seq)


async def _up_to(
    session: AsyncSession,
    query: Any,
    until: datetime,
    at_least: int,
    *,
    key: Callable[[Any], tuple[datetime, int]] = _air_order,
) -> list[Any]:
    """The rows of ``query`` (pending entries of one station) that start by ``until``,
    in air order; then more, in air order, up to ``at_least`` in all.

    The first read has no ORDER BY on purpose: the database then reads only the
    station's pending entries (index on station, status, start) however long the
    as-run history behind them grows, and they are sorted here. The second reads
    forward from ``until`` in start order and stops after what it needs."""
    result = await session.execute(query.where(TimelineEntry.starts_at <= until))
    rows: list[Any] = sorted(result.all(), key=key)
    if len(rows) < at_least:
        rows += (
            await session.execute(
                query.where(TimelineEntry.starts_at > until)
                .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
                .limit(at_least - len(rows))
            )
        ).all()
    return rows


@dataclass(frozen=True, slots=True)
class Pending:
    """Where a pending entry stands: what the scheduler looks at on every poll. The
    rest of the row (``Planned``) is loaded only for the entries it acts on."""

    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    kind: EntryKind
    status: EntryStatus
    seq: int

    @property
    def item_id(self) -> str:
        return str(self.id)


async def pending_rows(
    sessions: Sessions, station: uuid.UUID, until: datetime, *, at_least: int = 0
) -> list[Pending]:
    """What ``load_pending`` would return, as ``Pending`` (no joins, no ORM objects:
    cheap enough for every poll)."""
    query = select(
        TimelineEntry.id,
        TimelineEntry.starts_at,
        TimelineEntry.ends_at,
        TimelineEntry.kind,
        TimelineEntry.status,
        TimelineEntry.seq,
    ).where(TimelineEntry.station_id == station, TimelineEntry.status.in_(PENDING))
    async with sessions() as session:
        rows = await _up_to(session, query, until, at_least)
    return [Pending(*row) for row in rows]


def missed(rows: Iterable[Pending], now: datetime) -> bool:
    """Whether ``skip_missed`` has anything to do (``rows`` from ``pending_rows`` with an
    ``until`` at or after ``now``: they hold every planned entry whose slot is over)."""
    return any(row.status is EntryStatus.PLANNED and row.ends_at <= now for row in rows)


async def load_in_order(sessions: Sessions, ids: Sequence[uuid.UUID]) -> list[Planned]:
    """The entries with ``ids`` in the order of ``ids`` (those that are gone left out)."""
    found = {entry.id: entry for entry in await load_entries(sessions, ids)}
    return [found[i] for i in ids if i in found]


async def load_entries(sessions: Sessions, ids: Iterable[uuid.UUID]) -> list[Planned]:
    """The entries with ``ids`` (whatever their status)."""
    wanted = list(ids)
    if not wanted:
        return []
    async with sessions() as session:
        rows = (
            await session.execute(
                select(TimelineEntry, MediaItem.path, MediaItem.album, Webstream.urls)
                .outerjoin(MediaItem, MediaItem.id == TimelineEntry.media_id)
                .outerjoin(Webstream, Webstream.id == TimelineEntry.webstream_id)
                .where(TimelineEntry.id.in_(wanted))
            )
        ).all()
    return [_planned(entry, path, album, urls) for entry, path, album, urls in rows]


def _planned(entry: TimelineEntry, path: str | None, album: str | None, urls: Any) -> Planned:
    return Planned(
        id=entry.id,
        seq=entry.seq,
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        kind=entry.kind,
        status=entry.status,
        timing=entry.timing,
        media_id=entry.media_id,
        path=path,
        urls=tuple(str(u) for u in (urls or ())),
        cue_in_ms=entry.cue_in_ms,
        cue_out_ms=entry.cue_out_ms,
        fade_in_ms=entry.fade_in_ms,
        fade_out_ms=entry.fade_out_ms,
        curve=entry.fade_curve,
        gain_db=entry.gain_db,
        title=entry.title or "",
        artist=entry.artist or "",
        album=album or "",
        meta=dict(entry.meta or {}),
    )


async def set_status(
    sessions: Sessions,
    ids: Iterable[uuid.UUID],
    status: EntryStatus,
    *,
    only_from: Sequence[EntryStatus] = PENDING,
) -> None:
    """Move entries to ``status`` (only those still in one of ``only_from``:
    aired entries never change)."""
    wanted = list(ids)
    if not wanted:
        return
    table = cast(Table, TimelineEntry.__table__)  # NOTE: Core: no ORM objects in step
    async with sessions() as session, session.begin():
        await session.execute(
            update(table)
            .where(table.c.id.in_(wanted), table.c.status.in_(only_from))
            .values(status=status)
        )


async def skip_missed(sessions: Sessions, station: uuid.UUID, now: datetime) -> int:
    """Mark planned entries whose slot is over without airing as skipped."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(TimelineEntry)
            .where(
                TimelineEntry.station_id == station,
                TimelineEntry.status == EntryStatus.PLANNED,
                TimelineEntry.ends_at <= now,
            )
            .values(status=EntryStatus.SKIPPED)
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def open_asrun_start(sessions: Sessions, entry_id: uuid.UUID) -> datetime | None:
    """When the still-open as-run row of ``entry_id`` started (None: no open row)."""
    async with sessions() as session:
        started: datetime | None = await session.scalar(
            select(AsRun.started_at)
            .where(AsRun.timeline_entry_id == entry_id, AsRun.ended_at.is_(None))
            .order_by(AsRun.started_at.desc())
            .limit(1)
        )
    return started


def play_request(
    entry: Planned, *, offset_ms: int = 0, join_at: datetime | None = None
) -> PlayRequest | None:
    """The engine request for ``entry``; ``offset_ms`` > 0 joins it in progress.

    Joining in progress (after live, an engine restart, or a late start) plays
    the rest of the item from ``cue_in + offset`` at ``join_at`` (the time the
    offset was computed for) or, without one, as soon as possible. Returns
    None when nothing of the entry is left to play or it has no file/URL.
    """
    meta: dict[str, Any] = {"entry_id": entry.item_id, "kind": entry.kind.value}
    if entry.media_id is not None:
        meta["media_id"] = str(entry.media_id)
    joining = offset_ms > 0
    if entry.kind is EntryKind.WEBSTREAM:
        if not entry.urls:
            return None
        remaining = entry.slot_ms - offset_ms
        if remaining <= 0:
            return None
        meta["backup_urls"] = list(entry.urls[1:])
        return PlayRequest(
            item_id=entry.item_id,
            path=entry.urls[0],
            start_at=join_at if joining else entry.starts_at,
            timing=Timing.SOFT if joining else entry.timing,
            cue=CuePoints(cue_out=Millis(remaining)),
            gain_db=entry.gain_db,
            fade_in_ms=entry.fade_in_ms,
            fade_out_ms=entry.fade_out_ms,
            curve=entry.curve,
            title=entry.title,
            artist=entry.artist,
            meta=meta,
        )
    if entry.path is None:
        return None
    cue_in = entry.cue_in_ms + max(0, offset_ms)
    if entry.cue_out_ms is not None and cue_in >= entry.cue_out_ms:
        return None
    jingle = entry.kind is EntryKind.JINGLE
    return PlayRequest(
        item_id=entry.item_id,
        path=entry.path,
        start_at=join_at if joining else entry.starts_at,
        timing=Timing.SOFT if joining else entry.timing,
        cue=CuePoints(
            cue_in=Millis(cue_in),
            cue_out=None if entry.cue_out_ms is None else Millis(entry.cue_out_ms),
        ),
        gain_db=entry.gain_db,
        fade_in_ms=0 if joining else entry.fade_in_ms,
        fade_out_ms=entry.fade_out_ms,
        curve=entry.curve,
        title="" if jingle else entry.title,
        artist="" if jingle else entry.artist,
        meta=meta,
    )


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID (engine item ids of timeline entries are their UUIDs)."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


SHIFT_MIN = timedelta(milliseconds=100)
"""An entry that starts this much earlier than planned moves the ones after it."""


async def shift_following(sessions: Sessions, entry_id: uuid.UUID, started: datetime) -> int:
    """An entry started at ``started``, earlier than planned (the one before it ended
    early): move it and the soft entries after it, up to the next hard entry, earlier by
    as much, so the stored timeline says what will air and the rolling rebuild
    continues from there. A hard entry keeps its time; the room before it is the
    engine's to fill. Returns how many entries moved."""
    async with sessions() as session, session.begin():
        entry = await session.get(TimelineEntry, entry_id)
        if entry is None or entry.timing is Timing.HARD:
            return 0
        delta = started - entry.starts_at
        if delta > -SHIFT_MIN:
            return 0
        moved = [entry, *await _soft_after(session, entry)]
        for row in moved:
            row.starts_at += delta
            row.ends_at += delta
    return len(moved)


async def shift_later(sessions: Sessions, entry_id: uuid.UUID, by: timedelta) -> int:
    """An entry an emergency cut went on air again ``by`` after it was cut (resumed
    where it was heard last): its end and the soft entries after it, up to the next
    hard entry, move later by as much. A hard entry keeps its time; what still plays
    then is faded out or dropped by the engine, as after a skip. Returns how many
    entries moved."""
    if by <= timedelta(0):
        return 0
    async with sessions() as session, session.begin():
        entry = await session.get(TimelineEntry, entry_id)
        if entry is None:
            return 0
        following = await _soft_after(session, entry)
        entry.ends_at += by
        for row in following:
            row.starts_at += by
            row.ends_at += by
    return 1 + len(following)


async def _soft_after(session: AsyncSession, entry: TimelineEntry) -> list[TimelineEntry]:
    """The pending soft entries after ``entry``, up to the next hard or live entry."""
    later = (
        await session.scalars(
            select(TimelineEntry)
            .where(
                TimelineEntry.station_id == entry.station_id,
                TimelineEntry.starts_at > entry.starts_at,
                TimelineEntry.status.in_(PENDING),
            )
            .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
            .limit(500)
        )
    ).all()
    soft: list[TimelineEntry] = []
    for row in later:
        if row.timing is Timing.HARD or row.kind is EntryKind.LIVE:
            break
        soft.append(row)
    return soft
