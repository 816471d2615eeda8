"""Playout, priority, executor state and as-run over HTTP, against a real executor
driving a real in-process engine on a virtual clock (the test mixes the audio, in
lock-step with the executor: ``StationExecutor.settle``)."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from grimnir.config.station import Failover
from grimnir.domain import EntryKind, EntryStatus, MediaState, Priority, Timing
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.client import EngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor.station import StationExecutor
from grimnir.store.models import AuditLog, MediaItem, Station, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import ApiWorld, api_world, in_lockstep

ORIGIN = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
TRACKS = [("Alpha", 330.0), ("Bravo", 440.0), ("Charlie", 550.0)]
TRACK_S = 4.0


def write_tone(path: Path, seconds: float, freq_hz: float) -> Path:
    """A 48 kHz stereo 16-bit WAV of a sine."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.25 * np.sin(2 * np.pi * freq_hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


class OnAirHere:
    """The OnAir of a process that carries one station."""

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


@dataclass
class Air:
    world: ApiWorld
    station: uuid.UUID
    engine: Engine
    clock: VirtualClock
    executor: StationExecutor
    media: dict[str, uuid.UUID]

    def now(self) -> datetime:
        return self.clock.time_at(self.clock.frame)

    async def settle(self) -> None:
        """Hold the clock until the executor has done everything due now (lock-step:
        ``StationExecutor.settle``); a stuck executor fails the test after a minute."""
        async with asyncio.timeout(60):
            await self.executor.settle()

    async def run(self, seconds: float) -> None:
        """Mix ``seconds`` of programme in lock-step with the executor: it settles first
        (what a request asked of it is done now) and after every block."""
        await self.settle()
        for _ in range(round(seconds * RATE / BLOCK)):
            self.clock.wait()
            self.engine.step()
            await self.settle()

    async def run_until(self, check: Callable[[], Awaitable[bool]], limit_s: float) -> bool:
        """Mix in 0.1 s steps until ``check()`` holds (False after ``limit_s`` of audio)."""
        for _ in range(round(limit_s * 10)):
            if await check():
                return True
            await self.run(0.1)
        return await check()

    async def playing(self) -> bool:
        """The executor has seen an automation item start (and none end since)."""
        return self.executor.current is not None

    async def current_title(self) -> str | None:
        r = await self.world.client("admin").get(self.url("executor"))
        current = r.json()["current"]
        return None if current is None else str(current["title"])

    def url(self, path: str) -> str:
        return f"/api/v1/stations/wgmr/{path}"


async def _add_media(world: ApiWorld, station: uuid.UUID, folder: Path) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    async with world.ctx.sessions() as session, session.begin():
        for title, freq in [*TRACKS, ("Extra", 660.0), ("Siren", 990.0)]:
            path = write_tone(folder / f"{title}.wav", TRACK_S, freq)
            row = MediaItem(
                station_id=station,
                sha256=uuid.uuid4().hex * 2,
                path=str(path),
                size_bytes=path.stat().st_size,
                title=title,
                artist="Tones",
                state=MediaState.READY,
            )
            session.add(row)
            await session.flush()
            ids[title] = row.id
        for index, (title, _) in enumerate(TRACKS):
            start = ORIGIN + timedelta(seconds=TRACK_S * index)
            session.add(
                TimelineEntry(
                    station_id=station,
                    seq=await allocate_timeline_seq(session, station),
                    starts_at=start,
                    ends_at=start + timedelta(seconds=TRACK_S),
                    kind=EntryKind.TRACK,
                    status=EntryStatus.PLANNED,
                    timing=Timing.SOFT,
                    media_id=ids[title],
                    title=title,
                    artist="Tones",
                )
            )
    return ids


@pytest.fixture
async def air(tmp_path: Path) -> AsyncIterator[Air]:
    async with api_world(tmp_path) as world:
        station = world.stations["wgmr"]
        media = await _add_media(world, station, tmp_path)
        clock = VirtualClock(ORIGIN)
        engine = Engine(clock, EngineOptions(failover=Failover(live_grace_sec=1.0)))
        client, executor = in_lockstep(world, engine)
        world.ctx.on_air = OnAirHere(station, executor, client)
        await executor.start()
        try:
            await executor.wait_ready()
            air = Air(world, station, engine, clock, executor, media)
            await air.settle()
            assert len(executor.in_engine) == len(TRACKS)  # all within the preload, sent
            yield air
        finally:
            await executor.close()
            engine.close()


async def _audit_actions(world: ApiWorld) -> list[str]:
    async with world.ctx.sessions() as session:
        return list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


async def test_routes_answer_409_when_the_station_is_not_on_air(world: ApiWorld) -> None:
    manager = world.client("manager")
    for method, path in [
        ("GET", "executor"),
        ("GET", "executor/telemetry"),
        ("GET", "priority"),
        ("POST", "playout/skip"),
        ("POST", "playout/resume"),
    ]:
        r = await manager.request(method, f"/api/v1/stations/wgmr/{path}")
        assert r.status_code == 409, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert "not on air in this process" in r.json()["detail"]
        assert "grimnir up" in r.json()["detail"]
    # the as-run log is history: it does not need the station on air
    r = await manager.get("/api/v1/stations/wgmr/asrun")
    assert r.status_code == 200
    assert r.json()["total"] == 0


async def test_executor_shows_state_current_item_and_what_comes_next(air: Air) -> None:
    await air.run(1.0)
    assert await air.playing()
    r = await air.world.client("dj").get(air.url("executor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "playing"
    assert body["engine_up"] is True
    assert body["priority"] == "automation"
    assert body["current"]["title"] == "Alpha"
    assert body["current"]["media_id"] == str(air.media["Alpha"])
    assert body["current"]["position_ms"] == 1000  # 50 blocks mixed since Alpha started
    assert body["current"]["duration_ms"] == TRACK_S * 1000
    assert [e["title"] for e in body["next"]] == ["Bravo", "Charlie"]


async def test_skip_moves_on_to_the_next_item_and_the_asrun_shows_it(air: Air) -> None:
    await air.run(1.0)
    assert await air.playing()
    dj = air.world.client("dj")
    r = await dj.post(air.url("playout/skip"), json={"fade_ms": 100})
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "skip"
    await air.run(0.5)
    r = await dj.get(air.url("executor"))
    # Bravo is soft, planned at 4 s: it follows the skip at once (no silence until then)
    assert r.json()["current"]["title"] == "Bravo"
    await air.run(3.0)

    async def logged() -> bool:
        r = await dj.get(air.url("asrun"))
        return [row["title"] for row in r.json()["items"]] == ["Bravo", "Alpha"]

    assert await logged()
    r = await dj.get(air.url("asrun"))
    rows = r.json()["items"]
    alpha = next(row for row in rows if row["title"] == "Alpha")
    assert alpha["end_reason"] == "skipped"
    assert alpha["duration_ms"] == 1100  # skipped after 1 s of audio, with a 100 ms fade
    assert any(row["title"] == "Bravo" and row["ended_at"] is None for row in rows)
    assert "playout.skip" in await _audit_actions(air.world)
    r = await dj.get(air.url("asrun.csv"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["title"] for row in table] == ["Alpha", "Bravo"]
    assert table[0]["end_reason"] == "skipped"
    # a window that ends before anything aired holds nothing
    r = await dj.get(air.url("asrun"), params={"to": ORIGIN.isoformat()})
    assert r.json()["total"] == 0
    r = await dj.get(
        air.url("asrun"), params={"from": ORIGIN.isoformat(), "to": ORIGIN.isoformat()}
    )
    assert r.status_code == 422
    assert "`from` must be before `to`" in r.json()["detail"]


async def test_queue_plays_the_requested_media_next(air: Air) -> None:
    await air.run(1.0)
    r = await air.world.client("dj").post(
        air.url("playout/queue"), json={"media_id": str(air.media["Extra"])}
    )
    assert r.status_code == 403  # a DJ may skip, not change the running order
    manager = air.world.client("manager")
    r = await manager.post(air.url("playout/queue"), json={"media_id": str(air.media["Extra"])})
    assert r.status_code == 201, r.text
    assert r.json()["timing"] == "soft"

    async def alpha_over() -> bool:
        return await air.current_title() not in ("Alpha", None)

    assert await air.run_until(alpha_over, 2 * TRACK_S)
    assert await air.current_title() == "Extra"  # not Bravo, which was planned next
    r = await manager.post(air.url("playout/queue"), json={"media_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = await manager.post(
        air.url("playout/queue"),
        json={"media_id": str(air.media["Extra"]), "at": "2030-01-07T06:00:00"},
    )
    assert r.status_code == 422  # a time without a zone is ambiguous
    assert "playout.queue" in await _audit_actions(air.world)


async def test_emergency_goes_on_air_over_automation_and_release_ends_it(air: Air) -> None:
    await air.run(1.0)
    manager = air.world.client("manager")
    r = await manager.post(air.url("priority/emergency"), json={})
    assert r.status_code == 404  # the example config names /media/emergency.mp3
    assert "emergency audio file not found" in r.json()["detail"]
    r = await manager.post(air.url("priority/emergency"), json={"media_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = await manager.post(
        air.url("priority/emergency"), json={"media_id": str(air.media["Siren"])}
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Siren"
    item_id = r.json()["item_id"]

    async def state_is(state: str) -> bool:
        return air.executor.state.value == state

    assert await air.run_until(lambda: state_is("emergency"), 2.0)
    r = await air.world.client("dj").get(air.url("priority"))
    assert r.status_code == 200
    body = r.json()
    assert body["on_air"] == "emergency"
    assert body["layer"] == "emergency"
    assert body["state"] == "emergency"
    assert [(s["kind"], s["ref"]) for s in body["sources"] if s["level"] == 0] == [
        ("emergency", item_id)
    ]
    r = await manager.post(air.url("priority/release"), json={"kind": "emergency", "ref": "x"})
    assert r.status_code == 404
    assert "active:" in r.json()["detail"]
    r = await manager.post(air.url("priority/release"), json={"kind": "emergency", "ref": item_id})
    assert r.status_code == 200, r.text
    assert await air.run_until(lambda: state_is("playing"), 3.0)
    r = await manager.get(air.url("priority"))
    assert r.json()["on_air"] == "automation"
    assert "emergency" not in [s["kind"] for s in r.json()["sources"]]
    actions = await _audit_actions(air.world)
    assert "priority.emergency" in actions
    assert "priority.release" in actions


async def test_emergency_without_media_plays_the_configured_audio(air: Air) -> None:
    async with air.world.ctx.sessions() as session, session.begin():
        station = await session.get(Station, air.station)
        assert station is not None
        config = dict(station.config)
        config["failover"] = {
            "emergency_audio_path": str(air.world.ctx.settings.data_dir / "Siren.wav")
        }
        station.config = config
    r = await air.world.client("manager").post(air.url("priority/emergency"), json={})
    assert r.status_code == 201, r.text
    assert r.json()["path"].endswith("Siren.wav")

    async def emergency() -> bool:
        return air.executor.priority.on_air is Priority.EMERGENCY

    assert await air.run_until(emergency, 2.0)
    async with air.world.ctx.sessions() as session, session.begin():
        station = await session.get(Station, air.station)
        assert station is not None
        station.config = {**station.config, "failover": {}}
    r = await air.world.client("manager").post(air.url("priority/emergency"), json={})
    assert r.status_code == 422
    assert "emergency_audio_path" in r.json()["detail"]


async def test_override_needs_a_harbor_mount(air: Air) -> None:
    manager = air.world.client("manager")
    r = await manager.post(air.url("priority/override"), json={"mount": "/live"})
    assert r.status_code == 404  # this bare engine has no harbor
    assert "harbor" in r.json()["detail"]
    r = await manager.post(air.url("priority/override"), json={"mount": "no slash"})
    assert r.status_code == 422


async def test_stop_holds_and_resume_carries_on(air: Air) -> None:
    await air.run(1.0)
    assert await air.playing()
    manager = air.world.client("manager")
    r = await air.world.client("dj").post(air.url("playout/stop"))
    assert r.status_code == 403
    r = await manager.post(air.url("playout/stop"), json={"fade_ms": 50})
    assert r.status_code == 200, r.text
    await air.run(1.0)
    r = await manager.get(air.url("executor"))
    assert r.json()["held"] is True
    assert r.json()["current"] is None

    async def stopped() -> bool:
        return not await air.playing()

    assert await stopped()
    r = await manager.post(air.url("playout/skip"))
    assert r.status_code == 409
    r = await manager.post(air.url("playout/resume"))
    assert r.status_code == 200
    assert await air.run_until(air.playing, 3.0)
    r = await manager.get(air.url("executor"))
    assert r.json()["held"] is False
    assert r.json()["current"] is not None


async def test_telemetry_reaches_the_api_and_the_bus_at_most_twice_a_second(air: Air) -> None:
    sub = await air.world.ctx.bus.subscribe(["telemetry"])
    started = time.monotonic()
    await air.run(4.5)
    wall = time.monotonic() - started
    r = await air.world.client("dj").get(air.url("executor/telemetry"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["at"] is not None
    assert len(body["peak_db"]) == 2
    assert -20.0 < body["peak_db"][0] < 0.0  # a sine at 0.25 is about -12 dBFS
    assert body["on_air"] == "automation"
    events = []
    while sub.pending:
        events.append(await sub.get(timeout=1.0))
    assert events, "no telemetry event reached the bus"
    assert all(e.station_id == str(air.station) for e in events)
    assert len(events) <= 2 * wall + 1
