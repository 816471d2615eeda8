"""What aired and who claims the air: pages of a station's as-run log and its
active priority claims."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.services.paging import rows_page
from grimnir.store.models import AsRun, PrioritySource


async def asrun_page(
    session: AsyncSession,
    station_id: uuid.UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    limit: int,
    offset: int = 0,
) -> tuple[Sequence[AsRun], int]:
    """One page of what the station aired, newest first, of the items that started
    in ``[since, until)`` (either end open when ``None``), and how many in all."""
    where: list[ColumnElement[bool]] = [AsRun.station_id == station_id]
    if since is not None:
        where.append(AsRun.started_at >= since)
    if until is not None:
        where.append(AsRun.started_at < until)
    order = (AsRun.started_at.desc(), AsRun.id)
    return await rows_page(session, AsRun, limit=limit, offset=offset, where=where, order_by=order)


async def active_claims(session: AsyncSession, station_id: uuid.UUID) -> Sequence[PrioritySource]:
    """The station's active claims on the air, the strongest (emergency) first,
    then the oldest first."""
    rows = await session.scalars(
        select(PrioritySource)
        .where(PrioritySource.station_id == station_id, PrioritySource.active.is_(True))
        .order_by(PrioritySource.priority, PrioritySource.activated_at)
    )
    return rows.all()


__all__ = ["active_claims", "asrun_page"]
