"""What the public routes read (no sign-in): stations by any name a player uses,
what aired and what comes, the mounts listeners open, pictures, the schedule.

Read-only: nothing here writes. Functions take the caller's session, like the
other services.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EntryStatus
from grimnir.store.models import AsRun, LiveSession, MediaItem, Mount, Station, TimelineEntry, User

_UPCOMING = (EntryStatus.PLANNED, EntryStatus.QUEUED)


async def station_by_ref(
    session: AsyncSession, ref: str, number: Callable[[uuid.UUID], int]
) -> Station | None:
    """The station ``ref`` names: its id, short name, or ``number`` of its id (the
    integer ids AzuraCast players use); ``None`` when none."""
    try:
        return await session.get(Station, uuid.UUID(ref))
    except ValueError:
        pass
    row = await session.scalar(select(Station).where(Station.short_name == ref))
    if row is None and ref.isdigit() and len(ref) <= 16:
        for candidate in await session.scalars(select(Station)):
            if number(candidate.id) == int(ref):
                return candidate
    return row


async def station(session: AsyncSession, station_id: uuid.UUID) -> Station | None:
    return await session.get(Station, station_id)


async def enabled_stations(session: AsyncSession) -> list[Station]:
    """Stations listeners may see, by short name."""
    rows = await session.scalars(
        select(Station).where(Station.enabled.is_(True)).order_by(Station.short_name)
    )
    return list(rows)


async def station_names(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """(id, short name) of every station, by short name."""
    rows = await session.execute(
        select(Station.id, Station.short_name).order_by(Station.short_name)
    )
    return [(sid, name) for sid, name in rows]


async def artwork_path(
    session: AsyncSession, station_id: uuid.UUID, media_id: uuid.UUID
) -> str | None:
    """Where the station's media item ``media_id`` keeps its picture, if it has one."""
    return await session.scalar(
        select(MediaItem.artwork_path).where(
            MediaItem.id == media_id, MediaItem.station_id == station_id
        )
    )


async def with_artwork(session: AsyncSession, media_ids: set[uuid.UUID]) -> frozenset[uuid.UUID]:
    """Those of ``media_ids`` that have a picture."""
    if not media_ids:
        return frozenset()
    found = await session.scalars(
        select(MediaItem.id).where(MediaItem.id.in_(media_ids), MediaItem.artwork_path.is_not(None))
    )
    return frozenset(found)


async def timeline_window(
    session: AsyncSession, station_id: uuid.UUID, lo: datetime, hi: datetime, limit: int
) -> list[TimelineEntry]:
    """Timeline entries that overlap ``[lo, hi)``, in airing order (at most ``limit``)."""
    rows = await session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.ends_at > lo,
            TimelineEntry.starts_at < hi,
        )
        .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
        .limit(limit)
    )
    return list(rows)


async def on_air_row(session: AsyncSession, station_id: uuid.UUID) -> AsRun | None:
    """The as-run row still open (what plays now), the newest if several are."""
    return await session.scalar(
        select(AsRun)
        .where(AsRun.station_id == station_id, AsRun.ended_at.is_(None))
        .order_by(AsRun.started_at.desc())
        .limit(1)
    )


async def aired(session: AsyncSession, station_id: uuid.UUID, count: int) -> list[AsRun]:
    """The ``count`` newest closed as-run rows, newest first."""
    rows = await session.scalars(
        select(AsRun)
        .where(AsRun.station_id == station_id, AsRun.ended_at.is_not(None))
        .order_by(AsRun.started_at.desc())
        .limit(count)
    )
    return list(rows)


async def upcoming(
    session: AsyncSession, station_id: uuid.UUID, after: datetime, count: int
) -> list[TimelineEntry]:
    """The next ``count`` planned or queued entries starting after ``after``."""
    rows = await session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.starts_at > after,
            TimelineEntry.status.in_(_UPCOMING),
        )
        .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
        .limit(count)
    )
    return list(rows)


async def mounts(session: AsyncSession, station_id: uuid.UUID) -> list[Mount]:
    """The station's mounts (with their outputs), by key."""
    rows = await session.scalars(
        select(Mount).where(Mount.station_id == station_id).order_by(Mount.key)
    )
    return list(rows)


async def planned_lengths(session: AsyncSession, rows: Sequence[AsRun]) -> dict[uuid.UUID, int]:
    """Planned length (ms) per as-run row: its timeline entry's, else its media item's."""
    entry_ids = {r.timeline_entry_id for r in rows if r.timeline_entry_id is not None}
    media_ids = {r.media_id for r in rows if r.media_id is not None}
    by_entry: dict[uuid.UUID, int] = {}
    by_media: dict[uuid.UUID, int] = {}
    if entry_ids:
        found = await session.execute(
            select(TimelineEntry.id, TimelineEntry.starts_at, TimelineEntry.ends_at).where(
                TimelineEntry.id.in_(entry_ids)
            )
        )
        for eid, starts, ends in found:
            by_entry[eid] = int((ends - starts) / timedelta(milliseconds=1))
    if media_ids:
        lengths = await session.execute(
            select(MediaItem.id, MediaItem.duration_ms).where(MediaItem.id.in_(media_ids))
        )
        by_media = {mid: int(ms) for mid, ms in lengths if ms is not None}
    out: dict[uuid.UUID, int] = {}
    for row in rows:
        ms = by_entry.get(row.timeline_entry_id) if row.timeline_entry_id else None
        if ms is None and row.media_id is not None:
            ms = by_media.get(row.media_id)
        if ms is not None:
            out[row.id] = ms
    return out


async def dj_name(session: AsyncSession, station_id: uuid.UUID) -> str:
    """The display name (else user name) of the DJ connected now, if any is known."""
    found = await session.execute(
        select(User.display_name, User.username)
        .join(LiveSession, LiveSession.user_id == User.id)
        .where(LiveSession.station_id == station_id, LiveSession.disconnected_at.is_(None))
        .order_by(LiveSession.connected_at.desc())
        .limit(1)
    )
    row = found.first()
    return "" if row is None else str(row[0] or row[1])
