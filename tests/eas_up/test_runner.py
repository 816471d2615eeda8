"""AlertSources on a real database: what each ``eas`` section starts (the weekly test
in the station's time zone, NAAD over its hosts), a source the config cannot
make shown with why, a changed section followed, alerts turned off, and every
source stopped when the runner is cancelled."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from grimnir.eas import NaadClient, RwtRunner, RwtSchedule
from grimnir.services import alerts_sources
from grimnir.store.models import Station
from tests._databases import migrated_database
from tests.eas_onair._world import AlertWorld, alert_world

EAS: dict[str, Any] = {
    "enabled": True,
    "country": "US",
    "sender_id": "WTST/FM",
    "same_locations": ["048453"],
    "rwt": {"weekday": "wednesday", "time": "11:05"},
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database("sqlite", tmp_path_factory.mktemp("db")) as database:
        yield database


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _until(what: str, check: Callable[[], object], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.02)
    assert check(), what


async def _store(world: AlertWorld, **values: object) -> None:
    async with world.ctx.sessions() as session, session.begin():
        await session.execute(update(Station).where(Station.id == world.station.id).values(values))


def _labels(world: AlertWorld) -> list[str] | None:
    found = alerts_sources.health(world.station.id)
    return None if found is None else sorted(h.label for h in found)


async def test_the_runner_follows_the_eas_section(url: str, tmp_path: Path) -> None:
    port = _closed_port()
    eas = {**EAS, "naad": [{"host": "127.0.0.1", "port": port}, {"host": "localhost"}]}
    async with alert_world(url, tmp_path, eas) as world:
        await _store(world, timezone="America/Chicago")
        runner = alerts_sources.AlertSources(
            world.ctx, [world.station.id], check_every_s=0.05, naad_archives=()
        )
        task = asyncio.create_task(runner.run())
        try:
            await _until("sources", lambda: _labels(world) == ["naad:127.0.0.1", "rwt"])
            running = alerts_sources.sources(world.station.id)
            rwt = next(s for s in running if isinstance(s, RwtRunner))
            assert rwt.schedule == RwtSchedule(2, time(11, 5), "America/Chicago")
            naad = next(s for s in running if isinstance(s, NaadClient))
            assert naad.hosts == [("127.0.0.1", port), ("localhost", 8080)]
            assert naad.archive_urls == []
            await _until("NAAD to fail over", lambda: naad.health.consecutive_failures >= 1)
            assert naad.health.running

            # an RWT this config cannot make (no SAME location): shown, with why
            broken = {**EAS, "country": "CA", "same_locations": [], "capcp_locations": ["35"]}
            await _store(world, config={**world.station.config, "eas": broken})
            await _until("the restart", lambda: _labels(world) == ["rwt"])
            assert not naad.health.running  # the old client was stopped
            (shown,) = alerts_sources.health(world.station.id) or []
            assert not shown.running
            assert "not started" in str(shown.last_error)
            assert alerts_sources.sources(world.station.id) == []

            # alerts off: nothing runs, the route would say "not active"
            off = {**EAS, "enabled": False}
            await _store(world, config={**world.station.config, "eas": off})
            await _until("alerts off", lambda: _labels(world) is None)

            await _store(world, config={**world.station.config, "eas": EAS})
            await _until("alerts on again", lambda: _labels(world) == ["rwt"])
            again = alerts_sources.sources(world.station.id)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert alerts_sources.health(world.station.id) is None
        assert [s.health.running for s in again] == [False]
