"""Clocks: hour templates and their slots (the planner checks the slots)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.domain import NotFoundError
from grimnir.services.programming.common import check_name_free, station_page
from grimnir.store.models import Clock, ClockSlot


async def list_clocks(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[Clock], int]:
    """One page of the station's clocks (slots loaded) by name, and how many it has."""
    return await station_page(
        session,
        Clock,
        station_id,
        limit=limit,
        offset=offset,
        options=[selectinload(Clock.slots)],
    )


async def clock_with_slots(session: AsyncSession, clock_id: uuid.UUID) -> Clock:
    """The clock read afresh with its slots (what a change just stored, not what the
    session remembers); ``NotFoundError`` if it is gone."""
    row = await session.scalar(
        select(Clock)
        .where(Clock.id == clock_id)
        .options(selectinload(Clock.slots))
        .execution_options(populate_existing=True)
    )
    if row is None:  # deleted in between
        raise NotFoundError(f"clock {clock_id} was just deleted")
    return row


def _slot_rows(clock_id: uuid.UUID, slots: Sequence[Mapping[str, Any]]) -> list[ClockSlot]:
    return [ClockSlot(clock_id=clock_id, position=i, **s) for i, s in enumerate(slots)]


async def create_clock(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    name: str,
    description: str,
    slots: Sequence[Mapping[str, Any]],
) -> Clock:
    """A new clock with ``slots`` (each its columns by name, positions in this order;
    ``ConflictError`` if the station has a clock of that name)."""
    await check_name_free(session, Clock, station_id, name)
    row = Clock(station_id=station_id, name=name, description=description)
    session.add(row)
    session.add_all(_slot_rows(row.id, slots))
    return row


async def update_clock(
    session: AsyncSession,
    row: Clock,
    *,
    name: str,
    description: str,
    slots: Sequence[Mapping[str, Any]],
) -> None:
    """Replace the clock's name, description and slots (``ConflictError`` if another
    clock of the station has that name)."""
    await check_name_free(session, Clock, row.station_id, name, exclude=row.id)
    row.name, row.description = name, description
    await session.execute(delete(ClockSlot).where(ClockSlot.clock_id == row.id))
    session.add_all(_slot_rows(row.id, slots))
