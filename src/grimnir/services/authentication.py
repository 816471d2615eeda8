"""Who is signing in: a user name and password checked once, the same way for the
API's sign-in and the harbor's DJ logins, and a user's role on a station."""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import Role
from grimnir.services.accounts import find_user, hash_password, needs_rehash, verify_password
from grimnir.store.models import Membership, User


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking a login for an unknown name against
    it costs as much as a wrong password, so timing tells nothing."""
    return hash_password(secrets.token_hex(16))


async def check_login(session: AsyncSession, username: str, password: str) -> User | None:
    """The enabled user these credentials belong to, else ``None`` (unknown name,
    wrong password or disabled account alike). argon2 takes tens of milliseconds of
    CPU: it runs off the event loop. A good password over a hash carried over from
    another product (bcrypt, Django's) is rehashed to ours on the way (the caller
    commits it)."""
    user = await find_user(session, username)
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not ok or user.disabled:
        return None
    if needs_rehash(stored):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return user


async def sign_in(
    session: AsyncSession, username: str, password: str, *, now: datetime | None = None
) -> User | None:
    """:func:`check_login`, noting the time in the user's ``last_login_at`` when the
    credentials hold (the API's sign-in; the harbor's DJ logins only check)."""
    user = await check_login(session, username, password)
    if user is not None:
        user.last_login_at = now or datetime.now(UTC)
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


async def station_roles(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, Role]:
    """The user's role on each station they are a member of, by station id."""
    rows = await session.execute(
        select(Membership.station_id, Membership.role).where(Membership.user_id == user_id)
    )
    return {station_id: role for station_id, role in rows}
