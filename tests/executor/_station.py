"""Executor test helpers: real WAV files, timeline rows, a virtual-clock engine."""

from __future__ import annotations

import asyncio
import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.bus import Event, EventBus
from grimnir.config.station import Failover
from grimnir.domain import EntryKind, EntryStatus, MediaState, Timing
from grimnir.engine.audio import RATE
from grimnir.engine.client import InProcessEngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor import StationExecutor
from grimnir.store.models import MediaItem, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq

Sessions = async_sessionmaker[AsyncSession]
ORIGIN = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


# -- media ------------------------------------------------------------------------


def write_tone(path: Path, seconds: float, freq_hz: float, level: float = 0.25) -> Path:
    """A 48 kHz stereo 16-bit WAV of a sine (what the engine decodes with PyAV)."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * freq_hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


async def add_media(
    sessions: Sessions, station: uuid.UUID, path: Path, title: str, artist: str = "Artist"
) -> MediaItem:
    async with sessions() as session, session.begin():
        row = MediaItem(
            station_id=station,
            sha256=uuid.uuid4().hex * 2,
            path=str(path),
            size_bytes=path.stat().st_size,
            title=title,
            artist=artist,
            album="Album",
            state=MediaState.READY,
        )
        session.add(row)
    return row


async def add_entry(
    sessions: Sessions,
    station: uuid.UUID,
    starts_at: datetime,
    seconds: float,
    *,
    media: MediaItem | None = None,
    kind: EntryKind = EntryKind.TRACK,
    timing: Timing = Timing.SOFT,
    meta: dict[str, Any] | None = None,
) -> TimelineEntry:
    """One timeline entry, as the planner writes them."""
    async with sessions() as session, session.begin():
        seq = await allocate_timeline_seq(session, station)
        row = TimelineEntry(
            station_id=station,
            seq=seq,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(seconds=seconds),
            kind=kind,
            status=EntryStatus.PLANNED,
            timing=timing,
            media_id=None if media is None else media.id,
            title=None if media is None else media.title,
            artist=None if media is None else media.artist,
            meta=dict(meta or {}),
        )
        session.add(row)
    return row


# -- a live DJ for a bare engine ----------------------------------------------------


# -- the engine -------------------------------------------------------------------


class VirtualStation:
    """An in-process engine on a virtual clock, driven block by block by the test, in
    lock-step with the executors made by ``executor()``: after every block the clock
    stands still until they have settled (``StationExecutor.settle``), so what they do
    lands on the frame they reacted to, however busy the machine."""

    SETTLE_WALL_S = 60.0
    """How long (wall time) a settle may take before the test fails: an executor stuck."""

    def __init__(self, station: uuid.UUID) -> None:
        self.station = station
        self.clock = VirtualClock(ORIGIN)
        failover = Failover(live_grace_sec=1.0, live_timeout_sec=5.0)
        self.engine = Engine(self.clock, EngineOptions(failover=failover))
        self.control = LocalControl(self.engine, str(station))
        self.client = InProcessEngineClient(self.control)
        self.levels: list[tuple[int, float]] = []
        """(frame, peak) of every block mixed, to check what was heard."""
        self.executors: list[StationExecutor] = []

    def now(self) -> datetime:
        return self.clock.time_at(self.clock.frame)

    def at(self, seconds: float) -> datetime:
        return ORIGIN + timedelta(seconds=seconds)

    def executor(self, sessions: Sessions, bus: EventBus, **options: Any) -> StationExecutor:
        """A lock-step executor for this engine, reading "now" from its clock.

        Without a fallback rotation unless asked for (``fallback_rotation=True``): these
        tests read the timeline's own items off the as-run log and the audio."""
        options.setdefault("fallback_rotation", False)
        executor = StationExecutor(
            self.station, sessions, self.client, bus, clock=self.now, lockstep=True, **options
        )
        self.executors.append(executor)
        return executor

    async def settle(self) -> None:
        """Hold the clock until every executor has done what is due now (and every other
        consumer of the engine's events has had them)."""
        async with asyncio.timeout(self.SETTLE_WALL_S):
            await self.client.drained()
            for executor in self.executors:
                await executor.settle()

    async def run_until(self, seconds: float) -> None:
        """Mix block by block until the clock reads ``ORIGIN + seconds`` (the block that
        starts then is mixed), settling the executors first (what the test asked of them
        is done at the current time) and after every block.

        What the test does next (a DJ, a skip) reaches the engine on the next block:
        at ``seconds`` + 20 ms of programme, as on air it would a few ms later."""
        await self.settle()
        while self.now() < self.at(seconds):
            self.clock.wait()
            master = self.engine.step()
            self.levels.append((self.clock.frame, float(np.abs(master).max())))
            await self.settle()

    def close(self) -> None:
        self.engine.close()


async def drain(sub: Any) -> list[Event]:
    """Every event a subscription holds right now."""
    events: list[Event] = []
    while sub.pending:
        events.append(await sub.get(timeout=1.0))
    return events
