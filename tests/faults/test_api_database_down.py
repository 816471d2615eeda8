"""The API with its database gone: 503 with Retry-After and a problem that says why,
one log line for the outage (not a traceback per request), 200 again once it is back."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grimnir.api._nowplaying import NowPlaying, Track, recalled
from grimnir.store.models import Station
from tests._api import api_world


async def test_requests_get_503_while_the_database_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "db"
    async with api_world(folder) as world:
        client = world.client("admin")
        assert (await client.get("/api/v1/stations")).status_code == 200
        # the database's folder goes away (a lost mount, a dead disk): SQLite cannot open it
        await world.db.dispose()
        away = tmp_path / "away"
        folder.rename(away)
        caplog.set_level(logging.INFO, logger="grimnir.api")
        try:
            for _ in range(20):
                r = await client.get("/api/v1/stations")
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5"
                assert r.headers["content-type"].startswith("application/problem+json")
                assert "database is unreachable" in r.json()["detail"]
        finally:
            await world.db.dispose()
            away.rename(folder)
            # NOTE: connections the outage broke are closed now, while this loop runs
            # (collected later, their close would reach a closed loop from aiosqlite's thread)
            gc.collect()
            await asyncio.sleep(0.05)
        assert (await client.get("/api/v1/stations")).status_code == 200
        lines = [r for r in caplog.records if r.name == "grimnir.api"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].exc_info is None
        assert "unreachable" in lines[0].getMessage()


async def test_public_now_playing_is_answered_from_memory_while_the_database_is_down(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "db"
    async with api_world(folder) as world:
        anon = world.client()
        path = "/api/v1/public/stations/wgmr/now-playing"
        before = await anon.get(path)
        assert before.status_code == 200
        assert (await anon.get("/api/nowplaying/wgmr")).status_code == 200
        assert (await anon.get("/api/v1/public/stations")).status_code == 200
        schedule = "/api/v1/public/stations/wgmr/schedule"
        planned = await anon.get(schedule)
        assert planned.status_code == 200
        assert "grimnir_database_up 1.0" in (await anon.get("/metrics")).text
        await world.db.dispose()
        away = tmp_path / "away"
        folder.rename(away)
        try:
            world.app.state.public_cache.invalidate(None)  # as an item.started would
            during = await anon.get(path)
            assert during.status_code == 200, during.text
            assert during.json()["station"] == before.json()["station"]
            assert int(during.headers["cache-control"].split("=")[1]) <= 1
            stations = await anon.get("/api/v1/public/stations")
            assert stations.status_code == 200, stations.text
            assert "wgmr" in [s["short_name"] for s in stations.json()]
            azuracast = await anon.get("/api/nowplaying/wgmr")
            assert azuracast.status_code == 200, azuracast.text
            # the schedule already read is served, within what was read
            later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            known = await anon.get(schedule, params={"from": later})
            assert known.status_code == 200, known.text
            assert known.json()["to"] == planned.json()["to"]
            assert known.json()["from"].startswith(later[:19])
            beyond = (datetime.now(UTC) + timedelta(days=3)).isoformat()
            unknown = await anon.get(schedule, params={"from": beyond})
            assert unknown.status_code == 503
            # a station never read before has nothing to recall: 503, not a guess
            other = await anon.get("/api/v1/public/stations/nope/now-playing")
            assert other.status_code == 503
            # Prometheus still scrapes: the stations it knew, and that the database is down
            metrics = await anon.get("/metrics")
            assert metrics.status_code == 200
            assert "grimnir_database_up 0.0" in metrics.text
            assert 'grimnir_station_on_air{station="wgmr"}' in metrics.text
        finally:
            await world.db.dispose()
            away.rename(folder)
            # NOTE: connections the outage broke are closed now, while this loop runs
            # (collected later, their close would reach a closed loop from aiosqlite's thread)
            gc.collect()
            await asyncio.sleep(0.05)


async def test_now_playing_recalled_moves_along_the_plan(tmp_path: Path) -> None:
    async with api_world(tmp_path / "db") as world:
        t0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

        def track(n: int, start_s: float, length_s: float) -> Track:
            return Track(
                id=str(n),
                title=f"t{n}",
                artist="",
                album="",
                started_at=t0 + timedelta(seconds=start_s),
                duration_ms=int(length_s * 1000),
            )

        last = NowPlaying(
            station=Station(id=uuid.uuid4(), name="X", short_name="x", timezone="UTC"),
            at=t0,
            current=track(1, 0, 60),
            next=[track(2, 60, 60), track(3, 120, 60)],
            history=[],
            listeners=None,
            is_online=True,
        )
        same = recalled(last, world.ctx, t0 + timedelta(seconds=30))
        assert same.current == last.current
        moved = recalled(last, world.ctx, t0 + timedelta(seconds=90))
        assert moved.current is not None
        assert moved.current.title == "t2"
        assert [t.title for t in moved.next] == ["t3"]
        assert [t.title for t in moved.history] == ["t1"]
        # the plan ran out long ago: nothing is claimed as on air
        gone = recalled(last, world.ctx, t0 + timedelta(minutes=10))
        assert gone.current is None
