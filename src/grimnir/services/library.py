"""A station's media library as the API changes it: tag edits, deleting an item
(refused while the timeline still plans to air it) and whether a stored file
is still used.

Searching and reading items is :mod:`grimnir.library.queries`; ingest is
:mod:`grimnir.library.ingest`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError
from grimnir.services.timeline import planned_plays
from grimnir.store.models import MediaItem


async def path_in_use(session: AsyncSession, path: str) -> bool:
    """Whether any item (of any station) is stored at ``path``."""
    count = await session.scalar(
        select(func.count()).select_from(MediaItem).where(MediaItem.path == path)
    )
    return bool(count)


async def update_tags(
    session: AsyncSession, item: MediaItem, changes: Mapping[str, Any]
) -> MediaItem:
    """Set ``changes`` (column name → value) on ``item``, write them and read the
    item back as stored. The file is not touched."""
    for name, value in changes.items():
        setattr(item, name, value)
    await session.flush()
    await session.refresh(item)
    return item


async def delete_item(session: AsyncSession, item: MediaItem, *, force: bool = False) -> int:
    """Delete ``item``; returns how many entries still to air played it (they are
    skipped on air until the timeline is rebuilt). Without ``force`` an item
    the timeline still plans to air is refused with ``ConflictError``. The
    file stays: the caller removes it when nothing else uses it."""
    upcoming = await planned_plays(session, item.id)
    if upcoming and not force:
        raise ConflictError(
            f"the timeline still plans to air this item {upcoming} time(s): delete with "
            "?force=true (those slots are then skipped until the timeline is rebuilt)"
        )
    await session.delete(item)
    return upcoming


__all__ = ["delete_item", "path_in_use", "update_tags"]


async def items_by_state(session: AsyncSession) -> dict[tuple[uuid.UUID, str], int]:
    """How many media items each station has in each state (pending, ready, …)."""
    rows = await session.execute(
        select(MediaItem.station_id, MediaItem.state, func.count()).group_by(
            MediaItem.station_id, MediaItem.state
        )
    )
    return {(station, str(state)): int(count) for station, state, count in rows}
