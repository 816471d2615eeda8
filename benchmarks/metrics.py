"""``/metrics`` with 50 stations on air, and the API's throughput with metrics on vs off.

Issue 21's goals: a warm scrape takes at most 50 ms with 50 stations' series, and
instrumentation costs at most 5 % of the API's throughput.

a) Scrape time. An app (``create_app``) over a temporary SQLite database with
   ``--stations`` registered stations (s00, s01, …; a library of items in mixed
   analysis states and a 48 h timeline each), every one of them on air here:

   - a REAL in-process ``Engine`` per station (virtual clock) with 3 file
     outputs (WAV, MP3, FLAC) and the DSP chain (every other station with a
     level meter, the others without: both loudness paths), which played a tone
     for 3 s of engine time, stepped here before measuring;
   - a REAL ``StationExecutor`` per station (constructed, not started: nothing
     is scheduled), whose ``telemetry`` is that engine's last real telemetry
     record, stored as the executor stores it; its ``state`` is set to
     ``playing`` (the label that is 1; every state is a series either way);
   - the engine's REAL ``InProcessEngineClient`` (``status()`` from the engine's
     snapshot, on a worker thread), whose report gets an audience of 2 mounts
     added (``AudienceCounts``: an in-process engine reports none; a station's
     engine process does), and 3 restarts from a "supervisor".

   In production the engines are separate processes reached over gRPC; a
   status call there costs a loopback round trip instead of a thread hop, which
   this does not measure.

   Measured in process (httpx over ``ASGITransport``) and over loopback (a
   uvicorn child process building the same world over the same database, httpx
   keep-alive client here): one cold scrape (the 15 s database cache empty),
   warm-up, then ``--scrapes`` scrapes alternating with the same number of
   ``/healthz`` requests of the same app and client (the baseline): median, p95,
   series (lines not starting with ``#``), bytes, and the ratio scrape/healthz.
   If the warm in-process median is over the goal, a cProfile of 20 scrapes
   shows the top 15 functions by own time.

b) Overhead. Two uvicorn processes of our app over one database (station wgmr
   playing, as ``benchmarks/api.py`` prepares it), one started with
   ``GRIMNIR_METRICS=true`` and one with ``GRIMNIR_METRICS=false``; the closed
   loop load generator (``_loadgen.py``) on the public now-playing route,
   alternating on/off for ``--rounds`` rounds of ``--seconds`` each: req/s,
   ratio on/off, overhead = (1 - on/off) x 100 %.

Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing as mp
import os
import platform
import pstats
import socket
import statistics
import sys
import tempfile
import time
import traceback
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import numpy as np
import uvicorn
import yaml
from _loadgen import LoadGenerator
from fastapi import FastAPI

from api import HEAD, OURS_PATH, Run, Server, get, measure, pooled, prepare, row
from grimnir._up_http import _bind
from grimnir.api import ApiContext, create_app
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.bus import MemoryBus
from grimnir.config import DspGraph
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.domain import EntryKind, ExecutorState, MediaState
from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.client import AudienceCounts, InProcessEngineClient, StatusReport
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.mixing.voice import PlayItem
from grimnir.executor.station import StationExecutor
from grimnir.services import public
from grimnir.services.stations import register_station
from grimnir.store import create_engine, upgrade
from grimnir.store.db import session_factory
from grimnir.store.models import MediaItem, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "station-wgmr.yaml"
ORIGIN = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
SCRAPE_GOAL_MS = 50.0
OVERHEAD_GOAL_PCT = 5.0
ITEMS_PER_STATION = 40
PLAYED_S = 3.0
"""Engine time each station's engine plays its tone before measuring (3 telemetry records)."""
METER = {"type": "level_meter"}
CHAIN = [
    {"type": "loudness_normalize", "target_lufs": -16.0, "true_peak_limit": -1.0},
    {"type": "limiter", "threshold_db": -1.0, "release_ms": 10},
]
STATES = [MediaState.READY] * 6 + [MediaState.PENDING, MediaState.ANALYZING, MediaState.FAILED]


# -- the world of (a) --------------------------------------------------------------------


def unlimited() -> Limits:
    off = RateLimiter(Limit(0, 0))
    return Limits(login=off, harbor=off, public=off)


async def populate(db_path: Path, stations: int) -> None:
    """``stations`` stations s00… with a library in mixed states and a 48 h timeline."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        template = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
        now = datetime.now(UTC)
        async with sessions() as session:
            for index in range(stations):
                raw = dict(template)
                raw["station"] = {
                    **template["station"],
                    "id": str(uuid.uuid4()),
                    "name": f"Station {index:02d}",
                    "short_name": f"s{index:02d}",
                }
                station, _ = await register_station(session, StationConfig.model_validate(raw))
                for n in range(ITEMS_PER_STATION):
                    session.add(
                        MediaItem(
                            station_id=station.id,
                            sha256=uuid.uuid4().hex * 2,
                            path=f"/media/s{index:02d}/{n}.mp3",
                            size_bytes=4_000_000,
                            title=f"Song {n}",
                            artist="Benchmark",
                            state=STATES[n % len(STATES)],
                        )
                    )
                start = now - timedelta(minutes=30)
                for _ in range(12):  # 12 x 4 h: the whole 48 h horizon
                    session.add(
                        TimelineEntry(
                            station_id=station.id,
                            seq=await allocate_timeline_seq(session, station.id),
                            starts_at=start,
                            ends_at=start + timedelta(hours=4),
                            kind=EntryKind.TRACK,
                            title="Long Mix",
                            artist="Benchmark",
                        )
                    )
                    start += timedelta(hours=4)
            await session.commit()
    finally:
        await engine.dispose()


def tone(path: Path, seconds: float) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.25 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


def finite(value: Any) -> Any:
    """As the executor stores telemetry (``station._finite``): non-finite floats as None."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def wall(clock: VirtualClock) -> Callable[[], datetime]:
    """The executor's clock: the engine's virtual time."""
    return lambda: clock.time_at(clock.frame)


class AudienceClient(InProcessEngineClient):
    """The real in-process client; its reports carry the audience of 2 mounts."""

    def __init__(self, control: LocalControl, audience: dict[str, AudienceCounts]) -> None:
        super().__init__(control)
        self.audience = audience

    async def status(self) -> StatusReport:
        return replace(await super().status(), audience=self.audience)


class OnAirHere:
    """Every station on air in this process, its engine restarted 3 times."""

    def __init__(self) -> None:
        self.executors: dict[uuid.UUID, StationExecutor] = {}
        self.clients: dict[uuid.UUID, InProcessEngineClient] = {}

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        return self.executors.get(station_id)

    def engine(self, station_id: uuid.UUID) -> InProcessEngineClient | None:
        return self.clients.get(station_id)

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        return []

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        return 3 if station_id in self.executors else None


@dataclass
class World:
    app: FastAPI
    ctx: ApiContext
    engines: list[Engine]
    build_s: float

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


async def build_world(db_path: Path, folder: Path) -> World:
    """The app over ``db_path`` with every station on air (real engines, executors)."""
    started = time.perf_counter()
    db = create_engine(f"sqlite:///{db_path}")
    sessions = session_factory(db)
    bus = MemoryBus()
    await bus.connect()
    on_air = OnAirHere()
    ctx = ApiContext(
        settings=Settings(data_dir=folder, database_url=f"sqlite:///{db_path}", metrics=True),
        sessions=sessions,
        bus=bus,
        secret=b"k" * 64,
        limits=unlimited(),
        on_air=on_air,
    )
    app = create_app(ctx)
    async with sessions() as session:
        stations = await public.station_names(session)
    song = tone(folder / f"tone-{os.getpid()}.wav", 60.0)
    engines: list[Engine] = []
    for index, (station_id, name) in enumerate(sorted(stations, key=lambda s: s[1])):
        graph = {"nodes": [*CHAIN, METER] if index % 2 == 0 else CHAIN}
        clock = VirtualClock(ORIGIN)
        engine = Engine(clock, EngineOptions(dsp_graph=DspGraph.model_validate(graph)))
        engines.append(engine)
        out = folder / f"{name}-{os.getpid()}"
        engine.add_file_output(out.with_suffix(".wav"), AudioFormat.WAV, synchronous=True)
        engine.add_file_output(out.with_suffix(".mp3"), AudioFormat.MP3, 128, synchronous=True)
        engine.add_file_output(out.with_suffix(".flac"), AudioFormat.FLAC, synchronous=True)
        records: list[Any] = []
        engine.subscribe(records.append)
        engine.play(PlayItem(f"{name}-song", str(song), title="Tone", artist="Benchmark"))
        for _ in range(round(PLAYED_S * RATE / BLOCK)):
            clock.wait()
            engine.step()
        audience = {
            "mount-main": AudienceCounts(
                http=12 + index, icecast=140 + index, hls=7, total=159 + 2 * index
            ),
            "mount-aac": AudienceCounts(http=3, icecast=None, hls=21, total=24),
        }
        client = AudienceClient(LocalControl(engine, str(station_id)), audience)
        executor = StationExecutor(
            station_id,
            sessions,
            client,
            bus,
            clock=wall(clock),
            lockstep=True,
        )
        executor.state = ExecutorState.PLAYING
        telemetry = [r for r in records if r.type == "telemetry"]
        if telemetry:
            last = telemetry[-1]
            executor.telemetry = {
                **finite(last.data),
                "time": clock.time_at(last.frame).isoformat(),
            }
        on_air.executors[station_id] = executor
        on_air.clients[station_id] = client
    return World(app, ctx, engines, time.perf_counter() - started)


# -- measuring (a) ----------------------------------------------------------------------------


@dataclass
class Timings:
    scrape_ms: list[float]
    base_ms: list[float]
    cold_ms: float
    series: int
    body_bytes: int
    refreshes: int


def series_of(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


Get = Callable[[str], Awaitable[httpx.Response]]


async def time_scrapes(
    fetch: Get, scrapes: int, read_at: Callable[[], float | None] | None
) -> Timings:
    """Cold scrape, warm-up, then ``scrapes`` scrapes alternating with /healthz."""
    (await fetch("/healthz")).raise_for_status()  # the app and the client are up
    t0 = time.perf_counter()
    first = await fetch("/metrics")
    cold_ms = 1000 * (time.perf_counter() - t0)
    first.raise_for_status()
    for _ in range(10):
        await fetch("/metrics")
        await fetch("/healthz")
    scrape_ms: list[float] = []
    base_ms: list[float] = []
    seen = {read_at() if read_at else None}
    text = ""
    for _ in range(scrapes):
        t0 = time.perf_counter()
        answer = await fetch("/metrics")
        scrape_ms.append(1000 * (time.perf_counter() - t0))
        text = answer.text
        if read_at is not None:
            seen.add(read_at())
        t0 = time.perf_counter()
        await fetch("/healthz")
        base_ms.append(1000 * (time.perf_counter() - t0))
    return Timings(
        scrape_ms,
        base_ms,
        cold_ms,
        series_of(text),
        len(text.encode()),
        len(seen) - 1 if read_at is not None else -1,
    )


async def in_process(world: World, scrapes: int) -> tuple[Timings, str | None]:
    slow = world.app.state.api_metrics.slow
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app), base_url="http://bench"
    ) as client:
        timings = await time_scrapes(client.get, scrapes, lambda: slow.read_at)
        profile = None
        if statistics.median(timings.scrape_ms) > SCRAPE_GOAL_MS:
            profile = await profiled(client)
    return timings, profile


async def profiled(client: httpx.AsyncClient) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        await client.get("/metrics")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def serve_world(db_path: str, folder: str, pipe: Connection) -> None:
    """Child process: the same world as (a) under uvicorn in an asyncio loop, on two
    loopback sockets: one bound as ``grimnir up`` binds (``grimnir._up_http._bind``),
    one made with ``IPPROTO_TCP`` (so asyncio sets ``TCP_NODELAY`` on its connections)."""

    async def run() -> None:
        world = await build_world(Path(db_path), Path(folder))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", 0))
        as_up = _bind("127.0.0.1", 0)
        servers = [
            uvicorn.Server(
                uvicorn.Config(world.app, log_level="warning", access_log=False, lifespan="off")
            )
            for _ in range(2)
        ]
        pipe.send((tcp.getsockname()[1], as_up.getsockname()[1]))
        try:
            await asyncio.gather(servers[0].serve(sockets=[tcp]), servers[1].serve(sockets=[as_up]))
        finally:
            world.close()

    asyncio.run(run())


async def over_loopback(db_path: Path, folder: Path, scrapes: int) -> list[tuple[str, Timings]]:
    parent, child = mp.Pipe()
    process = mp.Process(target=serve_world, args=(str(db_path), str(folder), child), daemon=True)
    process.start()
    results = []
    try:
        if not parent.poll(120):
            raise RuntimeError("the uvicorn child did not start")
        tcp_port, up_port = parent.recv()
        for label, port, count in (
            ("socket made with IPPROTO_TCP (TCP_NODELAY set)", tcp_port, scrapes),
            ("socket bound as `grimnir up` binds it (no TCP_NODELAY)", up_port, min(scrapes, 50)),
        ):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(200):
                    try:
                        await client.get("/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                # the child's database cache is not visible from here
                results.append((label, await time_scrapes(client.get, count, None)))
    finally:
        process.terminate()
        process.join(10)
    return results


def report_scrapes(label: str, t: Timings, cold: bool = True) -> bool:
    median, p95 = statistics.median(t.scrape_ms), q(t.scrape_ms, 0.95)
    base_median, base_p95 = statistics.median(t.base_ms), q(t.base_ms, 0.95)
    print(f"  {label}:")
    what = "database cache empty" if cold else "NOT cold: the first server filled the cache"
    print(f"    first scrape ({what}): {t.cold_ms:8.2f} ms")
    print(
        f"    warm scrape    median {median:8.2f} ms   p95 {p95:8.2f} ms   "
        f"({len(t.scrape_ms)} scrapes, {t.series} series, {t.body_bytes} bytes)"
    )
    print(f"    /healthz       median {base_median:8.2f} ms   p95 {base_p95:8.2f} ms   (baseline)")
    print(
        f"    ratio scrape/healthz: median {median / base_median:.1f}x, p95 {p95 / base_p95:.1f}x;"
        f" cold/warm {t.cold_ms / median:.1f}x"
    )
    if t.refreshes >= 0:
        print(f"    database figures re-read during the timed scrapes: {t.refreshes} time(s)")
    met = median <= SCRAPE_GOAL_MS
    print(f"    goal <= {SCRAPE_GOAL_MS:g} ms (warm median): {'met' if met else 'NOT met'}")
    return met


def part_a(args: argparse.Namespace, folder: Path) -> None:
    db_path = folder / "stations.sqlite"
    t0 = time.perf_counter()
    asyncio.run(populate(db_path, args.stations))
    populate_s = time.perf_counter() - t0

    async def here() -> tuple[World, Timings, str | None]:
        world = await build_world(db_path, folder)
        try:
            timings, profile = await in_process(world, args.scrapes)
        finally:
            world.close()
            await world.ctx.bus.close()
        return world, timings, profile

    world, timings, profile = asyncio.run(here())
    print(
        f"a) /metrics with {args.stations} stations on air "
        f"(database {populate_s:.1f} s, {ITEMS_PER_STATION} items and 12 timeline entries "
        f"each; {args.stations} real in-process engines + executors built and played "
        f"{PLAYED_S:g} s in {world.build_s:.1f} s)"
    )
    print(
        "  engines: real Engine + InProcessEngineClient per station (3 file outputs, audience "
        "of 2 mounts added to its report); executors: real, not started, telemetry = the "
        "engine's last real record"
    )
    report_scrapes("in process (httpx ASGITransport)", timings)
    if profile is not None:
        print("  profile of 20 warm scrapes, top 15 by own time:")
        for line in profile.splitlines():
            if line.strip():
                print(f"    {line}")
    if args.no_loopback:
        return
    try:
        timed = asyncio.run(over_loopback(db_path, folder, args.scrapes))
        for number, (label, loop_timings) in enumerate(timed):
            report_scrapes(
                f"over loopback, uvicorn child process, httpx keep-alive, {label}",
                loop_timings,
                cold=number == 0,
            )
    except Exception:
        print("  over loopback: FAILED")
        print("    " + traceback.format_exc().replace("\n", "\n    "))


# -- (b) metrics on vs off ---------------------------------------------------------------------


def serve_ours(db_path: str, metrics_on: bool, pipe: Connection) -> None:
    """Child process: our app as benchmarks/api.py runs it, GRIMNIR_METRICS set first."""
    os.environ["GRIMNIR_METRICS"] = "true" if metrics_on else "false"
    path = Path(db_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    engine = create_engine(f"sqlite:///{path}")
    raised = RateLimiter(Limit(1e9, 10**9))
    off = RateLimiter(Limit(0, 0))
    ctx = ApiContext(
        settings=Settings(data_dir=path.parent, database_url=f"sqlite:///{path}"),
        sessions=session_factory(engine),
        bus=MemoryBus(),
        secret=uuid.uuid4().hex.encode() * 2,
        limits=Limits(login=off, harbor=off, public=raised),
    )
    app = create_app(ctx)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    pipe.send((sock.getsockname()[1], ctx.settings.metrics))
    uvicorn.Server(config).run(sockets=[sock])


def start_ours(db_path: Path, metrics_on: bool) -> tuple[Any, int, bool]:
    parent, child = mp.Pipe()
    process = mp.Process(target=serve_ours, args=(str(db_path), metrics_on, child), daemon=True)
    process.start()
    port, setting = parent.recv()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, int(port), bool(setting)
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def metrics_status(port: int) -> str:
    try:
        get(port, "/metrics")
        return "200"
    except Exception as exc:
        return str(getattr(exc, "code", type(exc).__name__))


def part_b(args: argparse.Namespace, folder: Path) -> None:
    db_path = folder / "now-playing.sqlite"
    asyncio.run(prepare(db_path))
    runs: dict[str, list[Run]] = {"on": [], "off": []}
    processes = []
    with LoadGenerator(args.clients, args.workers) as gen:
        try:
            servers = []
            notes = []
            for name, flag in (("on", True), ("off", False)):
                process, port, setting = start_ours(db_path, flag)
                processes.append(process)
                servers.append(Server(name, port, OURS_PATH, process.pid or 0))
                get(port, OURS_PATH)
                notes.append(
                    f"{name}: GRIMNIR_METRICS={'true' if flag else 'false'} "
                    f"(settings.metrics={setting}, /metrics answers {metrics_status(port)})"
                )
            for server in servers:  # warm-up
                measure(gen, server, 1.0, None)
            for round_no in range(args.rounds):
                order = servers if round_no % 2 == 0 else servers[::-1]
                for server in order:
                    runs[server.name].append(measure(gen, server, args.seconds, None))
        finally:
            for process in processes:
                process.terminate()
                process.join(5)
    print(
        f"b) instrumentation overhead: public now-playing, closed loop, {args.clients} clients "
        f"over {args.workers} load generator processes, {args.rounds} x {args.seconds:g} s "
        f"per server, alternating (the load generator shares the {os.cpu_count()} CPUs)"
    )
    print("  " + "; ".join(notes))
    print(HEAD)
    result = {name: pooled(r) for name, r in runs.items()}
    for name, (tally, cpu_us) in result.items():
        print(row(name, tally, cpu_us))
    per_round = [
        f"{on.tally.rps / off.tally.rps:.3f}"
        for on, off in zip(runs["on"], runs["off"], strict=True)
        if off.tally.rps
    ]
    print(f"  ratio on/off per round: {', '.join(per_round)}  (their spread is the noise)")
    on, off = result["on"][0].rps, result["off"][0].rps
    ratio = on / off if off else float("nan")
    overhead = (1 - ratio) * 100
    cpu_overhead = (result["on"][1] / result["off"][1] - 1) * 100 if result["off"][1] else 0.0
    print(f"  ratio on/off throughput: {ratio:.3f}  -> overhead {overhead:+.1f} %")
    print(f"  server CPU per request, on vs off: {cpu_overhead:+.1f} %  (load-independent)")
    met = overhead <= OVERHEAD_GOAL_PCT
    print(f"  goal <= {OVERHEAD_GOAL_PCT:g} % overhead: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="(b) per round and server")
    parser.add_argument("--clients", type=int, default=50, help="(b) connections")
    parser.add_argument("--workers", type=int, default=2, help="(b) load generator processes")
    parser.add_argument("--no-loopback", action="store_true", help="(a) in process only")
    parser.add_argument("--skip-overhead", action="store_true", help="leave out (b)")
    args = parser.parse_args()
    mp.set_start_method("spawn")
    started = time.perf_counter()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{os.cpu_count()} CPUs, load average {load}; Python {platform.python_version()}, "
        f"uvicorn {uvicorn.__version__}, httpx {httpx.__version__}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for part in (part_a, part_b):
            if part is part_b and args.skip_overhead:
                continue
            try:
                part(args, Path(folder))
            except Exception:
                print(f"{part.__name__}: FAILED")
                traceback.print_exc(file=sys.stdout)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
