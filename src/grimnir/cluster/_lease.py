"""Leases with fencing tokens, kept in the shared database.

A lease gives one instance a resource (the planner's leadership, one station)
until ``expires_at``; the holder renews it well before then. Every acquisition
bumps the resource's ``token``, so tokens only grow and are never handed out
twice. Whoever acts for a resource passes its token along, and :func:`fenced`
refuses a stale one inside the writer's own transaction: an instance that was
paused past its lease (SIGSTOP, a long GC pause, a cut-off network) and wakes up
finds its token refused before it can write.

Each step is one short transaction whose decisive statement is a conditional
``UPDATE`` on the lease row: PostgreSQL and MariaDB let one of two racing
instances through and re-check the condition for the other once the first has
committed; SQLite has a single writer anyway. Times come from the database
(PostgreSQL ``clock_timestamp()``, MariaDB ``UTC_TIMESTAMP(6)``), so the
instances' clocks need not agree; SQLite, one machine, uses this machine's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Insert, Table, func, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain.errors import FencingError
from grimnir.store.models import LeaseRecord
from grimnir.store.types import UTCDateTime

Clock = Callable[[], datetime]
"""A source of aware UTC datetimes that stands in for the database's clock (tests)."""

PLANNER = "planner"
"""The lease of the planner's leadership: one planner writes timelines at a time."""

_LEASES = cast(Table, LeaseRecord.__table__)  # NOTE: Core statements, no ORM objects


def station_resource(station_id: uuid.UUID | str) -> str:
    """The lease name of one station's ownership: ``station:<uuid>``."""
    return f"station:{station_id}"


@dataclass(frozen=True)
class Lease:
    """A lease as its holder got it: the token to pass along, and until when it runs."""

    resource: str
    holder: uuid.UUID
    token: int
    acquired_at: datetime
    expires_at: datetime


async def database_now(session: AsyncSession, clock: Clock | None = None) -> datetime:
    """The current time by the database's clock (or ``clock``'s, when given).

    PostgreSQL's ``clock_timestamp()`` is the real time (``now()`` would be the
    start of the transaction, which may be long ago inside a caller's write).
    """
    if clock is not None:
        return clock()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        now = await session.scalar(select(func.clock_timestamp(type_=UTCDateTime())))
    elif dialect in ("mysql", "mariadb"):
        now = await session.scalar(select(func.utc_timestamp(6, type_=UTCDateTime())))
    else:
        now = datetime.now(UTC)
    if not isinstance(now, datetime):
        raise TypeError(f"the database gave {now!r} for the current time")
    return now


async def fenced(
    session: AsyncSession,
    resource: str,
    token: int,
    *,
    clock: Clock | None = None,
    stall_limit: timedelta | None = None,
) -> None:
    """Check, inside the caller's transaction, that ``token`` is still ``resource``'s.

    Call it before the writes an owner makes (timeline, as-run log, executor
    state) in the same transaction. It locks the lease row, so an instance that
    takes the lease over waits until this transaction has ended (on PostgreSQL
    it gives up after a third of its lease and tries again next round): the
    writes land before the takeover, never after it. Raises
    :class:`FencingError` when the lease was taken over, released, or has run out.

    With ``stall_limit`` (the lease's time to live, say), PostgreSQL ends the
    transaction, writes and all, if it then sits idle that long: a holder
    paused in the middle of a write cannot hold the takeover back for ever.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and stall_limit is not None:
        await _set_local(session, "idle_in_transaction_session_timeout", stall_limit)
    if dialect == "sqlite":
        # NOTE: SQLite reads outside any transaction until the first write; this
        # no-op write takes its (database-wide) write lock now, so no takeover can
        # commit between the check below and the caller's writes.
        await session.execute(
            update(_LEASES).where(_LEASES.c.resource == resource).values(token=_LEASES.c.token)
        )
    row = (
        await session.execute(
            select(_LEASES.c.holder, _LEASES.c.token, _LEASES.c.expires_at)
            .where(_LEASES.c.resource == resource)
            .with_for_update()
        )
    ).one_or_none()
    now = await database_now(session, clock)
    if row is None:
        raise FencingError(f"no lease on {resource} was ever granted; token {token} is not valid")
    if row.token != token:
        raise FencingError(
            f"the lease on {resource} has token {row.token} now, not {token}: another "
            "instance took it over, so this one must stop acting for it"
        )
    if row.holder is None:
        raise FencingError(f"the lease on {resource} (token {token}) was released")
    if row.expires_at <= now:
        raise FencingError(
            f"the lease on {resource} (token {token}) ran out at "
            f"{row.expires_at.isoformat()} without being renewed"
        )


class LeaseStore:
    """Acquire, renew, release and check leases in the database behind ``sessions``.

    ``clock`` replaces the database's clock (tests move time on by hand); leave
    it out in production.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock | None = None):
        self._sessions = sessions
        self._clock = clock

    async def acquire(self, resource: str, holder: uuid.UUID, ttl: timedelta) -> Lease | None:
        """Take ``resource`` for ``holder`` for ``ttl`` if it is free or has run out.

        Returns the lease with its new token, or ``None`` when someone holds it
        (``holder`` included: a holder renews, it does not acquire again).
        """
        _check_ttl(ttl)
        try:
            return await self._acquire(resource, holder, ttl)
        except DBAPIError as e:
            if getattr(e.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                return None  # its holder is mid-write (or paused there): try again later
            raise

    async def _acquire(self, resource: str, holder: uuid.UUID, ttl: timedelta) -> Lease | None:
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                await _set_local(session, "lock_timeout", ttl / 3)
            now = await database_now(session, self._clock)
            await session.execute(_insert_if_missing(session, resource, now))
            taken = await session.execute(
                update(_LEASES)
                .where(
                    _LEASES.c.resource == resource,
                    (_LEASES.c.holder.is_(None)) | (_LEASES.c.expires_at <= now),
                )
                .values(
                    holder=holder,
                    token=_LEASES.c.token + 1,
                    acquired_at=now,
                    expires_at=now + ttl,
                )
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
                return None
            token = await session.scalar(
                select(_LEASES.c.token).where(_LEASES.c.resource == resource)
            )
        if not isinstance(token, int):
            raise TypeError(f"the lease on {resource} has no token after acquiring it")
        return Lease(resource, holder, token, now, now + ttl)

    async def renew(self, lease: Lease, ttl: timedelta) -> Lease | None:
        """``lease`` extended to ``ttl`` from now, or ``None`` if it is no longer held.

        A lease that has run out cannot be renewed, even when nobody took it over
        yet: its holder must acquire it again and take the new token.
        """
        _check_ttl(ttl)
        async with self._sessions() as session, session.begin():
            now = await database_now(session, self._clock)
            renewed = await session.execute(
                update(_LEASES)
                .where(
                    _LEASES.c.resource == lease.resource,
                    _LEASES.c.holder == lease.holder,
                    _LEASES.c.token == lease.token,
                    _LEASES.c.expires_at > now,
                )
                .values(expires_at=now + ttl)
            )
            if renewed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
                return None
        return Lease(lease.resource, lease.holder, lease.token, lease.acquired_at, now + ttl)

    async def release(self, lease: Lease) -> bool:
        """Give ``lease`` up at once, so the next holder need not wait for it to run out.

        Returns whether it was still held. The token stays: the next acquisition
        gets a higher one.
        """
        async with self._sessions() as session, session.begin():
            now = await database_now(session, self._clock)
            released = await session.execute(
                update(_LEASES)
                .where(
                    _LEASES.c.resource == lease.resource,
                    _LEASES.c.holder == lease.holder,
                    _LEASES.c.token == lease.token,
                )
                .values(holder=None, expires_at=now)
            )
            return bool(released.rowcount == 1)  # type: ignore[attr-defined]

    async def current(self, resource: str) -> Lease | None:
        """Who holds ``resource`` now (by the database's clock), or ``None``."""
        async with self._sessions() as session:
            row = (
                await session.execute(select(_LEASES).where(_LEASES.c.resource == resource))
            ).one_or_none()
            now = await database_now(session, self._clock)
        if row is None or row.holder is None or row.expires_at <= now:
            return None
        return Lease(resource, row.holder, row.token, row.acquired_at or now, row.expires_at)

    async def fenced(
        self,
        session: AsyncSession,
        resource: str,
        token: int,
        *,
        stall_limit: timedelta | None = None,
    ) -> None:
        """:func:`fenced` on this store's clock."""
        await fenced(session, resource, token, clock=self._clock, stall_limit=stall_limit)

    async def check(self, resource: str, token: int) -> None:
        """Raise :class:`FencingError` unless ``token`` is ``resource``'s current one.

        A check of its own, for acting outside the database (an engine command);
        writes belong inside :func:`fenced` in their own transaction.
        """
        async with self._sessions() as session, session.begin():
            await fenced(session, resource, token, clock=self._clock)


_LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE when ``lock_timeout`` ran out."""


async def _set_local(session: AsyncSession, setting: str, limit: timedelta) -> None:
    """Set a PostgreSQL time limit for the rest of this transaction only."""
    milliseconds = max(1, int(limit.total_seconds() * 1000))
    await session.execute(select(func.set_config(setting, f"{milliseconds}ms", True)))


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        raise ValueError(f"a lease must last some time, not {ttl}")


def _insert_if_missing(session: AsyncSession, resource: str, now: datetime) -> Insert:
    """An ``INSERT`` of a free lease row (token 0) that does nothing if the row exists."""
    values = {
        "resource": resource,
        "holder": None,
        "token": 0,
        "acquired_at": None,
        "expires_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(_LEASES).values(values).on_conflict_do_nothing()
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(_LEASES).values(values)
        return stmt.on_duplicate_key_update(resource=stmt.inserted.resource)
    return sqlite.insert(_LEASES).values(values).on_conflict_do_nothing()
