"""Live DJs in the store: one-time live tokens, live sessions, the accounts and
the live show occurrences they belong to.

What the live routes and the harbor's credential callback ask of the store. Each
function works in the caller's session and never commits; a refusal is a domain
error whose message says what to fix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConfigError, EntryKind, NotFoundError
from grimnir.services.authentication import membership_role
from grimnir.services.paging import rows_page
from grimnir.store.models import LiveSession, LiveToken, Station, TimelineEntry, User
from grimnir.store.types import utcnow


async def user_names(
    session: AsyncSession, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """User name by id of the users among ``ids`` (``None`` and unknown ids left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


async def account(session: AsyncSession, user_id: uuid.UUID | None) -> User | None:
    """The user with this id (``None``: no id, or no such user)."""
    return None if user_id is None else await session.get(User, user_id)


async def check_member(session: AsyncSession, station: Station, user_id: uuid.UUID) -> None:
    """``ConfigError`` unless the user is a member of the station (or an administrator)."""
    user = await session.get(User, user_id)
    member = await membership_role(session, user_id, station.id)
    if user is None or (member is None and not user.is_admin):
        raise ConfigError(
            f"user {user_id} is not a member of station {station.short_name!r}: add them "
            "with PUT /api/v1/stations/{station}/members/{user_id} first"
        )


async def harbor_station(session: AsyncSession, station_id: uuid.UUID) -> Station:
    """The station an engine asks about (``NotFoundError`` when there is none)."""
    station = await session.get(Station, station_id)
    if station is None:
        raise NotFoundError(f"no station {station_id}: check the engine's station file")
    return station


async def live_show(
    session: AsyncSession, station_id: uuid.UUID, entry_id: uuid.UUID, now: datetime
) -> TimelineEntry:
    """A live show occurrence of the station that has not ended by ``now``
    (``ConfigError`` otherwise)."""
    entry = await session.get(TimelineEntry, entry_id)
    if entry is None or entry.station_id != station_id or entry.kind is not EntryKind.LIVE:
        raise ConfigError(
            f"entry_id {entry_id} is not a live show of this station: see GET "
            "/api/v1/stations/{station}/timeline for entries of kind 'live'"
        )
    if entry.ends_at <= now:
        raise ConfigError(f"the live show {entry_id} is over: pick one that has not ended")
    return entry


# -- tokens ---------------------------------------------------------------------------------


async def valid_tokens(
    session: AsyncSession, station_id: uuid.UUID, now: datetime, *, owner: uuid.UUID | None
) -> list[LiveToken]:
    """The station's unused live tokens still valid at ``now``, soonest to expire first;
    only ``owner``'s unless it is ``None``."""
    query = select(LiveToken).where(
        LiveToken.station_id == station_id,
        LiveToken.used_at.is_(None),
        LiveToken.expires_at > now,
    )
    if owner is not None:
        query = query.where(LiveToken.user_id == owner)
    return list(await session.scalars(query.order_by(LiveToken.expires_at)))


async def withdraw_token(
    session: AsyncSession, station_id: uuid.UUID, token_id: uuid.UUID, *, owner: uuid.UUID | None
) -> LiveToken:
    """Delete a live token of the station (only ``owner``'s unless it is ``None``);
    ``NotFoundError`` when there is no such token."""
    row = await session.get(LiveToken, token_id)
    if row is None or row.station_id != station_id or not (owner is None or row.user_id == owner):
        raise NotFoundError(f"no live token {token_id} of yours: see GET …/live/tokens")
    await session.delete(row)
    return row


# -- sessions -------------------------------------------------------------------------------


async def open_sessions(session: AsyncSession, station_id: uuid.UUID) -> dict[str, LiveSession]:
    """The latest still-open live session per mount."""
    rows = await session.scalars(
        select(LiveSession)
        .where(LiveSession.station_id == station_id, LiveSession.disconnected_at.is_(None))
        .order_by(LiveSession.connected_at)
    )
    return {row.mount: row for row in rows}


async def session_page(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[int, list[LiveSession]]:
    """How many live sessions the station had, and one page of them, newest first."""
    rows, total = await rows_page(
        session,
        LiveSession,
        limit=limit,
        offset=offset,
        where=(LiveSession.station_id == station_id,),
        order_by=(LiveSession.connected_at.desc(), LiveSession.id),
    )
    return total, list(rows)


async def open_session(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    mount: str,
    remote: str,
) -> LiveSession:
    """Record a DJ connecting on ``mount`` now (stored, so it has its id)."""
    row = LiveSession(
        station_id=station_id,
        user_id=user_id,
        mount=mount,
        connected_at=utcnow(),
        remote_addr=remote[:64] or None,
    )
    session.add(row)
    await session.flush()
    return row
