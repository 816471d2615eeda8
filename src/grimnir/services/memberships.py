"""Station members: who may work on a station, with which role.

A user's role on one station is :func:`grimnir.services.authentication.membership_role`;
all of a user's roles at once, :func:`grimnir.services.authentication.station_roles`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import NotFoundError, Role
from grimnir.store.models import Membership, User


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a station."""

    user_id: uuid.UUID
    username: str
    role: Role


async def list_members(session: AsyncSession, station_id: uuid.UUID) -> list[Member]:
    """The station's members, by username."""
    rows = await session.execute(
        select(User.id, User.username, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.station_id == station_id)
        .order_by(User.username)
    )
    return [Member(user_id, username, role) for user_id, username, role in rows]


async def _membership(
    session: AsyncSession, user_id: uuid.UUID, station_id: uuid.UUID
) -> Membership | None:
    return await session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.station_id == station_id)
    )


async def set_role(
    session: AsyncSession, user_id: uuid.UUID, station_id: uuid.UUID, role: Role
) -> Membership:
    """Make the user a member of the station with ``role`` (or change their role)."""
    row = await _membership(session, user_id, station_id)
    if row is None:
        row = Membership(user_id=user_id, station_id=station_id, role=role)
        session.add(row)
    else:
        row.role = role
    return row


async def remove(session: AsyncSession, user_id: uuid.UUID, station_id: uuid.UUID) -> None:
    """Take the user off the station (``NotFoundError`` if they are not a member)."""
    row = await _membership(session, user_id, station_id)
    if row is None:
        raise NotFoundError(
            f"user {user_id} is not a member of station {station_id}: list its members"
        )
    await session.delete(row)
