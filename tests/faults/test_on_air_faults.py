"""Faults on air: the whole station under ``grimnir up`` on its own PostgreSQL and Redis,
the servers stopped and started again by the test, a listener recording the stream.

Each case sets up a station the way a user does (a private PostgreSQL cluster and
a private Redis server on free ports with data dirs of their own, ``grimnir db
upgrade``, ``station add``, a scanned library of tones), puts it on air with
``grimnir up``, and runs, the whole time:

- a listener (ffmpeg on the engine's own HTTP mount, decoded to a WAV file);
- a poller asking the public now-playing, ``/metrics``, the station list and the
  as-run log every second (what a player, Prometheus and the UI ask);
- a WebSocket client on ``/api/v1/events`` (reconnecting when dropped).

Then the fault, and after it each case checks: no silence (``silencedetect``
-50 dB, 0.3 s; none longer than 0.5 s) on the recording; no answer 500 or above
other than 503 (with ``Retry-After``), and 503s while the database was down; the
as-run log afterwards complete (every row but the on-air one closed, no hole
between rows) and every row's ``item.started`` received on the WebSocket in the
log's order, or a ``bus.gap`` told the client it missed some; log lines of
``grimnir up`` during the fault bounded, no tracebacks; and the station back to
normal without anyone touching it (the as-run log written again, 200s).

They are long (minutes of air each) and marked ``slow``: ``make soak`` runs them.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from tests._onair import (
    ADMIN,
    DEAD_AIR_S,
    SHORT,
    Api,
    Recorder,
    Station,
    Up,
    engine_pids,
    make_station,
    silences,
)
from tests._pgcluster import PrivatePostgres
from tests._require import skip_or_fail
from tests.bus.test_bus_servers import PrivateServer, private_server

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.peer("ffmpeg", "redis-server")]

TRACKS = 6
TRACK_S = 25.0
"""Short tracks: several items start and end while a fault lasts."""
SETTLE_S = 12.0
"""The head of the recording is not judged (the listener joins, the first item starts)."""
AFTER_S = 45.0
"""Air after the fault ends, judged like the rest."""
LOG_LINES_PER_MINUTE = 12
"""``grimnir up``'s log lines allowed per minute of a fault (one per failing part and
its reminders, not one per retry)."""


@dataclass
class Answer:
    at: float
    path: str
    status: int
    retry_after: str | None


@dataclass
class Watch:
    """The poller and the WebSocket client, each a thread, until ``stop()``."""

    base: str
    token: str
    answers: list[Answer] = field(default_factory=list)
    events: list[tuple[float, dict[str, object]]] = field(default_factory=list)
    socket_drops: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for target in (self._poll, self._listen):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _poll(self) -> None:
        paths = (
            f"/api/v1/public/stations/{SHORT}/now-playing",
            "/metrics",
            "/api/v1/stations",
            f"/api/v1/stations/{SHORT}/asrun?limit=5",
        )
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=15, headers=headers) as client:
            while not self._stop.wait(1.0):
                for path in paths:
                    try:
                        reply = client.get(path)
                    except httpx.HTTPError:
                        self.answers.append(Answer(time.monotonic(), path, 0, None))
                        continue
                    self.answers.append(
                        Answer(
                            time.monotonic(),
                            path,
                            reply.status_code,
                            reply.headers.get("retry-after"),
                        )
                    )

    def _listen(self) -> None:
        url = self.base.replace("http://", "ws://") + f"/api/v1/events?token={self.token}"
        while not self._stop.is_set():
            try:
                with connect(url, open_timeout=10, close_timeout=2) as socket:
                    while not self._stop.is_set():
                        try:
                            raw = socket.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        self.events.append((time.monotonic(), json.loads(raw)))
            except (OSError, WebSocketException, TimeoutError):
                self.socket_drops += 1
                self._stop.wait(0.5)

    def kinds(self, kind: str) -> list[tuple[float, dict[str, object]]]:
        return [(at, event) for at, event in self.events if event.get("type") == kind]


@dataclass
class OnAir:
    station: Station
    up: Up
    recorder: Recorder
    watch: Watch
    pg: PrivatePostgres
    redis: PrivateServer
    faults: list[tuple[float, float, str]] = field(default_factory=list)
    """(start, end, what) in monotonic time."""

    def fault(
        self, what: str, stop: Callable[[], object], start: Callable[[], object], seconds: float
    ) -> None:
        began = time.monotonic()
        stop()
        time.sleep(seconds)
        ended = time.monotonic()
        start()
        self.faults.append((began, ended, what))

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


def _token(base: str) -> str:
    reply = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"username": ADMIN[0], "password": ADMIN[1]},
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def _wait_for_air(up: Up) -> None:
    api = Api(up.base)
    try:
        deadline = time.monotonic() + 90
        while True:
            with suppress(httpx.HTTPStatusError):  # 503 while the engine comes up
                if api.current() is not None:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("nothing went on air within 90 s:\n" + up.tail())
            time.sleep(0.5)
    finally:
        api.close()


@contextmanager
def on_air(tmp_path: Path) -> Iterator[OnAir]:
    if why := PrivatePostgres.unavailable():
        skip_or_fail(why)
    pg = PrivatePostgres()
    database = pg.start()
    try:
        with private_server("redis") as redis:
            station = make_station(
                tmp_path,
                tracks=TRACKS,
                track_s=TRACK_S,
                emergency=False,
                database_url=database,
                bus_url=redis.url,
            )
            up = Up(station)
            recorder: Recorder | None = None
            watch: Watch | None = None
            try:
                up.wait_ready(120)
                _wait_for_air(up)
                recorder = Recorder(up.printed("engine"), tmp_path / "recording.wav")
                recorder.start()
                watch = Watch(up.base, _token(up.base))
                watch.start()
                time.sleep(SETTLE_S)
                yield OnAir(station, up, recorder, watch, pg, redis)
            finally:
                if watch is not None:
                    watch.stop()
                if recorder is not None:
                    recorder.stop()
                up.stop()
                for pid in engine_pids(tmp_path):
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    finally:
        pg.remove()


# -- checks -------------------------------------------------------------------------------


def no_dead_air(run: OnAir) -> None:
    rec = run.recorder
    assert rec.ended_at is None, "the listener was dropped"
    found = [
        s
        for s in silences(rec.path, rec.seconds)
        if s.end > SETTLE_S and s.length > DEAD_AIR_S and s.end < rec.seconds - 1.0
    ]
    assert not found, f"silence on the recording: {found}"


def answers_degrade(run: OnAir, *, database_down: bool) -> None:
    broken = [a for a in run.watch.answers if a.status >= 500 and a.status != 503]
    assert not broken, f"answers above 500 other than 503: {broken[:10]}"
    refused = [a for a in run.watch.answers if a.status == 0]
    assert not refused, f"requests not answered at all: {refused[:10]}"
    unavailable = [a for a in run.watch.answers if a.status == 503]
    assert all(a.retry_after for a in unavailable), "a 503 without Retry-After"
    if database_down:
        assert any(a.path == "/api/v1/stations" for a in unavailable), "no 503 while down"
    last_fault_end = max(end for _, end, _ in run.faults)
    late = [
        a
        for a in run.watch.answers
        if a.at > last_fault_end + 20 and a.status != 200 and "now-playing" not in a.path
    ]
    assert not late, f"not back to 200 after the fault: {late[:10]}"
    public = [a for a in run.watch.answers if "now-playing" in a.path]
    assert all(a.status == 200 for a in public), (
        f"the public now-playing failed: {[a for a in public if a.status != 200][:5]}"
    )
    metrics = [a for a in run.watch.answers if a.path == "/metrics"]
    assert all(a.status == 200 for a in metrics), "/metrics failed during the fault"


def log_is_bounded(run: OnAir) -> None:
    for began, ended, what in run.faults:
        lines = [
            line for line in run.up.lines if began <= float(line.split(" ", 1)[0]) <= ended + 5
        ]
        allowed = LOG_LINES_PER_MINUTE * max(1.0, (ended - began) / 60)
        shown = "\n".join(lines[:40])
        assert len(lines) <= allowed, f"{len(lines)} log lines during {what}:\n{shown}"
    tracebacks = [line for line in run.up.lines if "Traceback" in line]
    assert not tracebacks, "tracebacks in grimnir up's log:\n" + run.up.tail(60)


def _asrun(run: OnAir) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {_token(run.up.base)}"}
    rows: list[dict[str, object]] = []
    with httpx.Client(base_url=run.up.base, headers=headers, timeout=30) as client:
        while True:
            reply = client.get(
                f"/api/v1/stations/{SHORT}/asrun", params={"limit": 200, "offset": len(rows)}
            )
            reply.raise_for_status()
            page = reply.json()
            rows += page["items"]
            if len(rows) >= page["total"] or not page["items"]:
                break
    return sorted(rows, key=lambda r: str(r["started_at"]))


def asrun_is_complete(run: OnAir) -> None:
    rows = [r for r in _asrun(run) if r["layer"] == "automation"]
    assert len(rows) >= 3, rows
    open_rows = [r for r in rows[:-1] if r["ended_at"] is None]
    assert not open_rows, f"as-run rows never closed: {open_rows}"
    for before, after in itertools.pairwise(rows):
        ended = datetime.fromisoformat(str(before["ended_at"]))
        started = datetime.fromisoformat(str(after["started_at"]))
        assert (started - ended).total_seconds() < DEAD_AIR_S, (
            f"a hole in the as-run log: {before['title']} ended {ended}, "
            f"{after['title']} started {started}"
        )
    # every row started since the WebSocket client joined: its item.started arrived, in
    # order, unless a bus.gap told the client it missed events
    joined = run.watch.events[0][0] if run.watch.events else time.monotonic()
    heard = [
        str(data.get("entry_id"))
        for _, e in run.watch.kinds("item.started")
        if isinstance(data := e.get("data"), dict) and data.get("layer") == "automation"
    ]
    gaps = run.watch.kinds("bus.gap")
    wall_offset = time.time() - time.monotonic()
    titles = [
        (str(r["timeline_entry_id"]), datetime.fromisoformat(str(r["started_at"])).timestamp())
        for r in rows
        if datetime.fromisoformat(str(r["started_at"])).timestamp() > joined + wall_offset + 2
    ]
    told = max((at for at, _ in gaps), default=0.0) + wall_offset
    missing = [entry for entry, started in titles if entry not in heard]
    unexplained = [entry for entry, started in titles if entry not in heard and started > told]
    assert not unexplained, f"{unexplained} not heard and no bus.gap after them ({gaps})"
    got = [entry for entry, _ in titles if entry in heard]
    assert [h for h in heard if h in got] == got, f"events {heard} against as-run {got}"
    if missing:  # a client told of a gap refetches: the as-run log has them all
        assert gaps


def back_on_air(run: OnAir) -> None:
    last_fault_end = max(end for _, end, _ in run.faults)
    started = [at for at, _ in run.watch.kinds("item.started") if at > last_fault_end]
    assert started, "no item.started after the fault: the station did not come back"


def judge(run: OnAir, *, database_down: bool) -> None:
    """``AFTER_S`` more of air, then every check."""
    run.wait(AFTER_S)
    run.watch.stop()
    run.recorder.stop()
    no_dead_air(run)
    answers_degrade(run, database_down=database_down)
    log_is_bounded(run)
    asrun_is_complete(run)
    back_on_air(run)


# -- cases --------------------------------------------------------------------------------


def _database_down(tmp_path: Path, seconds: float) -> None:
    with on_air(tmp_path) as run:
        run.fault(f"database down {seconds:.0f} s", run.pg.stop, run.pg.start, seconds)
        judge(run, database_down=True)


def test_database_down_a_minute(tmp_path: Path) -> None:
    _database_down(tmp_path, 60.0)


def test_database_down_ten_minutes(tmp_path: Path) -> None:
    _database_down(tmp_path, 600.0)


def test_bus_down_half_a_minute(tmp_path: Path) -> None:
    with on_air(tmp_path) as run:
        run.fault("Redis down 30 s", run.redis.stop, run.redis.start, 30.0)
        judge(run, database_down=False)


def test_ten_engine_kills_in_a_minute(tmp_path: Path) -> None:
    """A crash loop: the supervisor keeps starting the engine (never gives up), the
    public now-playing says offline while it is down, and afterwards the station is
    back on air by itself."""
    with on_air(tmp_path) as run:
        seen: list[tuple[float, bool]] = []
        stop = threading.Event()

        def poll() -> None:
            path = f"/api/v1/public/stations/{SHORT}/now-playing"
            with httpx.Client(base_url=run.up.base, timeout=10) as client:
                while not stop.wait(0.1):
                    with suppress(httpx.HTTPError):
                        reply = client.get(path)
                        if reply.status_code == 200:
                            seen.append((time.monotonic(), bool(reply.json()["is_online"])))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        began = time.monotonic()
        killed: list[int] = []
        try:
            for _ in range(10):
                pids = engine_pids(tmp_path)
                for pid in pids:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                killed += pids
                time.sleep(6.0)
        finally:
            stop.set()
            poller.join(timeout=15)
        run.faults.append((began, time.monotonic(), "10 engine kills"))
        assert len(killed) >= 10, f"only {len(killed)} engines were found to kill"
        offline = [at for at, online in seen if not online]
        assert len(offline) > 0, "the public now-playing never said offline"
        # back on air by itself: a listener reconnecting hears the tones again
        back = Recorder(run.recorder.url, tmp_path / "after.wav")
        deadline = time.monotonic() + 60
        while back.frames < 22_050 * 10 and time.monotonic() < deadline:
            if back.frames == 0 and (back.ended_at is not None or back.connected_at == 0):
                back.stop()
                back = Recorder(run.recorder.url, tmp_path / "after.wav")
                back.start()
            time.sleep(0.5)
        back.stop()
        assert back.seconds >= 10, "no stream from the engine after the kills"
        heard = [s for s in silences(back.path, back.seconds) if s.length > DEAD_AIR_S]
        assert not [s for s in heard if s.start > 2.0], f"silence after the kills: {heard}"
        with httpx.Client(base_url=run.up.base, timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                answer = client.get(f"/api/v1/public/stations/{SHORT}/now-playing").json()
                if answer["is_online"] and answer["current"] is not None:
                    break
                assert time.monotonic() < deadline, f"not online again: {answer}"
                time.sleep(0.5)
        run.watch.stop()
        tracebacks = [line for line in run.up.lines if "Traceback" in line]
        assert not tracebacks, "tracebacks in grimnir up's log:\n" + run.up.tail(60)
        rows = [r for r in _asrun(run) if r["layer"] == "automation"]
        assert not [r for r in rows[:-1] if r["ended_at"] is None], "as-run rows left open"
