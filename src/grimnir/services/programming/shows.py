"""Shows: recurring programmes and who may host them (the planner expands the
RRULEs)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.domain import NotFoundError
from grimnir.services.authentication import membership_role
from grimnir.services.programming.common import check_name_free, station_page
from grimnir.store.models import Show, User


async def list_shows(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[Show], int]:
    """One page of the station's shows (exceptions loaded) by name, and how many it has."""
    return await station_page(
        session,
        Show,
        station_id,
        limit=limit,
        offset=offset,
        options=[selectinload(Show.exceptions)],
    )


async def all_shows(session: AsyncSession, station_id: uuid.UUID) -> list[Show]:
    """Every show of the station, enabled or not, with its exceptions, oldest first
    (the order the planner ranks overlapping shows in)."""
    rows = await session.scalars(
        select(Show)
        .where(Show.station_id == station_id)
        .options(selectinload(Show.exceptions))
        .order_by(Show.created_at, Show.id)
    )
    return list(rows)


async def show_with_exceptions(session: AsyncSession, show_id: uuid.UUID) -> Show:
    """The show read afresh with its exceptions (what a change just stored, not what
    the session remembers); ``NotFoundError`` if it is gone."""
    row = await session.scalar(
        select(Show)
        .where(Show.id == show_id)
        .options(selectinload(Show.exceptions))
        .execution_options(populate_existing=True)
    )
    if row is None:  # deleted in between
        raise NotFoundError(f"show {show_id} was just deleted")
    return row


async def may_host(session: AsyncSession, user_id: uuid.UUID, station_id: uuid.UUID) -> bool:
    """Whether the user exists and may host the station's shows: an admin, or a
    member of the station (any role)."""
    user = await session.get(User, user_id)
    member = await membership_role(session, user_id, station_id) is not None
    return user is not None and (user.is_admin or member)


def _apply(row: Show, settings: Mapping[str, Any]) -> None:
    for key, value in settings.items():
        setattr(row, key, value)
    dtstart: datetime = settings["dtstart"]
    row.dtstart = dtstart.astimezone(UTC)
    row.rrule = str(settings["rrule"]).strip()


async def create_show(
    session: AsyncSession, station_id: uuid.UUID, settings: Mapping[str, Any]
) -> Show:
    """A new show with ``settings`` (its columns by name; ``dtstart`` is stored in UTC,
    the RRULE without surrounding space; ``ConflictError`` if the station has a show
    of that name)."""
    await check_name_free(session, Show, station_id, settings["name"])
    row = Show(station_id=station_id)
    _apply(row, settings)
    session.add(row)
    return row


async def update_show(session: AsyncSession, row: Show, settings: Mapping[str, Any]) -> None:
    """Set the show's columns named in ``settings`` as ``create_show`` does (its
    exceptions stay; ``ConflictError`` if another show of the station has the name)."""
    await check_name_free(session, Show, row.station_id, settings["name"], exclude=row.id)
    _apply(row, settings)
