"""Fixtures for the full-chain test: a real library, a clock, and an engine on a virtual clock.

``chain_library`` writes ~30 tagged tone files (WAV with an ID3 chunk, and a
few MP3s), ingests them through the real analysis pool, and gives the
station a default clock: a hard top-of-hour station ID, a music smart block
and a stopset of adverts. It runs once per database backend and module.

``ChainStation`` is an in-process ``Engine`` on a ``VirtualClock`` the test
drives block by block, in lock-step with the executor it follows (so how busy
the machine is never shows in programme time); a ``PcmSink`` keeps the peak of
every processed chunk of the master output, so a silence gap on air can be
measured afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from mutagen.id3 import TCON, TIT2, TPE1
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.bus import EventBus
from grimnir.config.station import Failover
from grimnir.domain import MediaState, SlotKind, Timing
from grimnir.engine.audio import BLOCK, RATE, Block
from grimnir.engine.client import InProcessEngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor import StationExecutor
from grimnir.library.analysis import AnalysisOptions
from grimnir.library.ingest import scan
from grimnir.library.pool import AnalysisPool
from grimnir.planner import register_sqlite_functions
from grimnir.store import create_engine, session_factory, upgrade
from grimnir.store.models import (
    Clock,
    ClockSlot,
    MediaItem,
    Playlist,
    PlaylistItem,
    SmartBlock,
    Station,
)
from tests._databases import migrated_database, run_async
from tests._tagging import id3_frame, tag_wave

Sessions = async_sessionmaker[AsyncSession]
MIN_MS = 60_000
MUSIC = 26
"""Music tracks in the library (13 artists); plus one jingle and three adverts."""


# -- media files ------------------------------------------------------------------


def tone(seconds: float, freq_hz: float, level: float = 0.25) -> npt.NDArray[np.int16]:
    """A stereo 48 kHz sine as (2, n) 16-bit samples."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * freq_hz * t) * 32767).astype(np.int16)
    return np.stack([mono, mono])


def write_wav(
    path: Path, pcm: npt.NDArray[np.int16], *, title: str, artist: str, genre: str
) -> Path:
    """A WAV file with an ID3 chunk (what broadcast WAVs from most editors carry)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.ascontiguousarray(pcm.T).tobytes())
    tag_wave(
        path,
        id3_frame(TIT2, encoding=3, text=title),
        id3_frame(TPE1, encoding=3, text=artist),
        id3_frame(TCON, encoding=3, text=genre),
    )
    return path


def write_mp3(
    path: Path, pcm: npt.NDArray[np.int16], *, title: str, artist: str, genre: str
) -> Path:
    """An MP3 (LAME through PyAV) with its tags in the container's ID3v2 header."""
    with av.open(str(path), "w", format="mp3") as out:
        out.metadata.update({"title": title, "artist": artist, "genre": genre})
        stream = out.add_stream("libmp3lame", rate=RATE, layout="stereo")
        stream.codec_context.bit_rate = 128_000
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="stereo", rate=RATE
        )
        step = 4608
        for i in range(0, pcm.shape[1], step):
            chunk = np.ascontiguousarray(pcm[:, i : i + step].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate = RATE
            frame.time_base = Fraction(1, RATE)
            frame.pts = i
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return path


def write_library(folder: Path) -> None:
    """26 music tracks (20–40 s, distinct tones, 13 artists), a 3 s station ID, 3 adverts."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(MUSIC):
        seconds = 20 + (n * 13) % 21  # 20 … 40 s, no two neighbours alike
        pcm = tone(seconds, 180.0 + 37.0 * n)
        tags = {"title": f"Song {n:02d}", "artist": f"Artist {n % 13:02d}", "genre": "Music"}
        if n % 7 == 3:  # a few MP3s: the engine and the analysis decode both
            write_mp3(folder / f"song{n:02d}.mp3", pcm, **tags)
        else:
            write_wav(folder / f"song{n:02d}.wav", pcm, **tags)
    write_wav(
        folder / "station-id.wav", tone(3, 1500, 0.3), title="Station ID", artist="WGMR",
        genre="Jingle",
    )  # fmt: skip
    for n in range(3):
        write_wav(
            folder / f"advert{n}.wav",
            tone(20, 2000 + 150 * n, 0.2),
            title=f"Advert {n}",
            artist=f"Sponsor {n}",
            genre="Advert",
        )


# -- the station's library and clock ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainLibrary:
    """The ingested station: its id, the media by title and the clock's parts."""

    url: str
    station_id: uuid.UUID
    media: dict[str, uuid.UUID]
    """Title → media item id."""
    jingle_id: uuid.UUID
    ads_id: uuid.UUID
    block_id: uuid.UUID


async def _ingest_and_clock(url: str, folder: Path) -> ChainLibrary:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            station = Station(
                short_name=f"chain-{uuid.uuid4().hex[:8]}", name="Chain", timezone="UTC"
            )
            session.add(station)
        with AnalysisPool(workers=2, timeout_s=60) as pool:
            report = await scan(sessions, station.id, folder, pool=pool, options=AnalysisOptions())
        if report.failures or report.ready != MUSIC + 4:
            raise AssertionError(f"ingest did not make every file ready: {report}")
        async with sessions() as session:
            rows = list(
                await session.scalars(select(MediaItem).where(MediaItem.station_id == station.id))
            )
        if any(r.state is not MediaState.READY for r in rows):
            raise AssertionError("an ingested item is not READY")
        media = {str(r.title): r.id for r in rows}
        ids = {"block": uuid.uuid4(), "ads": uuid.uuid4(), "clock": uuid.uuid4()}
        async with sessions() as session, session.begin():
            session.add(
                SmartBlock(
                    id=ids["block"],
                    station_id=station.id,
                    name="Music",
                    rules={
                        "groups": [[{"field": "genre", "modifier": "is", "value": "Music"}]],
                        "separation": {"artist": 2, "title": 8, "album": 0},
                    },
                    target_duration_ms=None,
                )
            )
            session.add(Playlist(id=ids["ads"], station_id=station.id, name="Adverts", rotation={}))
            await session.flush()
            for pos in range(3):
                session.add(
                    PlaylistItem(
                        playlist_id=ids["ads"], position=pos, media_id=media[f"Advert {pos}"]
                    )
                )
            session.add(Clock(id=ids["clock"], station_id=station.id, name="default"))
            await session.flush()
            slots = [
                (0, 3_000, SlotKind.HARD_ITEM, Timing.HARD, {"media_id": media["Station ID"]}),
                (3_000, 59 * MIN_MS - 3_000, SlotKind.SMART_BLOCK, Timing.SOFT,
                 {"smart_block_id": ids["block"]}),
                (59 * MIN_MS, MIN_MS, SlotKind.STOPSET, Timing.SOFT,
                 {"playlist_id": ids["ads"]}),
            ]  # fmt: skip
            for pos, (offset, length, kind, timing, ref) in enumerate(slots):
                session.add(
                    ClockSlot(
                        clock_id=ids["clock"],
                        position=pos,
                        offset_ms=offset,
                        duration_ms=length,
                        kind=kind,
                        timing=timing,
                        params={"jingle": True} if pos == 0 else {},
                        **ref,
                    )
                )
        return ChainLibrary(
            url=url,
            station_id=station.id,
            media=media,
            jingle_id=media["Station ID"],
            ads_id=ids["ads"],
            block_id=ids["block"],
        )
    finally:
        await engine.dispose()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def chain_library(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainLibrary]:
    """A migrated database per backend with the ingested station and its clock."""
    folder = tmp_path_factory.mktemp("library")
    write_library(folder)
    with migrated_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield run_async(lambda: _ingest_and_clock(url, folder))


@pytest.fixture
async def chain_sessions(chain_library: ChainLibrary) -> AsyncIterator[Sessions]:
    engine = create_engine(chain_library.url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", register_sqlite_functions)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


# -- the engine --------------------------------------------------------------------


class PeakSink:
    """A ``PcmSink`` keeping (frame, peak) of every 20 ms block of the master output."""

    def __init__(self) -> None:
        self.peaks: list[tuple[int, float]] = []

    def write_pcm(self, chunk: Block, frame: int) -> None:
        for start in range(0, chunk.shape[1], BLOCK):
            part = chunk[:, start : start + BLOCK]
            self.peaks.append((frame + start, float(np.abs(part).max()) if part.size else 0.0))

    def close(self) -> None:
        pass

    def longest_silence_s(self, lo: int, hi: int, floor: float = 1e-4) -> float:
        """The longest run of blocks quieter than ``floor`` between frames ``lo`` and ``hi``."""
        longest = run = 0
        for frame, peak in self.peaks:
            if not lo <= frame < hi:
                continue
            run = run + 1 if peak < floor else 0
            longest = max(longest, run)
        return longest * BLOCK / RATE


class ChainStation:
    """An in-process engine on a virtual clock starting at ``origin``, driven by the test.

    With ``follow(executor)`` (a ``lockstep=True`` executor on ``self.client``) it
    runs in lock-step: after every block the clock stands still until the executor
    has settled (``StationExecutor.settle``). On air the engine runs at 1× and the
    executor reacts in milliseconds; here blocks are mixed ~100× faster than real
    time, so without lock-step the executor's (wall-clock) reaction would show as
    seconds of programme, longer the busier the machine.
    """

    SETTLE_WALL_S = 60.0
    """How long (wall time) one settle may take before the test fails: an executor stuck."""

    def __init__(self, station: uuid.UUID, origin: datetime) -> None:
        self.station = station
        self.origin = origin
        self.clock = VirtualClock(origin)
        failover = Failover(live_grace_sec=1.0, live_timeout_sec=5.0)
        self.engine = Engine(self.clock, EngineOptions(failover=failover))
        self.sink = PeakSink()
        self.engine.add_pcm_sink(self.sink)
        self.control = LocalControl(self.engine, str(station))
        self.client = InProcessEngineClient(self.control)
        self.executor: StationExecutor | None = None

    def now(self) -> datetime:
        return self.clock.time_at(self.clock.frame)

    def frame(self, when: datetime) -> int:
        return self.clock.frame_at(when)

    def follow_new(self, sessions: Sessions, bus: EventBus) -> StationExecutor:
        """A lock-step executor on this engine and clock, followed (``follow``)."""
        executor = StationExecutor(
            self.station,
            sessions,
            self.client,
            bus,
            clock=self.now,
            poll_s=1.0,  # of programme time: lock-step polls run in clock time
            lockstep=True,
        )
        self.follow(executor)
        return executor

    def follow(self, executor: StationExecutor) -> None:
        """Run in lock-step with ``executor`` (``lockstep=True``, on ``self.client``)."""
        if not executor.lockstep:
            raise ValueError("ChainStation.follow needs an executor made with lockstep=True")
        self.executor = executor

    async def run_until(self, when: datetime) -> None:
        """Mix block by block until the clock reads ``when``, settling the executor first
        and after every block."""
        await self.settle()
        blocks = max(0, round((when - self.now()) / timedelta(seconds=BLOCK / RATE)))
        for _ in range(blocks):
            self.clock.wait()
            self.engine.step()
            await self.settle()

    async def settle(self) -> None:
        """Hold the clock until the executor has done what is due now (without
        ``follow``: until every engine event reached its consumers)."""
        async with asyncio.timeout(self.SETTLE_WALL_S):
            await self.client.drained()
            if self.executor is not None:
                await self.executor.settle()

    def close(self) -> None:
        self.engine.close()
