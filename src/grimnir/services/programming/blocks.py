"""Smart blocks: their rows (the rules themselves are the planner's to check)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.services.programming.common import check_name_free, station_page
from grimnir.store.models import SmartBlock


async def list_blocks(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[SmartBlock], int]:
    """One page of the station's smart blocks by name, and how many it has."""
    return await station_page(session, SmartBlock, station_id, limit=limit, offset=offset)


async def create_block(
    session: AsyncSession, station_id: uuid.UUID, settings: Mapping[str, Any]
) -> SmartBlock:
    """A new smart block with ``settings`` (its columns by name, ``name`` among them;
    ``ConflictError`` if the station has a block of that name)."""
    await check_name_free(session, SmartBlock, station_id, settings["name"])
    row = SmartBlock(station_id=station_id, **settings)
    session.add(row)
    return row


async def update_block(session: AsyncSession, row: SmartBlock, settings: Mapping[str, Any]) -> None:
    """Set the block's columns named in ``settings`` (``ConflictError`` if another block
    of the station has the new name)."""
    await check_name_free(session, SmartBlock, row.station_id, settings["name"], exclude=row.id)
    for key, value in settings.items():
        setattr(row, key, value)
