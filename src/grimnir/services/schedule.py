"""A station's shows as its public schedules read them (ours and AzuraCast's)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.store.models import Show


def station_zone(name: str) -> ZoneInfo:
    """The station's time zone; UTC when its name is not a zone this machine knows."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def enabled_shows(session: AsyncSession, station_id: uuid.UUID) -> list[Show]:
    """The station's enabled shows, with their exceptions loaded."""
    return list(
        await session.scalars(
            select(Show)
            .where(Show.station_id == station_id, Show.enabled.is_(True))
            .options(selectinload(Show.exceptions))
        )
    )
