"""Playlists and their ordered items (media of the same station)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.services.programming.common import check_name_free, station_page
from grimnir.store.models import MediaItem, Playlist, PlaylistItem


async def list_playlists(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[Playlist], int]:
    """One page of the station's playlists by name, and how many it has."""
    return await station_page(session, Playlist, station_id, limit=limit, offset=offset)


async def item_count(session: AsyncSession, playlist_id: uuid.UUID) -> int:
    """How many items the playlist has."""
    count = await session.scalar(
        select(func.count()).where(PlaylistItem.playlist_id == playlist_id)
    )
    return count or 0


async def create_playlist(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    name: str,
    description: str,
    shuffle: bool,
    rotation: Mapping[str, Any],
    jingle: bool,
) -> Playlist:
    """A new, empty playlist (``ConflictError`` if the station has one of that name)."""
    await check_name_free(session, Playlist, station_id, name)
    row = Playlist(
        station_id=station_id,
        name=name,
        description=description,
        shuffle=shuffle,
        rotation=dict(rotation),
        jingle=jingle,
    )
    session.add(row)
    return row


async def update_playlist(
    session: AsyncSession,
    row: Playlist,
    *,
    name: str,
    description: str,
    shuffle: bool,
    rotation: Mapping[str, Any],
    jingle: bool,
) -> None:
    """Replace the playlist's settings (``ConflictError`` if another playlist of the
    station has that name); its items stay."""
    await check_name_free(session, Playlist, row.station_id, name, exclude=row.id)
    row.name, row.description, row.shuffle = name, description, shuffle
    row.rotation, row.jingle = dict(rotation), jingle


async def playlist_items(
    session: AsyncSession, playlist_id: uuid.UUID
) -> list[tuple[PlaylistItem, MediaItem]]:
    """The playlist's items in play order, each with its media item."""
    rows = await session.execute(
        select(PlaylistItem, MediaItem)
        .join(MediaItem, MediaItem.id == PlaylistItem.media_id)
        .where(PlaylistItem.playlist_id == playlist_id)
        .order_by(PlaylistItem.position)
    )
    return [(item, media) for item, media in rows]


async def station_media(
    session: AsyncSession, station_id: uuid.UUID, media_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``media_ids`` that are media items of the station."""
    if not media_ids:
        return set()
    return set(
        await session.scalars(
            select(MediaItem.id).where(
                MediaItem.id.in_(media_ids), MediaItem.station_id == station_id
            )
        )
    )


async def replace_items(
    session: AsyncSession,
    row: Playlist,
    items: Iterable[tuple[uuid.UUID, Mapping[str, Any]]],
) -> None:
    """Make ``items`` (media id, overrides), in this order, the playlist's items.
    The media must be the station's (see ``station_media``)."""
    await session.execute(delete(PlaylistItem).where(PlaylistItem.playlist_id == row.id))
    session.add_all(
        PlaylistItem(playlist_id=row.id, position=position, media_id=media_id, overrides=dict(o))
        for position, (media_id, o) in enumerate(items)
    )
