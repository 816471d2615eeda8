"""Cluster fixtures: a real database per backend and clocks moved on by hand.

Leases are judged by the database's clock in production; here a
:class:`ManualClock` stands in for it (and, separately or the same, for each
instance's monotonic clock), so a lease runs out when a test says so, not after
a sleep. The cluster tables are emptied before each test: nodes of an earlier
test would otherwise still look alive.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.store import create_engine, session_factory
from grimnir.store.models import ClusterNodeRecord, LeaseRecord, Station
from tests._databases import migrated_database

Sessions = async_sessionmaker[AsyncSession]

START = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


class ManualClock:
    """A wall clock (``now()``) and a monotonic clock (``monotonic()``) that move
    only when ``advance`` is called."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the backends a test's ``backends`` mark does not name (not skipped:
    the test does not apply to them)."""
    dropped = []
    for item in items:
        mark = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        if (
            mark is not None
            and callspec is not None
            and callspec.params.get("db_url") not in mark.args
        ):
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
    ],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database migrated to head, per backend and test module."""
    with migrated_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture
def backend(db_url: str) -> str:
    return db_url.split(":", 1)[0]


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(db_url)
    try:
        factory = session_factory(engine)
        async with factory() as session, session.begin():
            await session.execute(delete(LeaseRecord))
            await session.execute(delete(ClusterNodeRecord))
        yield factory
    finally:
        await engine.dispose()


@pytest.fixture
async def other_sessions(db_url: str) -> AsyncIterator[Sessions]:
    """Sessions on an engine of their own: a second instance's connections."""
    engine = create_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def station_id(sessions: Sessions) -> uuid.UUID:
    short = f"st-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        row = Station(short_name=short, name=f"Station {short}", timezone="UTC")
        session.add(row)
    return row.id
