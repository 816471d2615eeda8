"""``/metrics``: API request counters, and executor/engine metrics of a station on
air (a real executor driving a real in-process engine on a virtual clock)."""

from __future__ import annotations

import asyncio
import re
import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from grimnir.domain import EntryKind, EntryStatus, MediaState, Timing
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.client import EngineClient, InProcessEngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor.station import StationExecutor
from grimnir.store.models import MediaItem, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import ApiWorld, api_world

ORIGIN = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, ``None`` when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_count_api_requests_by_route_template(world: ApiWorld) -> None:
    anon = world.client()
    for _ in range(3):
        assert (await anon.get("/api/v1/public/stations/wgmr/now-playing")).status_code == 200
    assert (await anon.get("/api/v1/public/stations/nope/now-playing")).status_code == 404
    assert (await world.client("dj").get("/api/v1/stations")).status_code == 200
    response = await anon.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/api/v1/public/stations/{station}/now-playing"
    ok = _sample(text, "grimnir_api_requests_total", method="GET", route=route, status="200")
    missing = _sample(text, "grimnir_api_requests_total", method="GET", route=route, status="404")
    assert (ok, missing) == (3.0, 1.0)
    assert _sample(text, "grimnir_api_requests_total", route="/api/v1/stations") == 1.0
    count = _sample(text, "grimnir_api_request_duration_seconds_count", route=route)
    assert count == 4.0
    # not on air in this process
    assert _sample(text, "grimnir_station_on_air", station="wgmr") == 0.0
    assert "/metrics" not in (await anon.get("/api/v1/openapi.json")).text


async def test_two_apps_in_one_process_keep_their_own_counts(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with api_world(tmp_path / "a") as a, api_world(tmp_path / "b") as b:
        await a.client().get("/api/v1/public/stations")
        text_b = (await b.client().get("/metrics")).text
        assert (
            _sample(text_b, "grimnir_api_requests_total", route="/api/v1/public/stations") is None
        )


class _OnAirHere:
    def __init__(self, station: uuid.UUID, executor: StationExecutor, engine: EngineClient):
        self.station, self._executor, self._engine = station, executor, engine

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        return self._executor if station_id == self.station else None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        return self._engine if station_id == self.station else None

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        return []


def _tone(path: Path, seconds: float) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.25 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


async def _plan(world: ApiWorld, folder: Path) -> None:
    station = world.stations["wgmr"]
    async with world.ctx.sessions() as session, session.begin():
        for index, title in enumerate(["Alpha", "Bravo"]):
            path = _tone(folder / f"{title}.wav", 4.0)
            media = MediaItem(
                station_id=station,
                sha256=uuid.uuid4().hex * 2,
                path=str(path),
                size_bytes=path.stat().st_size,
                title=title,
                artist="Tones",
                state=MediaState.READY,
            )
            session.add(media)
            await session.flush()
            start = ORIGIN + timedelta(seconds=4 * index)
            session.add(
                TimelineEntry(
                    station_id=station,
                    seq=await allocate_timeline_seq(session, station),
                    starts_at=start,
                    ends_at=start + timedelta(seconds=4),
                    kind=EntryKind.TRACK,
                    status=EntryStatus.PLANNED,
                    timing=Timing.SOFT,
                    media_id=media.id,
                    title=title,
                    artist="Tones",
                )
            )


async def test_station_metrics_and_now_playing_follow_the_engine(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        await _plan(world, tmp_path)
        station = world.stations["wgmr"]
        clock = VirtualClock(ORIGIN)
        engine = Engine(clock, EngineOptions())
        client = InProcessEngineClient(LocalControl(engine, str(station)))
        executor = StationExecutor(
            station,
            world.ctx.sessions,
            client,
            world.ctx.bus,
            clock=lambda: clock.time_at(clock.frame),
            preload_s=10.0,
            lockstep=True,
        )
        world.ctx.on_air = _OnAirHere(station, executor, client)
        anon = world.client()
        await anon.get("/metrics")  # the metrics start following the bus
        await asyncio.sleep(0.05)
        await executor.start()
        try:
            await executor.wait_ready()
            async with asyncio.timeout(60):
                await executor.settle()
                for _ in range(round(1.0 * RATE / BLOCK)):  # in lock-step with the executor
                    clock.wait()
                    engine.step()
                    await executor.settle()
            assert executor.current is not None
            await asyncio.sleep(0.05)  # the metrics follow the bus
            text = (await anon.get("/metrics")).text
            assert _sample(text, "grimnir_station_on_air", station="wgmr") == 1.0
            assert _sample(text, "grimnir_station_on_air", station="other") == 0.0
            playing = _sample(text, "grimnir_executor_state", station="wgmr", state="playing")
            idle = _sample(text, "grimnir_executor_state", station="wgmr", state="idle")
            assert (playing, idle) == (1.0, 0.0)
            assert _sample(text, "grimnir_executor_priority", station="wgmr") == 3.0
            assert _sample(text, "grimnir_executor_items_started_total", station="wgmr") == 1.0
            assert _sample(text, "grimnir_engine_late_blocks_total", station="wgmr") is not None

            status = await client.status()
            np_body = (await anon.get("/api/v1/public/stations/wgmr/now-playing")).json()
            assert status.current is not None
            assert np_body["current"]["title"] == status.current.title == "Alpha"
            assert [s["title"] for s in np_body["next"]] == ["Bravo"]
            assert np_body["is_online"] is True
            az = (await anon.get("/api/nowplaying/wgmr")).json()
            assert az["now_playing"]["song"]["title"] == "Alpha"
        finally:
            await executor.close()
            engine.close()
