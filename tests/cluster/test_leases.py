"""Leases and fencing tokens on every database: tokens only grow, one of two
racers wins, a holder past its lease is refused, and a fenced write holds a
takeover back until it has committed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from grimnir.cluster import FencingError, LeaseStore, fenced, station_resource
from grimnir.domain import ExecutorState
from grimnir.store.models import ExecutorStateRecord
from tests.cluster.conftest import ManualClock, Sessions

TTL = timedelta(seconds=10)
A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
B = uuid.UUID("00000000-0000-4000-8000-00000000000b")


def _resource() -> str:
    return station_resource(uuid.uuid4())


async def _write_state(
    sessions: Sessions,
    station_id: uuid.UUID,
    resource: str,
    token: int,
    position_ms: int,
    clock: ManualClock | None = None,
) -> None:
    """What an executor's state write will look like: fenced, then written, one transaction."""
    async with sessions() as session, session.begin():
        await fenced(session, resource, token, clock=clock.now if clock else None)
        row = await session.get(ExecutorStateRecord, station_id)
        if row is None:
            session.add(
                ExecutorStateRecord(
                    station_id=station_id, state=ExecutorState.PLAYING, position_ms=position_ms
                )
            )
        else:
            row.position_ms = position_ms


async def _position(sessions: Sessions, station_id: uuid.UUID) -> int | None:
    async with sessions() as session:
        return await session.scalar(
            select(ExecutorStateRecord.position_ms).where(
                ExecutorStateRecord.station_id == station_id
            )
        )


async def test_tokens_only_grow_across_release_and_expiry(
    sessions: Sessions, clock: ManualClock
) -> None:
    leases = LeaseStore(sessions, clock=clock.now)
    resource = _resource()
    tokens = []

    first = await leases.acquire(resource, A, TTL)
    assert first is not None
    tokens.append(first.token)
    assert await leases.acquire(resource, B, TTL) is None
    assert await leases.acquire(resource, A, TTL) is None  # a holder renews instead
    assert await leases.release(first)

    second = await leases.acquire(resource, A, TTL)  # the same holder, after a release
    assert second is not None
    tokens.append(second.token)
    clock.advance(TTL.total_seconds())  # exactly at expiry: free

    third = await leases.acquire(resource, B, TTL)
    assert third is not None
    tokens.append(third.token)
    clock.advance(TTL.total_seconds() + 1)

    fourth = await leases.acquire(resource, B, TTL)  # its own lease, run out
    assert fourth is not None
    tokens.append(fourth.token)

    assert tokens == sorted(set(tokens))
    assert len(tokens) == 4
    assert await leases.current(resource) == fourth
    assert not await leases.release(third)  # an old token releases nothing


async def test_renewal_extends_and_is_refused_once_run_out(
    sessions: Sessions, clock: ManualClock
) -> None:
    leases = LeaseStore(sessions, clock=clock.now)
    resource = _resource()
    lease = await leases.acquire(resource, A, TTL)
    assert lease is not None

    clock.advance(8)
    renewed = await leases.renew(lease, TTL)
    assert renewed is not None
    assert renewed.token == lease.token
    assert renewed.expires_at == clock.now() + TTL
    clock.advance(8)  # past the first expiry, within the renewed one
    assert await leases.acquire(resource, B, TTL) is None

    clock.advance(3)  # past the renewed one, nobody took it yet
    assert await leases.renew(renewed, TTL) is None
    assert await leases.current(resource) is None


async def test_two_instances_race_and_exactly_one_wins(
    sessions: Sessions, other_sessions: Sessions
) -> None:
    """Each on its own engine and on the database's clock, as two processes would be:
    for fresh leases, and for a takeover of one that was released."""
    mine, theirs = LeaseStore(sessions), LeaseStore(other_sessions)
    for _ in range(25):
        resource = _resource()
        won = await asyncio.gather(mine.acquire(resource, A, TTL), theirs.acquire(resource, B, TTL))
        winners = [lease for lease in won if lease is not None]
        assert len(winners) == 1
        assert winners[0].token == 1

        assert await (mine if winners[0].holder == A else theirs).release(winners[0])
        again = await asyncio.gather(
            theirs.acquire(resource, B, TTL), mine.acquire(resource, A, TTL)
        )
        winners = [lease for lease in again if lease is not None]
        assert len(winners) == 1
        assert winners[0].token == 2


async def test_a_holder_woken_after_a_takeover_writes_nothing(
    sessions: Sessions, clock: ManualClock, station_id: uuid.UUID
) -> None:
    """The SIGSTOP case: A holds the station and writes; it stops renewing (paused)
    past its lease; B takes over and writes; A wakes and tries to write with its
    token: refused, and B's write stands."""
    leases = LeaseStore(sessions, clock=clock.now)
    resource = station_resource(station_id)
    a = await leases.acquire(resource, A, TTL)
    assert a is not None
    await _write_state(sessions, station_id, resource, a.token, 1_000, clock)

    clock.advance(TTL.total_seconds() + 5)  # A is paused, its lease runs out
    b = await leases.acquire(resource, B, TTL)
    assert b is not None
    assert b.token > a.token
    await _write_state(sessions, station_id, resource, b.token, 2_000, clock)

    with pytest.raises(FencingError, match="took it over"):
        await _write_state(sessions, station_id, resource, a.token, 999_999, clock)
    assert await leases.renew(a, TTL) is None
    with pytest.raises(FencingError):
        await leases.check(resource, a.token)
    await leases.check(resource, b.token)
    assert await _position(sessions, station_id) == 2_000


async def test_fenced_refuses_run_out_released_and_unknown_leases(
    sessions: Sessions, clock: ManualClock, station_id: uuid.UUID
) -> None:
    leases = LeaseStore(sessions, clock=clock.now)
    resource = station_resource(station_id)
    lease = await leases.acquire(resource, A, TTL)
    assert lease is not None
    await _write_state(sessions, station_id, resource, lease.token, 10, clock)

    clock.advance(TTL.total_seconds())  # run out, nobody took it over yet
    with pytest.raises(FencingError, match="ran out"):
        await _write_state(sessions, station_id, resource, lease.token, 20, clock)

    lease = await leases.acquire(resource, A, TTL)
    assert lease is not None
    assert await leases.release(lease)
    with pytest.raises(FencingError, match="released"):
        await _write_state(sessions, station_id, resource, lease.token, 30, clock)
    with pytest.raises(FencingError, match="was ever granted"):
        await leases.check(_resource(), 1)
    assert await _position(sessions, station_id) == 10


async def _lock_waits(sessions: Sessions, backend: str) -> int:
    """How many statements of this database wait for a row lock now."""
    if backend == "postgresql":
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
    else:
        # NOTE: the processlist, not innodb_trx: that table is a cache that was
        # seen to show no waiting transaction for half a minute on a busy machine.
        query = text(
            "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()"
            " AND command = 'Query' AND info LIKE '%leases%' AND id <> CONNECTION_ID()"
        )
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


@pytest.mark.backends(
    "postgresql", "mariadb"
)  # NOTE: SQLite has one writer: the takeover waits for the whole database
async def test_a_fenced_write_holds_a_takeover_back_until_it_commits(
    sessions: Sessions,
    other_sessions: Sessions,
    clock: ManualClock,
    station_id: uuid.UUID,
    backend: str,
) -> None:
    """A checks its token and writes, and its lease runs out before it commits: B's
    takeover waits for the lease row until A's transaction ends, so A's write lands
    before B holds the station, never beside it."""
    resource = station_resource(station_id)
    a_leases = LeaseStore(sessions, clock=clock.now)
    b_leases = LeaseStore(other_sessions, clock=clock.now)
    a = await a_leases.acquire(resource, A, TTL)
    assert a is not None
    order: list[str] = []

    async with sessions() as session:
        async with session.begin():
            await fenced(session, resource, a.token, clock=clock.now)
            session.add(
                ExecutorStateRecord(
                    station_id=station_id, state=ExecutorState.PLAYING, position_ms=500
                )
            )
            await session.flush()
            clock.advance(TTL.total_seconds() + 1)
            takeover = asyncio.create_task(b_leases.acquire(resource, B, TTL))
            takeover.add_done_callback(lambda _: order.append("B holds the station"))
            async with asyncio.timeout(30):
                while await _lock_waits(other_sessions, backend) == 0:
                    assert not takeover.done(), takeover.result()
                    await asyncio.sleep(0.02)
            order.append("A commits")
        b = await takeover

    assert order == ["A commits", "B holds the station"]
    assert b is not None
    assert b.token == a.token + 1
    assert await _position(sessions, station_id) == 500


@pytest.mark.backends("postgresql")  # NOTE: the server-side limits are PostgreSQL's
async def test_a_holder_paused_mid_write_loses_the_write_not_the_station(
    sessions: Sessions,
    other_sessions: Sessions,
    clock: ManualClock,
    station_id: uuid.UUID,
    backend: str,
) -> None:
    """A checks its token and writes, then is paused before it commits. B's takeover
    gives up waiting after a third of its lease (no stall of B's loop); the server
    ends A's idle transaction after the stall limit, B takes over, and A's commit
    on waking fails: its write never lands."""
    resource = station_resource(station_id)
    a_leases = LeaseStore(sessions, clock=clock.now)
    b_leases = LeaseStore(other_sessions, clock=clock.now)
    a = await a_leases.acquire(resource, A, TTL)
    assert a is not None
    quick = timedelta(seconds=0.3)  # lock_timeout = 100 ms

    session = sessions()
    try:
        await session.begin()
        await a_leases.fenced(session, resource, a.token, stall_limit=timedelta(seconds=0.5))
        session.add(
            ExecutorStateRecord(station_id=station_id, state=ExecutorState.PLAYING, position_ms=7)
        )
        await session.flush()
        clock.advance(TTL.total_seconds() + 1)  # A is paused here, its lease runs out
        assert await b_leases.acquire(resource, B, quick) is None  # A's row lock: wait, give up

        async with asyncio.timeout(30):
            while (b := await b_leases.acquire(resource, B, quick)) is None:
                await asyncio.sleep(0.1)  # until the server has ended A's transaction
        assert b.token == a.token + 1
        with pytest.raises(DBAPIError):
            await session.commit()  # A wakes up
    finally:
        with contextlib.suppress(DBAPIError):
            await session.close()
    assert await _position(sessions, station_id) is None
