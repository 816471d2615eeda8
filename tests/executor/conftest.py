"""Executor fixtures: a real database per backend, real WAV files, a real engine.

``VirtualStation`` is an in-process ``Engine`` on a ``VirtualClock`` driven by
the test (``await station.run(seconds)``): the executor (``station.executor(...)``)
reads "now" from the same clock, so a minute of programme runs in seconds. After
every block the clock stands still until the executor has settled (lock-step:
``StationExecutor.settle``), so its reactions land on exact frames.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from grimnir.bus import MemoryBus
from grimnir.store import create_engine, session_factory
from grimnir.store.models import Station
from tests._databases import migrated_database
from tests.executor._station import (
    Sessions,
    VirtualStation,
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database migrated to head, per backend and test module."""
    with migrated_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def station_id(sessions: Sessions) -> uuid.UUID:
    short = f"st-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        row = Station(short_name=short, name=f"Station {short}", timezone="UTC")
        session.add(row)
    return row.id


@pytest.fixture
def virtual(station_id: uuid.UUID) -> Iterator[VirtualStation]:
    station = VirtualStation(station_id)
    try:
        yield station
    finally:
        station.close()


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    async with MemoryBus() as memory:
        yield memory
