"""A station's stored timeline as the API reads it: a window of entries, one entry,
what a rebuild would replace, what is still to come and how often a media item
is still planned to air."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EntryStatus, NotFoundError
from grimnir.services.paging import rows_page
from grimnir.store.models import TimelineEntry

UPCOMING = (EntryStatus.PLANNED, EntryStatus.QUEUED, EntryStatus.ON_AIR)
"""The states of an entry that has not aired yet (or airs now)."""

_AIR_ORDER = (TimelineEntry.starts_at, TimelineEntry.seq)


async def entries_overlapping(
    session: AsyncSession,
    station_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    offset: int = 0,
) -> tuple[Sequence[TimelineEntry], int]:
    """One page of the station's entries that overlap ``start`` … ``end``, in air
    order, and how many overlap in all."""
    where = (
        TimelineEntry.station_id == station_id,
        TimelineEntry.ends_at > start,
        TimelineEntry.starts_at < end,
    )
    return await rows_page(
        session, TimelineEntry, limit=limit, offset=offset, where=where, order_by=_AIR_ORDER
    )


async def get_entry(
    session: AsyncSession, station_id: uuid.UUID, entry_id: uuid.UUID
) -> TimelineEntry:
    """The station's entry ``entry_id``."""
    row = await session.get(TimelineEntry, entry_id)
    if row is None or row.station_id != station_id:
        raise NotFoundError(
            f"no timeline entry {entry_id} on this station (a rebuild replaces planned "
            "entries): list the station's timeline for the current ids"
        )
    return row


async def planned_from(
    session: AsyncSession, station_id: uuid.UUID, since: datetime
) -> Sequence[TimelineEntry]:
    """The station's planned (not yet queued) entries starting at ``since`` or
    later, in air order: what a rebuild from then on replaces."""
    rows = await session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.status == EntryStatus.PLANNED,
            TimelineEntry.starts_at >= since,
        )
        .order_by(*_AIR_ORDER)
    )
    return rows.all()


async def replanable_from(
    session: AsyncSession, station_id: uuid.UUID, since: datetime
) -> Sequence[TimelineEntry]:
    """The station's planned or queued entries starting at ``since`` or later, in air
    order: what a rebuild from then on replaces (the executor takes back from the
    engine what it had queued), so what a diff compares a new plan with."""
    rows = await session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.status.in_((EntryStatus.PLANNED, EntryStatus.QUEUED)),
            TimelineEntry.starts_at >= since,
        )
        .order_by(*_AIR_ORDER)
    )
    return rows.all()


async def next_entries(
    session: AsyncSession, station_id: uuid.UUID, now: datetime, limit: int
) -> Sequence[TimelineEntry]:
    """The first ``limit`` planned or queued entries of the station that end after
    ``now``, in air order."""
    rows = await session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.status.in_((EntryStatus.PLANNED, EntryStatus.QUEUED)),
            TimelineEntry.ends_at > now,
        )
        .order_by(*_AIR_ORDER)
        .limit(limit)
    )
    return rows.all()


async def planned_plays(session: AsyncSession, media_id: uuid.UUID) -> int:
    """How many entries still to air (planned, queued or on air) play media item
    ``media_id``."""
    count = await session.scalar(
        select(func.count())
        .select_from(TimelineEntry)
        .where(TimelineEntry.media_id == media_id, TimelineEntry.status.in_(UPCOMING))
    )
    return count or 0


__all__ = [
    "UPCOMING",
    "entries_overlapping",
    "get_entry",
    "next_entries",
    "planned_from",
    "planned_plays",
    "replanable_from",
]


async def filled_until(
    session: AsyncSession, now: datetime, horizon: timedelta, *, tolerance_s: float = 1.0
) -> dict[uuid.UUID, datetime]:
    """Per station with anything still to air: how far from ``now`` its timeline
    runs without a hole (the start of the first gap longer than ``tolerance_s``,
    or the end of what is planned), looking at most ``horizon`` ahead.

    Stations with nothing planned after ``now`` are absent (filled until now).
    """
    rows = await session.execute(
        select(TimelineEntry.station_id, TimelineEntry.starts_at, TimelineEntry.ends_at)
        .where(
            TimelineEntry.status.in_(UPCOMING),
            TimelineEntry.ends_at > now,
            TimelineEntry.starts_at < now + horizon,
        )
        .order_by(TimelineEntry.station_id, *_AIR_ORDER)
    )
    reach: dict[uuid.UUID, datetime] = {}
    broken: set[uuid.UUID] = set()
    slack = timedelta(seconds=tolerance_s)
    for station_id, starts_at, ends_at in rows:
        if station_id in broken:
            continue
        until = reach.get(station_id, now)
        if starts_at > until + slack:
            broken.add(station_id)  # the first hole: the filled stretch ends here
            reach.setdefault(station_id, now)
            continue
        reach[station_id] = max(until, ends_at)
    return {station: min(until, now + horizon) for station, until in reach.items()}
