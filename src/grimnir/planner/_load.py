"""Everything one build reads from the database, in a handful of queries.

The builder itself is pure: it turns this :class:`Context` into entries, so
``simulate`` and the benchmark exercise exactly the code a real build runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.domain import EntryKind, EntryStatus, NotFoundError
from grimnir.planner._text import album_key, artist_key, title_key
from grimnir.planner._time import zone
from grimnir.planner.clocks import DEFAULT_CLOCK_NAME, ClockSpec
from grimnir.planner.history import Play, PlayHistory
from grimnir.planner.playlists import PlaylistSpec, PlaylistState
from grimnir.planner.reports import PlannedEntry
from grimnir.planner.smartblock import SmartBlockSpec
from grimnir.planner.tracks import Track, TrackLibrary
from grimnir.store.models import (
    AsRun,
    Clock,
    Playlist,
    Show,
    ShowException,
    SmartBlock,
    Station,
    TimelineEntry,
    Webstream,
)

HISTORY_SPAN = timedelta(hours=24)
"""How far back aired and kept items count for separation and rotation."""


@dataclass(slots=True)
class Context:
    """A station's rules, library and timeline as the builder needs them."""

    station_id: uuid.UUID
    tz: ZoneInfo
    library: TrackLibrary
    blocks: dict[uuid.UUID, SmartBlockSpec] = field(default_factory=dict)
    playlists: dict[uuid.UUID, PlaylistSpec] = field(default_factory=dict)
    clocks: dict[uuid.UUID, ClockSpec] = field(default_factory=dict)
    default_clock: ClockSpec | None = None
    shows: list[tuple[Show, list[ShowException]]] = field(default_factory=list)
    webstreams: dict[uuid.UUID, str] = field(default_factory=dict)
    jingles: list[tuple[Track, uuid.UUID]] = field(default_factory=list)
    """Tracks of the station's jingle playlists (and the playlist), for top-ups."""
    playlist_state: PlaylistState = field(default_factory=PlaylistState)
    entries: list[PlannedEntry] = field(default_factory=list)
    """Stored entries from ``HISTORY_SPAN`` before the window on, in time order."""
    since: datetime | None = None
    """Where ``entries`` begin (``HISTORY_SPAN`` before the window)."""
    later_planned: int = 0
    """Planned entries after the window (a rebuild drops them too)."""
    aired: list[tuple[Play, uuid.UUID | None]] = field(default_factory=list)
    """As-run plays since ``HISTORY_SPAN`` before the window, with their timeline entry."""
    problems: list[str] = field(default_factory=list)

    def history(self, before: datetime, kept: list[PlannedEntry]) -> PlayHistory:
        """The history as it was when ``before`` was planned: what aired before it
        plus the kept entries that start before it.

        NOTE: a kept entry counts at its planned start even when it aired (its
        as-run row is left out): that is what the build that planned the time
        after it saw, so replaying that time draws the same tracks. Nothing at
        or after ``before`` counts, or a replay would avoid its own picks.
        """
        kept_ids = {entry.id for entry in kept}
        history = PlayHistory(
            play
            for play, entry_id in self.aired
            if play.start < before and (entry_id is None or entry_id not in kept_ids)
        )
        for entry in kept:
            if entry.starts_at >= before:
                continue
            if entry.kind not in (EntryKind.TRACK, EntryKind.JINGLE, EntryKind.STOPSET):
                continue
            track = self.library.get(str(entry.media_id)) if entry.media_id else None
            history.add_play(
                Play(
                    start=entry.starts_at,
                    track_id=str(entry.media_id) if entry.media_id else None,
                    artist_key=artist_key(entry.artist),
                    title_key=title_key(entry.title),
                    album_key=album_key(track.album) if track else None,
                    source=str(entry.playlist_id or entry.smart_block_id or "") or None,
                    song=entry.kind != EntryKind.JINGLE and not entry.meta.get("jingle"),
                )
            )
        return history


async def load_context(
    session: AsyncSession,
    station_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    library: TrackLibrary | None = None,
) -> Context:
    """Read the station's library, rules and recent timeline (one transaction)."""
    station = await session.get(Station, station_id)
    if station is None:
        raise NotFoundError(f"no station with id {station_id}; create it first")
    if library is None:
        library = await TrackLibrary.load(session, station_id)
    ctx = Context(station_id=station_id, tz=zone(station.timezone), library=library)
    since = start - HISTORY_SPAN
    ctx.since = since

    for block in await session.scalars(
        select(SmartBlock).where(SmartBlock.station_id == station_id)
    ):
        try:
            ctx.blocks[block.id] = SmartBlockSpec.from_row(block)
        except Exception as e:  # a broken block must not stop the other hours
            ctx.problems.append(f"smart block {block.name!r} cannot be used: {e}")
    playlists = await session.scalars(
        select(Playlist)
        .where(Playlist.station_id == station_id)
        .options(selectinload(Playlist.items))
    )
    for playlist in playlists:
        ctx.playlists[playlist.id] = PlaylistSpec.from_row(playlist)
        if playlist.jingle:
            for item in playlist.items:
                track = library.get(str(item.media_id))
                if track is not None:
                    ctx.jingles.append((replace(track, now_playing=False), playlist.id))
    clocks = await session.scalars(
        select(Clock).where(Clock.station_id == station_id).options(selectinload(Clock.slots))
    )
    for clock in clocks:
        try:
            spec = ClockSpec.from_row(clock, clock.slots)
        except Exception as e:
            ctx.problems.append(str(e))
            continue
        ctx.clocks[clock.id] = spec
        if clock.name.casefold() == DEFAULT_CLOCK_NAME:
            ctx.default_clock = spec
    shows = await session.scalars(
        select(Show)
        .where(Show.station_id == station_id)
        .options(selectinload(Show.exceptions))
        .order_by(Show.created_at, Show.id)
    )
    ctx.shows = [(show, list(show.exceptions)) for show in shows]
    rows = await session.execute(
        select(Webstream.id, Webstream.name).where(Webstream.station_id == station_id)
    )
    ctx.webstreams = {row.id: row.name for row in rows}

    # NOTE: columns, not ORM objects: a rolling planner reads thousands of rows.
    columns = [c for c in TimelineEntry.__table__.columns]
    rows = await session.execute(
        select(*columns)
        .where(
            TimelineEntry.station_id == station_id,
            TimelineEntry.ends_at > since,
            TimelineEntry.starts_at < end,
        )
        .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
    )
    ctx.entries = [PlannedEntry.from_mapping(row._mapping) for row in rows]
    ctx.later_planned = (
        await session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(
                TimelineEntry.station_id == station_id,
                TimelineEntry.status.in_((EntryStatus.PLANNED, EntryStatus.QUEUED)),
                TimelineEntry.starts_at >= end,
            )
        )
        or 0
    )
    as_run = await session.execute(
        select(
            AsRun.media_id,
            AsRun.title,
            AsRun.artist,
            AsRun.album,
            AsRun.started_at,
            AsRun.timeline_entry_id,
        ).where(AsRun.station_id == station_id, AsRun.started_at >= since)
    )
    for row in as_run:
        play = Play(
            start=row.started_at,
            track_id=str(row.media_id) if row.media_id else None,
            artist_key=artist_key(row.artist),
            title_key=title_key(row.title),
            album_key=album_key(row.album),
        )
        ctx.aired.append((play, row.timeline_entry_id))
    return ctx


async def entries_between(
    session: AsyncSession,
    station_id: uuid.UUID,
    show_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> list[PlannedEntry]:
    """Stored entries starting in ``start`` … ``end`` (of one show when ``show_id``)."""
    query = select(TimelineEntry).where(
        TimelineEntry.station_id == station_id,
        TimelineEntry.starts_at >= start,
        TimelineEntry.starts_at < end,
        TimelineEntry.status != EntryStatus.SKIPPED,
    )
    if show_id is not None:
        query = query.where(TimelineEntry.show_id == show_id)
    rows = await session.scalars(query.order_by(TimelineEntry.starts_at, TimelineEntry.seq))
    return [PlannedEntry.from_row(r) for r in rows]
