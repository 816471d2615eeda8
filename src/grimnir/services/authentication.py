"""Who is signing in: a user name and password checked once, the same way for the
API's sign-in and the harbor's DJ logins, and a user's role on a station."""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import Role
from grimnir.services.accounts import hash_password, verify_password
from grimnir.store.models import Membership, User


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking a login for an unknown name against
    it costs as much as a wrong password, so timing tells nothing."""
    return hash_password(secrets.token_hex(16))


async def check_login(session: AsyncSession, username: str, password: str) -> User | None:
    """The enabled user these credentials belong to, else ``None`` (unknown name,
    wrong password or disabled account alike). argon2 takes tens of milliseconds of
    CPU: it runs off the event loop."""
    user = await session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not ok or user.disabled:
        return None
    return user


async def membership_role(
    session: AsyncSession, user_id: uuid.UUID, station_id: uuid.UUID
) -> Role | None:
    """The user's role on the station (``None``: not a member)."""
    role = await session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.station_id == station_id
        )
    )
    return None if role is None else Role(role)
