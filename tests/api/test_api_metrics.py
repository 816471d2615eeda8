"""``/metrics``: API request counters, and executor/engine metrics of a station on
air (a real executor driving a real in-process engine on a virtual clock)."""

from __future__ import annotations

import asyncio
import re
import uuid
import wave
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grimnir.config import DspGraph
from grimnir.domain import EntryKind, EntryStatus, MediaState, Timing
from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.client import EngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor.station import StationExecutor
from grimnir.planner.builder import build
from grimnir.store.models import MediaItem, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import ApiWorld, api_world, in_lockstep

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

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        return None


def _tone(path: Path, seconds: float, level: float = 0.25) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * 440.0 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


async def _plan(world: ApiWorld, folder: Path, *, silent_bravo: bool = False) -> None:
    station = world.stations["wgmr"]
    async with world.ctx.sessions() as session, session.begin():
        for index, title in enumerate(["Alpha", "Bravo"]):
            level = 0.0 if silent_bravo and title == "Bravo" else 0.25
            path = _tone(folder / f"{title}.wav", 4.0, level)
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
        client, executor = in_lockstep(world, engine)
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
            assert _sample(text, "grimnir_playout_late_blocks_total", station="wgmr") is not None

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


# -- every family, from a station on air ---------------------------------------------------

GRAPH = {
    "nodes": [
        {"type": "loudness_normalize", "target_lufs": -16.0, "true_peak_limit": -1.0},
        {"type": "limiter", "threshold_db": -1.0, "release_ms": 10},
        {"type": "level_meter"},
    ]
}


class _Supervised(_OnAirHere):
    """On air here, with an engine a supervisor has restarted ``restarts`` times."""

    restarts = 3

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        return self.restarts if station_id == self.station else None


async def _scrape_on_air(folder: Path, graph: dict[str, Any]) -> str:
    """/metrics of an API with station wgmr on air: a real executor and in-process engine
    (virtual clock) play a 4 s tone and 4 s of digital silence (dead air) with ``graph``
    on the master bus, scraped 3.5 s into the silence; a plan build of station other
    ran meanwhile."""
    async with api_world(folder) as world:
        await _plan(world, folder, silent_bravo=True)
        station = world.stations["wgmr"]
        clock = VirtualClock(ORIGIN)
        engine = Engine(clock, EngineOptions(dsp_graph=DspGraph.model_validate(graph)))
        engine.add_file_output(folder / "out.wav", AudioFormat.WAV, synchronous=True)
        client, executor = in_lockstep(world, engine)
        world.ctx.on_air = _Supervised(station, executor, client)
        anon = world.client()
        await anon.get("/metrics")  # the metrics start following the bus
        await asyncio.sleep(0.05)
        now = datetime.now(UTC)
        await build(world.ctx.sessions, world.stations["other"], now, 1, now=now)
        await executor.start()
        try:
            await executor.wait_ready()
            async with asyncio.timeout(120):
                await executor.settle()
                for _ in range(round(7.5 * RATE / BLOCK)):  # in lock-step with the executor
                    clock.wait()
                    engine.step()
                    await executor.settle()
            await asyncio.sleep(0.05)  # the metrics follow the bus
            await anon.get("/api/v1/public/stations/wgmr/now-playing")
            return (await anon.get("/metrics")).text
        finally:
            await executor.close()
            engine.close()


@pytest.fixture(scope="module")
def on_air_scrape(tmp_path_factory: pytest.TempPathFactory) -> str:
    return asyncio.run(_scrape_on_air(tmp_path_factory.mktemp("on-air"), GRAPH))


def _at_least(bound: float) -> Callable[[float], bool]:
    return lambda value: value >= bound


FAMILIES: list[tuple[str, dict[str, str], Callable[[float], bool]]] = [
    ("grimnir_api_requests_total", {"route": "/metrics"}, _at_least(1)),
    ("grimnir_api_request_duration_seconds_count", {"route": "/metrics"}, _at_least(1)),
    ("grimnir_database_up", {}, lambda v: v == 1),
    ("grimnir_database_pool_in_use", {}, _at_least(0)),
    ("grimnir_database_pool_size", {}, _at_least(1)),
    ("grimnir_bus_connected", {}, lambda v: v == 1),
    ("grimnir_bus_lag_seconds_count", {}, _at_least(1)),
    ("grimnir_station_on_air", {"station": "wgmr"}, lambda v: v == 1),
    ("grimnir_executor_state", {"station": "wgmr", "state": "idle"}, lambda v: v in (0, 1)),
    ("grimnir_executor_priority", {"station": "wgmr"}, lambda v: v == 3),
    ("grimnir_executor_items_started_total", {"station": "wgmr"}, lambda v: v == 2),
    ("grimnir_schedule_build_duration_seconds_count", {"station": "other"}, _at_least(1)),
    ("grimnir_schedule_entries_total", {"station": "other"}, _at_least(0)),
    ("grimnir_schedule_horizon_seconds", {"station": "wgmr"}, _at_least(0)),
    ("grimnir_smart_block_materialize_duration_seconds_count", {}, _at_least(0)),
    ("grimnir_analysis_queue_depth", {}, lambda v: v == 0),
    ("grimnir_library_items", {"station": "wgmr", "state": "ready"}, lambda v: v == 2),
    ("grimnir_media_engine_up", {"station": "wgmr"}, lambda v: v == 1),
    ("grimnir_media_engine_restarts_total", {"station": "wgmr"}, lambda v: v == 3),
    ("grimnir_media_engine_output_health", {"station": "wgmr"}, lambda v: v == 1),
    ("grimnir_media_engine_output_reconnects_total", {"station": "wgmr"}, lambda v: v == 0),
    (
        "grimnir_media_engine_loudness_lufs",
        {"station": "wgmr", "window": "integrated"},
        lambda v: -30 < v < -5,
    ),
    ("grimnir_media_engine_loudness_target_lufs", {"station": "wgmr"}, lambda v: v == -16),
    # the last second was silent: the meter's floor
    ("grimnir_media_engine_true_peak_dbtp", {"station": "wgmr"}, lambda v: v <= -100),
    ("grimnir_playout_buffer_depth_samples", {"station": "wgmr"}, _at_least(0)),
    ("grimnir_playout_dropout_count_total", {"station": "wgmr"}, _at_least(0)),
    ("grimnir_playout_late_blocks_total", {"station": "wgmr"}, _at_least(0)),
    ("grimnir_playout_cpu_usage_percent", {"station": "wgmr"}, lambda v: 0 < v < 400),
    # the silent item began at 4 s (the chain's look-ahead carries the tone a little
    # past it); the telemetry of second 7 was the last before the scrape
    ("grimnir_playout_silence_seconds", {"station": "wgmr"}, lambda v: 2 <= v <= 3),
    ("grimnir_playout_dead_air_seconds_total", {"station": "wgmr"}, lambda v: 2 <= v <= 3),
]


@pytest.mark.parametrize(("name", "labels", "holds"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_metric_family_is_on_metrics(
    on_air_scrape: str, name: str, labels: dict[str, str], holds: Callable[[float], bool]
) -> None:
    value = _sample(on_air_scrape, name, **labels)
    assert value is not None, f"{name}{labels} missing from /metrics"
    assert holds(value), f"{name}{labels} = {value}"


def test_counters_that_only_count_when_something_happens_are_described(on_air_scrape: str) -> None:
    for family in ("grimnir_analysis_jobs_total", "grimnir_analysis_job_duration_seconds"):
        assert f"# HELP {family} " in on_air_scrape


def test_without_a_level_meter_the_output_loop_reports_the_programme_loudness(
    tmp_path: Path,
) -> None:
    graph = {"nodes": GRAPH["nodes"][:2]}
    text = asyncio.run(_scrape_on_air(tmp_path, graph))
    program = _sample(text, "grimnir_media_engine_loudness_lufs", station="wgmr", window="program")
    assert program is not None
    assert -20 < program < -12  # held at its −16 LUFS target
    assert _sample(text, "grimnir_media_engine_true_peak_dbtp", station="wgmr") is None
