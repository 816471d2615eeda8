"""The whole station on one virtual clock: planner, executor, engine, store and bus.

``Simulation`` builds a station the way an engineer would (a library of
generated tracks and station IDs, a clock with a hard ID on the hour and a
soft one at half past, a music smart block), plans it with the real planner,
and runs the real executor in lock-step with a real engine on a
``VirtualClock``: the executor settles after every stretch of blocks the
engine renders at once (up to the next poll, scripted action or replan, and
never past a block that raised an event: ``Engine.step(blocks,
until_event=True)``), so what it does lands on the block after the one it
reacted to, as on air. The rolling rebuild runs every ``replan_every`` of
station time, as ``grimnir up`` runs it.

What aired is read from two independent places afterwards: the peak of every
20 ms block of the engine's master bus (the rendered audio) and the as-run
log in the database; ``Outcome`` holds both and the checks compare them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import wave
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.bus import MemoryBus
from grimnir.config.station import Failover
from grimnir.demo._programming import slot_plan
from grimnir.domain import EngineError, EntryStatus, MediaState, SlotKind, Timing
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.client import InProcessEngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.mixing.voice import PlayItem
from grimnir.engine.sources import Source, TimedSource
from grimnir.executor import StationExecutor
from grimnir.planner import register_sqlite_functions
from grimnir.planner.builder import build
from grimnir.store import create_engine, session_factory, upgrade
from grimnir.store.models import (
    AsRun,
    Clock,
    ClockSlot,
    MediaItem,
    Playlist,
    PlaylistItem,
    Show,
    ShowContent,
    SmartBlock,
    Station,
    TimelineEntry,
    Webstream,
)
from tests._live import ScriptedLive, ScriptedRelay
from tests._pgcluster import PrivatePostgres
from tests.simulation._scenario import Action, Relay, Scenario

log = logging.getLogger("tests.simulation")

ORIGIN = datetime(2030, 3, 4, 5, 50, tzinfo=UTC)
"""Station time at the start of every run: ten minutes before an hour (a hard ID)."""
BLOCK_S = BLOCK / RATE
SILENT_PEAK = 10 ** (-50 / 20)
"""A block whose peak stays under −50 dBFS is silent (ffmpeg ``silencedetect=n=-50dB``)."""
POLL_S = 5.0
"""The executor's timeline poll in station time: it reacts to engine events as they
come (the simulation settles after each); the poll only sends the hour ahead."""
TRACKS = 24
ARTISTS = 12
LEVEL = 0.25

Sessions = async_sessionmaker[AsyncSession]


# -- media ------------------------------------------------------------------------------


def write_tone(path: Path, seconds: float, freq_hz: float, level: float = LEVEL) -> Path:
    """A mono 48 kHz 16-bit WAV of a sine (the engine plays it on both channels)."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * freq_hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(mono.tobytes())
    return path


def track_seconds(n: int) -> float:
    """Lengths between 61 and 179 s, no two neighbours alike (whole tenths of seconds)."""
    return 61 + (n * 37.3) % 118


def write_media(folder: Path) -> None:
    """The library's files, written once per folder (a run reuses them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(TRACKS):
        target = folder / f"song{n:02d}.wav"
        if not target.exists():
            write_tone(target, track_seconds(n), 180.0 + 29.0 * n)
    for n in range(2):
        target = folder / f"id{n}.wav"
        if not target.exists():
            write_tone(target, 4.0, 1500.0 + 200 * n, 0.3)
    if not (folder / "emergency.wav").exists():
        write_tone(folder / "emergency.wav", 20.0, 1050.0, 0.3)
    if not (folder / "broken.mp3").exists():
        (folder / "broken.mp3").write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 64)


# -- the database, with an off switch ---------------------------------------------------------


class Switchable:
    """A session factory that fails like a dead server while ``down`` (unless the server
    really is down: ``real``, a private PostgreSQL stopped by the simulation)."""

    def __init__(self, inner: Sessions, *, real: bool = False) -> None:
        self.inner = inner
        self.down = False
        self.real = real

    def __call__(self) -> AsyncSession:
        if self.down and not self.real:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.inner()


class LogLines(logging.Handler):
    """Counts the warnings and errors the station logs (``max_log_lines``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}"[:300])


# -- the engine process and the executor's link to it -------------------------------------------


def relay_url(n: int) -> str:
    return f"http://relay{n}.sim.invalid/live"


class SimEngine(Engine):
    """The real engine; only the relayed web streams come from the scenario (what the
    remote servers send, on the virtual clock) instead of the network."""

    def __init__(
        self, clock: VirtualClock, options: EngineOptions, relays: Mapping[str, Relay]
    ) -> None:
        super().__init__(clock, options)
        self.relays = relays

    def _make_source(self, item: PlayItem) -> Source:
        relay = self.relays.get(item.path)
        if relay is None:
            return super()._make_source(item)
        feed = ScriptedRelay(relay.windows())
        if item.cue.cue_out is None:
            return feed
        length = int(item.cue.cue_out) - int(item.cue.cue_in)
        return TimedSource(feed, int(millis_to_frames(Millis(length))))


class EngineLink(InProcessEngineClient):
    """The executor's link to the engine process: while the process is dead every call
    fails and open event streams break (``EngineError``, as over gRPC); once a new
    process is ``attach``-ed the link reaches it."""

    def __init__(self, control: LocalControl) -> None:
        super().__init__(control)
        self.down = False
        self._gone = asyncio.Event()

    def kill(self) -> None:
        self.down = True
        self._gone.set()

    def attach(self, control: LocalControl) -> None:
        super().__init__(control)
        self.down = False
        self._gone = asyncio.Event()

    async def _run(self, call: Callable[[], Any]) -> Any:
        if self.down:
            raise EngineError("engine unreachable: the process is not running")
        return await super()._run(call)

    async def _stream(
        self, wanted: Callable[[str], bool], *, greet: bool = True, since_frame: int | None = None
    ) -> AsyncGenerator[Any, None]:
        if self.down:
            raise EngineError("engine unreachable: the process is not running")
        gone = self._gone
        inner = super()._stream(wanted, greet=greet, since_frame=since_frame)
        async with contextlib.aclosing(inner):
            while True:
                get = asyncio.ensure_future(anext(inner))
                lost = asyncio.ensure_future(gone.wait())
                try:
                    await asyncio.wait({get, lost}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    # NOTE: the inner stream must be idle before it is closed
                    lost.cancel()
                    if not get.done():
                        get.cancel()
                        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                            await get
                if get.cancelled():
                    raise EngineError("engine unreachable: the event stream broke")
                try:
                    record = get.result()
                except StopAsyncIteration:
                    return
                yield record


# -- the run ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What a run produced: the audio's block peaks and the as-run log."""

    scenario: Scenario
    peaks: npt.NDArray[np.float32]
    asrun: list[AsRun]
    hard: list[TimelineEntry]
    """Hard entries whose planned start fell inside the run."""
    notes: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    """Warnings and errors the station logged."""
    origin: datetime = ORIGIN
    """Station time at the start of the run."""

    def time_of(self, block: int) -> float:
        return block * BLOCK_S

    def silences(self) -> list[tuple[float, float]]:
        """(start s, length s) of every silent stretch longer than the scenario allows,
        counting none of the windows where it asks for silence (a stretch that runs on
        past such a window counts from the window's end)."""
        silent = self.peaks < SILENT_PEAK
        for a, b in self.scenario.allowed_silence:
            silent[_block_at(a) : _block_at(b)] = False
        edges = np.flatnonzero(np.diff(np.concatenate(([0], silent.astype(np.int8), [0]))))
        found: list[tuple[float, float]] = []
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            length = (end - start) * BLOCK_S
            if length > self.scenario.max_silence:
                found.append((round(start * BLOCK_S, 3), round(length, 3)))
        return found


class Simulation:
    """One scenario, run on a fresh database (``url``) with media from ``media``."""

    def __init__(
        self, scenario: Scenario, url: str, media: Path, *, origin: datetime = ORIGIN
    ) -> None:
        self.scenario = scenario
        self.url = url
        self.media = media
        self.origin = origin
        self.clock = VirtualClock(origin)
        self.failover = Failover.model_validate(
            {key: _placed(value, media) for key, value in scenario.failover.items()}
        )
        # NOTE: the master chain and telemetry take 50 blocks at a time (1 s): it only
        # batches their work, mixing and events stay per block (``EngineOptions``)
        self.options = EngineOptions(failover=self.failover, process_blocks=50)
        self.relays = {relay_url(n): relay for n, relay in enumerate(scenario.relays)}
        self.engine = SimEngine(self.clock, self.options, self.relays)
        self.client = EngineLink(LocalControl(self.engine, "sim"))
        self.engine_back_at: float | None = None
        """Station time (s) the killed engine process is back (None: it runs)."""
        self.repairs: list[tuple[float, uuid.UUID, str]] = []
        """(station time s, media id, its good path): broken files put right again."""
        self.bus = MemoryBus()
        self.executor: StationExecutor | None = None
        self.station_id = uuid.uuid4()
        self.sessions: Switchable | None = None
        self.cluster: PrivatePostgres | None = None
        """The private PostgreSQL server (``database: postgres``)."""
        self.planning = True
        self.notes: list[str] = []

    def now(self) -> datetime:
        return self.clock.time_at(self.clock.frame)

    # -- set-up ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[Switchable]:
        url = self.url
        if self.scenario.database == "postgres":
            self.cluster = PrivatePostgres()
            url = await asyncio.to_thread(self.cluster.start)
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", register_sqlite_functions)
        try:
            await upgrade(engine)
            self.sessions = Switchable(session_factory(engine), real=self.cluster is not None)
            yield self.sessions
        finally:
            await engine.dispose()
            if self.cluster is not None:
                await asyncio.to_thread(self.cluster.remove)

    async def programme(self, sessions: Sessions) -> None:
        """The library rows and the clock (what an engineer sets up once)."""
        async with sessions() as session, session.begin():
            session.add(Station(id=self.station_id, short_name="sim", name="Sim", timezone="UTC"))
            await session.flush()
            songs = []
            for n in range(TRACKS):
                path = self.media / f"song{n:02d}.wav"
                songs.append(
                    MediaItem(
                        station_id=self.station_id,
                        sha256=f"{n:064x}",
                        path=str(path),
                        size_bytes=path.stat().st_size,
                        title=f"Song {n:02d}",
                        artist=f"Artist {n % ARTISTS:02d}",
                        album="Album",
                        genre="Music",
                        duration_ms=round(track_seconds(n) * 1000),
                        state=MediaState.READY,
                    )
                )
            ids = [
                MediaItem(
                    station_id=self.station_id,
                    sha256=f"{1000 + n:064x}",
                    path=str(self.media / f"id{n}.wav"),
                    size_bytes=(self.media / f"id{n}.wav").stat().st_size,
                    title=f"Station ID {n}",
                    artist="SIM",
                    genre="Jingle",
                    duration_ms=4000,
                    state=MediaState.READY,
                )
                for n in range(2)
            ]
            session.add_all([*songs, *ids])
            block = SmartBlock(
                station_id=self.station_id,
                name="Music",
                rules={
                    "groups": [[{"field": "genre", "modifier": "is", "value": "Music"}]],
                    "separation": {"artist": 3, "title": 10, "album": 0},
                    "overflow": "trim_last",
                },
                target_duration_ms=None,
            )
            playlist = Playlist(
                station_id=self.station_id, name="IDs", rotation={"type": "default"}, jingle=True
            )
            session.add_all([block, playlist])
            await session.flush()
            for pos, item in enumerate(ids):
                session.add(PlaylistItem(playlist_id=playlist.id, position=pos, media_id=item.id))
            for n, relay in enumerate(self.scenario.relays):
                stream = Webstream(
                    station_id=self.station_id, name=f"Relay {n}", urls=[relay_url(n)]
                )
                session.add(stream)
                await session.flush()
                session.add(
                    Show(
                        station_id=self.station_id,
                        name=f"Relayed show {n}",
                        rrule="FREQ=DAILY;COUNT=1",
                        dtstart=self.origin + timedelta(seconds=relay.at),
                        duration_ms=round(relay.length * 1000),
                        content=ShowContent.WEBSTREAM,
                        webstream_id=stream.id,
                    )
                )
            clock = Clock(station_id=self.station_id, name="default")
            session.add(clock)
            await session.flush()
            for pos, (name, offset, length, kind, timing) in enumerate(slot_plan(4000)):
                is_id = kind == SlotKind.PLAYLIST
                session.add(
                    ClockSlot(
                        clock_id=clock.id,
                        position=pos,
                        name=name,
                        offset_ms=offset,
                        duration_ms=length,
                        kind=kind,
                        timing=timing,
                        playlist_id=playlist.id if is_id else None,
                        smart_block_id=None if is_id else block.id,
                        params={},
                    )
                )

    def _executor(self) -> StationExecutor:
        assert self.sessions is not None
        options: dict[str, Any] = {"poll_s": POLL_S, "live_grace_s": self.failover.live_grace_sec}
        options.update(self.scenario.executor)
        return StationExecutor(
            self.station_id,
            self.sessions,  # type: ignore[arg-type]
            self.client,
            self.bus,
            clock=self.now,
            lockstep=True,
            **options,
        )

    async def start_control_plane(self) -> None:
        self.executor = self._executor()
        await self.executor.start()
        await self.executor.wait_ready(timeout=30)
        self.planning = True

    async def stop_control_plane(self) -> None:
        if self.executor is not None:
            await self.executor.close()
        self.executor = None
        self.planning = False

    # -- running -------------------------------------------------------------------------

    async def replan(self) -> None:
        if self.sessions is None or self.sessions.down or not self.planning:
            return
        now = self.now()
        try:
            report = await build(
                self.sessions.inner, self.station_id, now, self.scenario.plan_hours, now=now
            )
        except Exception as exc:  # as ``grimnir up``: the engine plays on, planning retries
            self.notes.append(f"{now:%H:%M:%S} planning failed: {exc}")
            return
        if report.gaps:
            first = report.gaps[0]
            self.notes.append(
                f"{now:%H:%M:%S.%f} planner reports {len(report.gaps)} gap(s), the first "
                f"{first.start:%H:%M:%S.%f}–{first.end:%H:%M:%S.%f}: {first.reason}"
            )

    async def settle(self) -> None:
        async with asyncio.timeout(120):
            await self.client.drained()
            if self.executor is not None:
                await self.executor.settle()

    async def act(self, action: Action) -> None:
        name, p = action.do, action.params
        log.info("%s %s %s", self.now().strftime("%H:%M:%S.%f")[:-3], name, p)
        if name == "skip":
            if self.executor is not None:
                await self.executor.skip(int(p.get("fade_ms", 500)))
        elif name == "dj":
            drops = [(_s(d["after"]), _s(d["for"])) for d in p.get("drops", [])]
            source = ScriptedLive.with_drops(_s(p.get("duration", 600)), drops)
            self.engine.set_live(source, str(p.get("mount", "/live")))
        elif name == "emergency":
            path = self.media / "emergency.wav"
            if self.executor is not None:
                await self.executor.insert_emergency(path)
            else:
                from grimnir.engine.client import PlayRequest

                await self.client.insert_emergency(
                    PlayRequest(item_id=f"emergency-{uuid.uuid4().hex[:8]}", path=str(path))
                )
        elif name == "break_next":
            await self._break_next(action.at + _s(p.get("for", 1800)))
        elif name == "kill_control_plane":
            await self.stop_control_plane()
        elif name == "restart_control_plane":
            await self.start_control_plane()
        elif name == "database_down":
            assert self.sessions is not None
            self.sessions.down = True
            if self.cluster is not None:
                await asyncio.to_thread(self.cluster.stop)
        elif name == "database_up":
            assert self.sessions is not None
            if self.cluster is not None:
                await asyncio.to_thread(self.cluster.start)
            self.sessions.down = False
        elif name == "restart_engine":
            # NOTE: the process dies now; the supervisor has a new one up ``down`` later
            # (``run`` renders nothing meanwhile, then calls ``engine_back``)
            self.engine.close()
            self.client.kill()
            self.engine_back_at = action.at + _s(p.get("down", 2))
            await self._executor_sees(engine_up=False)
        else:
            raise ValueError(f"action {name!r} is not simulated yet")
        await self.settle()

    async def engine_back(self, at: float) -> None:
        """A new engine process, its clock starting at ``at`` s of station time; the
        executor finds it the way it finds any engine (reconnects, lines up)."""
        self.engine_back_at = None
        self.clock = VirtualClock(self.origin + timedelta(seconds=at))
        self.engine = SimEngine(self.clock, self.options, self.relays)
        self.client.attach(LocalControl(self.engine, "sim"))
        await self._executor_sees(engine_up=True)
        await self.settle()

    async def _executor_sees(self, *, engine_up: bool) -> None:
        """Wait (real time: it retries on a timer) until the executor knows the engine
        is gone or back; the station clock stands still meanwhile."""
        if self.executor is None:
            return
        async with asyncio.timeout(60):
            while self.executor.engine_up is not engine_up:
                await asyncio.sleep(0.005)

    async def _break_next(self, until: float) -> None:
        """The next planned music entry's file stops decoding (a disk error, a bad upload)
        until ``until`` s of station time, when it is put right (``repair``)."""
        assert self.sessions is not None
        async with self.sessions.inner() as session, session.begin():
            entry = await session.scalar(
                select(TimelineEntry)
                .where(
                    TimelineEntry.station_id == self.station_id,
                    TimelineEntry.starts_at > self.now(),
                    TimelineEntry.media_id.is_not(None),
                    TimelineEntry.timing == Timing.SOFT,
                )
                .order_by(TimelineEntry.starts_at)
                .limit(1)
            )
            if entry is None or entry.media_id is None:
                return
            media = await session.get(MediaItem, entry.media_id)
            if media is None or media.path == str(self.media / "broken.mp3"):
                return  # already broken: its repair stands
            self.repairs.append((until, media.id, media.path))
            self.repairs.sort(key=lambda r: r[0])
            media.path = str(self.media / "broken.mp3")

    async def repair(self, t: float) -> None:
        """Put right the files whose time has come (the database must be up)."""
        if self.sessions is None or self.sessions.down:
            return
        while self.repairs and self.repairs[0][0] <= t:
            _, media_id, path = self.repairs.pop(0)
            async with self.sessions.inner() as session, session.begin():
                await session.execute(
                    update(MediaItem).where(MediaItem.id == media_id).values(path=path)
                )

    async def run(self, progress: Callable[[float], None] | None = None) -> Outcome:
        logged = LogLines()
        station_log = logging.getLogger("grimnir")
        station_log.addHandler(logged)
        try:
            return await self._run(progress, logged)
        finally:
            station_log.removeHandler(logged)

    async def _run(self, progress: Callable[[float], None] | None, logged: LogLines) -> Outcome:
        scenario = self.scenario
        total = round(scenario.duration_s / BLOCK_S)
        peaks = np.zeros(total, dtype=np.float32)
        async with self.database() as sessions:
            await self.programme(sessions.inner)
            if scenario.control_plane:
                await self.replan()
                await self.start_control_plane()
            else:
                self.planning = False
            await self.settle()
            actions = list(scenario.actions)
            next_replan = scenario.replan_every
            poll_s = float(self.executor.poll_s if self.executor else 1.0)
            poll_blocks = max(1, round(poll_s / BLOCK_S))
            n = 0
            while n < total:
                t = n * BLOCK_S
                while actions and actions[0].at <= t:
                    await self.act(actions.pop(0))
                await self.repair(t)
                if self.engine_back_at is not None:
                    # the engine process is dead: no audio until the new one is up
                    n = min(total, _block_at(self.engine_back_at))
                    if n >= total:
                        break
                    await self.engine_back(n * BLOCK_S)
                    continue
                if t >= next_replan:
                    await self.replan()
                    next_replan += scenario.replan_every
                clock, engine = self.clock, self.engine
                # NOTE: many blocks at once up to the next poll, action or replan; the
                # engine stops early after a block that raised an event (the executor
                # reacts on the next block, as on air)
                stops = [total, n + poll_blocks, _block_at(next_replan)]
                if actions:
                    stops.append(_block_at(actions[0].at))
                span = max(1, min(stops) - n)
                clock.wait()
                master = engine.step(span, until_event=True)
                done = master.shape[1] // BLOCK
                peaks[n : n + done] = np.abs(master.reshape(2, done, BLOCK)).max(axis=(0, 2))
                n += done
                await self.settle()
                if progress is not None:
                    progress(n * BLOCK_S)
            await self.stop_control_plane()
            async with sessions.inner() as session:
                asrun = list(
                    await session.scalars(
                        select(AsRun)
                        .where(AsRun.station_id == self.station_id)
                        .order_by(AsRun.started_at, AsRun.id)
                    )
                )
                end = self.origin + timedelta(seconds=scenario.duration_s)
                hard = list(
                    await session.scalars(
                        select(TimelineEntry).where(
                            TimelineEntry.station_id == self.station_id,
                            TimelineEntry.timing == Timing.HARD,
                            TimelineEntry.starts_at >= self.origin,
                            TimelineEntry.starts_at < end - timedelta(seconds=1),
                            TimelineEntry.status.in_((EntryStatus.AIRED, EntryStatus.SKIPPED)),
                        )
                    )
                )
        self.engine.close()
        return Outcome(scenario, peaks, asrun, hard, self.notes, logged.lines, self.origin)


def _block_at(seconds: float) -> int:
    """The first block that starts at or after ``seconds``."""
    return int(np.ceil(round(seconds / BLOCK_S, 6)))


def _placed(value: Any, media: Path) -> Any:
    """Scenario text with ``{media}`` standing for the generated media folder."""
    if isinstance(value, str):
        return value.replace("{media}", str(media))
    if isinstance(value, list):
        return [_placed(v, media) for v in value]
    return value


def _s(value: Any) -> float:
    from tests.simulation._scenario import seconds

    return seconds(value)
