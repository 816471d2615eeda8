"""The acceptance case of issue 22: SIGSTOP one instance longer than its lease,
SIGCONT, and it makes no write and no engine command.

The instance is a real process (``_paused_child.py``) on real clocks and the
real PostgreSQL; the instance that takes over runs here. What the child did is
judged by the moment of the check before each act (its monotonic clock, which
on Linux is the machine's, as the moment SIGSTOP was sent) and by the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path

import pytest

from grimnir.cluster import ClusterNode, station_resource
from grimnir.domain import ExecutorState
from grimnir.store import create_engine, session_factory
from grimnir.store.models import ExecutorStateRecord, Station
from tests._databases import migrated_database
from tests.cluster.conftest import Sessions

pytestmark = pytest.mark.postgres

TTL = 1.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database("postgresql", tmp_path_factory.mktemp("db-postgresql")) as url:
        yield url


@pytest.fixture
async def pg_sessions(pg_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(pg_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


class Child:
    """The child's lines as they come: ``(words, monotonic time read here)``."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[list[str]] = []

    async def until(self, first_word: str, count: int = 1) -> list[str]:
        async with asyncio.timeout(30):
            while sum(line[0] == first_word for line in self.lines) < count:
                raw = await self.process.stdout.readline()  # type: ignore[union-attr]
                if not raw:
                    raise AssertionError(f"the child ended: {self.lines}")
                self.lines.append(raw.decode().split())
        return [line for line in self.lines if line[0] == first_word][count - 1]


async def test_a_stopped_instance_makes_no_write_and_no_command_after_sigcont(
    pg_url: str, pg_sessions: Sessions
) -> None:
    async with pg_sessions() as session, session.begin():
        station = Station(short_name=f"st-{uuid.uuid4().hex[:10]}", name="Paused", timezone="UTC")
        session.add(station)
    resource = station_resource(station.id)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.cluster._paused_child",
        pg_url,
        str(station.id),
        str(TTL),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = Child(process)
    try:
        old_token = int((await child.until("acquired"))[2])
        await child.until("command", 3)  # it acts

        process.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()

        async def stations() -> Collection[uuid.UUID]:
            return [station.id]

        taker = ClusterNode(pg_sessions, name="taker", ttl=TTL, stations=stations, lead=False)
        async with taker:
            async with asyncio.timeout(30):
                while taker.token(resource) is None:
                    await asyncio.sleep(0.05)
            async with pg_sessions() as session, session.begin():
                new_token = await taker.fenced(session, resource)
                row = await session.get(ExecutorStateRecord, station.id)
                if row is None:
                    row = ExecutorStateRecord(station_id=station.id)
                    session.add(row)
                row.state = ExecutorState.PLAYING
                row.position_ms = 42
            assert new_token > old_token

            process.send_signal(signal.SIGCONT)
            await child.until("lost")
            await child.until("stopped")
            assert taker.token(resource) == new_token  # still the taker's

            acts = [line for line in child.lines if line[0] in ("wrote", "command")]
            after = [line for line in acts if float(line[3]) > stopped_at]
            assert acts
            assert after == []
            async with pg_sessions() as session:
                row = await session.get(ExecutorStateRecord, station.id)
            assert row is not None
            assert row.position_ms == 42
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
            process.terminate()
        await process.wait()
