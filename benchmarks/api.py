"""Public now-playing under 100 concurrent clients, against a bare FastAPI endpoint.

Issue 8's goal: p99 < 20 ms, and throughput ours/bare >= 0.7, on loopback.

Processes, so the load generator's CPU is not the server's:

1. our app (``create_app``) under uvicorn, over a temporary SQLite database
   holding a station, a playing as-run row and the next timeline entry (the
   public rate limit raised out of the way, still checked on every request);
2. a bare FastAPI app with one endpoint returning a constant JSON document of
   the same shape (our own answer, captured first); same uvicorn settings:
   one worker, loopback, access log off;
3. ``--workers`` load generator processes (``_loadgen.py``: raw asyncio
   protocols, HTTP/1.1 keep-alive) sharing ``--clients`` connections.

Two measurements per server, bare and ours alternating, ``--rounds`` each:

a) closed loop: every connection sends again as soon as it has its answer →
   throughput (req/s) and its ratio ours/bare; its p99 is printed too, but with
   100 requests always queued it is mostly 100 / throughput (Little's law);
b) open loop: every connection sends ``--rate`` requests/s at scheduled times,
   latency from the scheduled time (no coordinated omission) → p50/p99/max.

Before measuring, the load generator's count of answers is checked against the
server's own request counter (``/metrics``). Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
import yaml
from _loadgen import LoadGenerator, Tally
from fastapi import FastAPI

from grimnir.api import ApiContext, create_app
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.bus import MemoryBus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.domain import EntryKind
from grimnir.services.stations import register_station
from grimnir.store import create_engine, upgrade
from grimnir.store.db import session_factory
from grimnir.store.models import AsRun, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "station-wgmr.yaml"
OURS_PATH = "/api/v1/public/stations/wgmr/now-playing"
BARE_PATH = "/now-playing"
ROUTE = "/api/v1/public/stations/{station}/now-playing"
P99_GOAL_MS = 20.0
RATIO_GOAL = 0.7


# -- the database -------------------------------------------------------------------------


async def prepare(db_path: Path) -> None:
    """A migrated SQLite file with station wgmr playing a track, the next one planned."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
        raw["station"]["short_name"] = "wgmr"
        now = datetime.now(UTC)
        async with sessions() as session:
            station, _ = await register_station(session, StationConfig.model_validate(raw))
            start = now - timedelta(seconds=20)
            entry = TimelineEntry(
                station_id=station.id,
                seq=await allocate_timeline_seq(session, station.id),
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                kind=EntryKind.TRACK,
                title="Benchmark Song",
                artist="The Load Testers",
            )
            upcoming = TimelineEntry(
                station_id=station.id,
                seq=await allocate_timeline_seq(session, station.id),
                starts_at=start + timedelta(hours=2),
                ends_at=start + timedelta(hours=2, minutes=4),
                kind=EntryKind.TRACK,
                title="Next Song",
                artist="The Load Testers",
            )
            session.add_all([entry, upcoming])
            await session.flush()
            session.add(
                AsRun(
                    station_id=station.id,
                    timeline_entry_id=entry.id,
                    title=entry.title,
                    artist=entry.artist,
                    album="Throughput",
                    started_at=start,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


# -- the servers --------------------------------------------------------------------------


def _ours(db_path: Path) -> FastAPI:
    engine = create_engine(f"sqlite:///{db_path}")
    raised = RateLimiter(Limit(1e9, 10**9))
    off = RateLimiter(Limit(0, 0))
    ctx = ApiContext(
        settings=Settings(data_dir=db_path.parent, database_url=f"sqlite:///{db_path}"),
        sessions=session_factory(engine),
        bus=MemoryBus(),
        secret=uuid.uuid4().hex.encode() * 2,
        limits=Limits(login=off, harbor=off, public=raised),
    )
    return create_app(ctx)


def _bare(document: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get(BARE_PATH)
    async def now_playing() -> dict[str, Any]:
        return document

    return app


def serve(kind: str, db_path: str, document: dict[str, Any] | None, pipe: Connection) -> None:
    """Child process: run one app on a free loopback port (sent back on ``pipe``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app = _ours(Path(db_path)) if kind == "ours" else _bare(document or {})
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    pipe.send(sock.getsockname()[1])
    server.run(sockets=[sock])


def start_server(kind: str, db_path: Path, document: dict[str, Any] | None) -> tuple[Any, int]:
    parent, child = mp.Pipe()
    process = mp.Process(target=serve, args=(kind, str(db_path), document, child), daemon=True)
    process.start()
    port = int(parent.recv())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{kind} server did not start")


# -- measuring -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        body: bytes = answer.read()
        return body


def served(port: int) -> int:
    """Our server's own count of 200 answers on the now-playing route (``/metrics``)."""
    for line in get(port, "/metrics").decode().splitlines():
        if (
            line.startswith("grimnir_api_requests_total{")
            and f'route="{ROUTE}"' in line
            and 'status="200"' in line
        ):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


@dataclass
class Server:
    name: str
    port: int
    path: str
    pid: int


@dataclass
class Run:
    tally: Tally
    server_cpu_s: float


def measure(gen: LoadGenerator, server: Server, seconds: float, rate: float | None) -> Run:
    cpu0 = cpu_seconds(server.pid)
    tally = gen.run(server.port, server.path, seconds, rate)
    return Run(tally, cpu_seconds(server.pid) - cpu0)


def pooled(runs: list[Run]) -> tuple[Tally, float]:
    """The runs' tallies merged (throughput over their total time) and server CPU us/req."""
    total = Tally()
    seconds = 0.0
    for run in runs:
        total.merge(run.tally)
        seconds += run.tally.seconds
    total.seconds = seconds
    cpu = sum(r.server_cpu_s for r in runs)
    return total, 1e6 * cpu / max(total.answered, 1)


def verify(gen: LoadGenerator, ours: Server, document: dict[str, Any]) -> str:
    """Check the load generator against the server: same count, complete bodies."""
    before = served(ours.port)
    tally = gen.run(ours.port, ours.path, 1.0)
    counted = served(ours.port) - before
    ok = tally.statuses.get(200, 0)
    sample = json.loads(tally.sample)
    same = sample["current"]["title"] == document["current"]["title"]
    good = counted == ok == tally.answered and tally.errors == 0 and same and tally.body_bytes > 0
    return (
        f"load generator check: {ok} answers 200, server counted {counted}, "
        f"{tally.errors} errors, {tally.body_bytes} body bytes, sample title ok: {same} "
        f"-> {'OK' if good else 'MISMATCH'}"
    )


def row(name: str, tally: Tally, cpu_us: float) -> str:
    bad = tally.answered - tally.statuses.get(200, 0) + tally.errors + tally.unfinished
    p50, p99, top = (tally.quantile_ms(q) for q in (0.5, 0.99, 1.0))
    return (
        f"  {name:5s} {tally.rps:8.0f} {p50:8.2f} {p99:8.2f} {top:8.2f} "
        f"{cpu_us:8.0f} {tally.answered:9d} {bad:6d}"
    )


HEAD = (
    f"  {'':5s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} "
    f"{'CPU us':>8s} {'answers':>9s} {'bad':>6s}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="closed loop, per round")
    parser.add_argument("--open-seconds", type=float, default=10.0, help="open loop, per round")
    parser.add_argument("--rate", type=float, default=4.0, help="open loop: req/s per client")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    mp.set_start_method("spawn")
    with tempfile.TemporaryDirectory() as folder, LoadGenerator(args.clients, args.workers) as gen:
        db_path = Path(folder) / "bench.sqlite"
        asyncio.run(prepare(db_path))
        ours_proc, ours_port = start_server("ours", db_path, None)
        document = json.loads(get(ours_port, OURS_PATH))
        bare_proc, bare_port = start_server("bare", db_path, document)
        servers = [
            Server("bare", bare_port, BARE_PATH, bare_proc.pid or 0),
            Server("ours", ours_port, OURS_PATH, ours_proc.pid or 0),
        ]
        closed: dict[str, list[Run]] = {s.name: [] for s in servers}
        opened: dict[str, list[Run]] = {s.name: [] for s in servers}
        try:
            check = verify(gen, servers[1], document)
            for server in servers:  # warm-up
                measure(gen, server, 1.0, None)
            for _ in range(args.rounds):
                for server in servers:
                    closed[server.name].append(measure(gen, server, args.seconds, None))
                for server in servers:
                    opened[server.name].append(measure(gen, server, args.open_seconds, args.rate))
        finally:
            for process in (ours_proc, bare_proc):
                process.terminate()
                process.join(5)
    report(args, document, check, closed, opened)


def report(
    args: argparse.Namespace,
    document: dict[str, Any],
    check: str,
    closed: dict[str, list[Run]],
    opened: dict[str, list[Run]],
) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"now-playing: {args.clients} clients over {args.workers} load generator processes, "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs, load average {load}"
    )
    print(
        f"uvicorn {uvicorn.__version__} (1 worker, loop auto, http auto, no access log), "
        f"Python {platform.python_version()}; body {len(json.dumps(document))} bytes"
    )
    print(check)
    result: dict[str, tuple[Tally, float]] = {}
    print(f"a) closed loop, {args.rounds} x {args.seconds:g} s")
    print(HEAD)
    for name, runs in closed.items():
        result[name] = pooled(runs)
        print(row(name, *result[name]))
    gen_cpu = sum(r.tally.cpu_s for runs in closed.values() for r in runs)
    gen_answers = sum(r.tally.answered for runs in closed.values() for r in runs)
    print(f"  load generator CPU: {1e6 * gen_cpu / max(gen_answers, 1):.0f} us/req")
    offered = args.clients * args.rate
    print(
        f"b) open loop, {args.clients} x {args.rate:g} req/s = {offered:g} req/s, "
        f"{args.rounds} x {args.open_seconds:g} s"
    )
    print(HEAD)
    open_result = {name: pooled(runs) for name, runs in opened.items()}
    for name, (tally, cpu_us) in open_result.items():
        print(row(name, tally, cpu_us))
    lags = Tally()
    for tally, _ in open_result.values():
        lags.lag_ns.extend(tally.lag_ns)
    print(
        f"  load generator timer lag (part of the latencies): p50 {lags.lag_ms(0.5):.2f} ms, "
        f"p99 {lags.lag_ms(0.99):.2f} ms"
    )
    ratio = result["ours"][0].rps / result["bare"][0].rps
    cpu_ratio = result["bare"][1] / result["ours"][1]
    p99_closed = result["ours"][0].quantile_ms(0.99)
    p99 = open_result["ours"][0].quantile_ms(0.99)
    print(f"ratio ours/bare throughput (a): {ratio:.2f}  (goal >= {RATIO_GOAL})")
    print(f"ratio bare/ours server CPU per request (a): {cpu_ratio:.2f}  (load-independent)")
    print(f"ours p99, closed loop (a): {p99_closed:.2f} ms")
    print(f"ours p99, open loop (b): {p99:.2f} ms  (goal < {P99_GOAL_MS:g} ms)")
    print(f"goal met, throughput ratio: {ratio >= RATIO_GOAL}")
    print(f"goal met, p99: {p99 < P99_GOAL_MS}")


if __name__ == "__main__":
    main()
