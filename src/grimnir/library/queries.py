"""Library queries shared by the CLI, the API and the planner.

Each takes the caller's ``AsyncSession`` and never commits. The planner
reads only ``ready_media``: an item that is pending, being analysed or
failed can never be scheduled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import MediaState, NotFoundError
from grimnir.domain.text import fold
from grimnir.store.models import MediaItem
from grimnir.store.models.media import SEARCH_SEPARATOR

_SEARCHED = (MediaItem.title, MediaItem.artist, MediaItem.album, MediaItem.path)


async def ready_media(session: AsyncSession, station_id: uuid.UUID) -> Sequence[MediaItem]:
    """Every item of the station the planner may schedule (state READY), in a
    stable order (artist, title, id) so the same library gives the same plan."""
    return (
        await session.scalars(
            select(MediaItem)
            .where(MediaItem.station_id == station_id, MediaItem.state == MediaState.READY)
            .order_by(MediaItem.artist, MediaItem.title, MediaItem.id)
        )
    ).all()


async def list_media(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    state: MediaState | None = None,
    search: str | None = None,
    limit: int | None = 100,
) -> Sequence[MediaItem]:
    """The station's items, optionally of one ``state`` and matching ``search``
    (case-insensitive, in title, artist, album or path), by artist and title."""
    query = select(MediaItem).where(MediaItem.station_id == station_id)
    if state is not None:
        query = query.where(MediaItem.state == state)
    if search:
        # NOTE: escape LIKE's wildcards so "100%" searches for "100%"
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(*(func.lower(column).like(pattern, escape="\\") for column in _SEARCHED))
        )
    query = query.order_by(MediaItem.artist, MediaItem.title, MediaItem.path, MediaItem.id)
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


SortKey = Literal["title", "artist", "album", "created_at", "duration"]
_SORT_COLUMNS: dict[str, Any] = {
    "title": MediaItem.title,
    "artist": MediaItem.artist,
    "album": MediaItem.album,
    "created_at": MediaItem.created_at,
    "duration": MediaItem.duration_ms,
}


def _like(text: str) -> str:
    # NOTE: escape LIKE's wildcards so "100%" searches for "100%"
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class MediaFilter:
    """What :func:`search_media` selects. Text is matched case-folded (``lower()``
    folds every script, see ``domain.text``): ``text`` anywhere in title, artist
    or album; ``artist``, ``album`` and ``genre`` as the whole value."""

    text: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    states: tuple[MediaState, ...] = ()
    clause: ColumnElement[bool] | None = None
    """Any further condition over ``MediaItem`` (smart-block rules, built by the planner)."""


def _conditions(station_id: uuid.UUID, where: MediaFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [MediaItem.station_id == station_id]
    if where.text:
        # NOTE: one folded column (title, artist, album) read from its index
        text = "".join(c for c in where.text if c != SEARCH_SEPARATOR)
        conditions.append(MediaItem.search_text.like(_like(text), escape="\\"))
    for column, value in (
        (MediaItem.artist, where.artist),
        (MediaItem.album, where.album),
        (MediaItem.genre, where.genre),
    ):
        if value is not None:
            conditions.append(func.lower(column) == fold(value))
    if where.states:
        conditions.append(MediaItem.state.in_(where.states))
    if where.clause is not None:
        conditions.append(where.clause)
    return conditions


async def search_media(
    session: AsyncSession,
    station_id: uuid.UUID,
    where: MediaFilter,
    *,
    sort: SortKey = "artist",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[MediaItem], int]:
    """One page of the station's items matching ``where``, and how many match in all.

    Items without a value for the sort key come last either way; ties are
    broken by title and id (in the same direction), so pages never overlap or
    skip an item.
    """
    conditions = _conditions(station_id, where)
    total = await session.scalar(select(func.count()).select_from(MediaItem).where(*conditions))
    key = _SORT_COLUMNS[sort]
    # NOTE: tie-breaks (title, id) in the key's direction: the index (key, title, id)
    # walked one way gives the whole order, and a deep offset skips index entries only
    ties: tuple[Any, ...] = (MediaItem.id.desc(),) if descending else (MediaItem.id.asc(),)
    if sort != "title":
        ties = (MediaItem.title.desc() if descending else MediaItem.title.asc(), *ties)
    # NOTE: the page's ids first, then their rows: the sort then carries three
    # columns per item instead of whole rows (waveforms of kilobytes each), which
    # made pages of a 100k-track library sort hundreds of megabytes.
    # The items with a value for the key first, then those without: "NULLS LAST" is
    # no index's order both ways (PostgreSQL's ascending index read backwards puts
    # NULLs first), so asked of one query it sorted the whole station per page.
    valued = [*conditions, key.is_not(None)]
    ids = list(
        (
            await session.scalars(
                select(MediaItem.id)
                .where(*valued)
                .order_by(key.desc() if descending else key.asc(), *ties)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    )
    if len(ids) < limit:
        with_value = await session.scalar(
            select(func.count()).select_from(MediaItem).where(*valued)
        )
        ids += (
            await session.scalars(
                select(MediaItem.id)
                .where(*conditions, key.is_(None))
                .order_by(*ties)
                .limit(limit - len(ids))
                .offset(max(0, offset - (with_value or 0)))
            )
        ).all()
    if not ids:
        return [], total or 0
    rows = await session.scalars(select(MediaItem).where(MediaItem.id.in_(ids)))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id], total or 0


async def count_by_state(session: AsyncSession, station_id: uuid.UUID) -> dict[MediaState, int]:
    """How many of the station's items are in each state (every state listed)."""
    rows = await session.execute(
        select(MediaItem.state, func.count())
        .where(MediaItem.station_id == station_id)
        .group_by(MediaItem.state)
    )
    counts = dict.fromkeys(MediaState, 0)
    for state, count in rows:
        counts[state] = count
    return counts


async def get_media(
    session: AsyncSession, item_id: uuid.UUID | str, station_id: uuid.UUID | None = None
) -> MediaItem:
    """The item with id ``item_id`` (of ``station_id``, when given)."""
    try:
        key = item_id if isinstance(item_id, uuid.UUID) else uuid.UUID(item_id)
    except ValueError:
        raise NotFoundError(
            f"{item_id!r} is not a media item id (a UUID as `grimnir library list` prints it)"
        ) from None
    item = await session.get(MediaItem, key)
    if item is None or (station_id is not None and item.station_id != station_id):
        raise NotFoundError(f"no media item with id {key}; `grimnir library list` shows the ids")
    return item


async def find_by_sha256(
    session: AsyncSession, station_id: uuid.UUID, sha256: str
) -> MediaItem | None:
    """The station's item with this content hash, if any."""
    return await session.scalar(
        select(MediaItem).where(MediaItem.station_id == station_id, MediaItem.sha256 == sha256)
    )


async def find_by_path(session: AsyncSession, station_id: uuid.UUID, path: str) -> MediaItem | None:
    """The station's most recent item stored at ``path``, if any."""
    return await session.scalar(
        select(MediaItem)
        .where(MediaItem.station_id == station_id, MediaItem.path == path)
        .order_by(MediaItem.created_at.desc())
        .limit(1)
    )


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What a scan needs to know about a stored item to skip its file."""

    id: uuid.UUID
    path: str
    size_bytes: int
    sha256: str
    state: MediaState
    created_at: datetime
    failed_reason: str | None = None


async def known_files(session: AsyncSession, station_id: uuid.UUID) -> dict[str, KnownFile]:
    """The station's items by path (without their tags or waveforms), so a scan
    can skip the files it already has without reading them."""
    rows = await session.execute(
        select(
            MediaItem.id,
            MediaItem.path,
            MediaItem.size_bytes,
            MediaItem.sha256,
            MediaItem.state,
            MediaItem.created_at,
            MediaItem.failed_reason,
        ).where(MediaItem.station_id == station_id)
    )
    return {row.path: KnownFile(*row) for row in rows}


__all__ = [
    "KnownFile",
    "MediaFilter",
    "SortKey",
    "count_by_state",
    "find_by_path",
    "find_by_sha256",
    "get_media",
    "known_files",
    "list_media",
    "ready_media",
    "search_media",
]
