"""Dead air in real time: issue 14's rows reproduced with ``grimnir up`` and a recording.

Each case starts ``grimnir up`` in a subprocess with its own temporary data dir
(SQLite; a private PostgreSQL cluster for ``database-down``), records the
station's stream as a listener does (ffmpeg reading the engine's own HTTP
mount, decoded to a WAV file), performs the case's action at its moment, then
runs ``ffmpeg -af silencedetect=n=-50dB:d=0.3`` on the recording and prints
every silence with its start relative to the actions. A case passes when no
silence longer than 0.5 s occurs after the first ``--settle`` seconds of the
recording and the listener was not dropped.

Every source is a tone of its own frequency (library track n: 300 + 100·n Hz,
the DJ 1200 Hz, the emergency file 2000 Hz), so the recording also tells what
was on air: each case prints that as a timeline of runs.

Cases (issue 14's rows):

* ``replan`` (1): the timeline is rebuilt through the API (``POST
  …/timeline/rebuild``, what the 10-minute replan does) three times at random
  moments; recorded until 150 s after the last rebuild (a rebuild replaces
  entries from two minutes ahead on: the join lands there).
* ``skip`` (2): ``POST …/playout/skip`` twice at random moments.
* ``dj`` (3, 4): ffmpeg as an Icecast source client streams a tone to the
  harbor (``--dj-seconds``) and disconnects cleanly.
* ``control-plane-dead`` (5): ``grimnir up`` is killed with SIGKILL; its
  engine (in its own session) plays on; recorded for minutes.
* ``database-down`` (6): a private PostgreSQL cluster (``initdb`` in the
  temporary dir, its own port; the shared one is not touched) is stopped with
  ``pg_ctl stop -m immediate`` while ``grimnir up`` runs.
* ``emergency-file-only`` (7): a station with ``failover.emergency_audio_path``,
  no ``fallback_paths``, no library and so no timeline.

And two faults of the simulation's script:

* ``web-stream-dies``: a web stream show (made through the API, planned by a
  rebuild) relays a tone from a small HTTP server here, which dies 40 s into
  the show: the fallback rotation covers the rest of the slot.
* ``engine-restart``: the engine process is killed with SIGKILL; the
  supervisor in ``grimnir up`` starts a new one and the executor lines it up
  (the cut item resumes where it was cut). The engine's own HTTP mount goes
  with it, so the listener reconnects as players do; the case is judged on the
  recording after the reconnect and reports how long the air was gone.

Run: ``.venv/bin/python scripts/dead_air_realtime.py [--only NAME] [--minutes M]``.
Everything listens on 127.0.0.1 on free ports; every process started is ended.
"""

# ruff: noqa: S101, S311, S603
# (asserts narrow types; the random moments need no crypto; the commands run are ours)
from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests._onair import (  # noqa: E402 — the repository's own test helpers
    DEAD_AIR_S,
    DJ,
    DJ_HZ,
    FFMPEG,
    RELAY_HZ,
    SHORT,
    SILENCE_DB,
    SILENCE_MIN_S,
    Api,
    Recorder,
    Silence,
    Up,
    end_group,
    end_popen,
    engine_pids,
    labels,
    make_station,
    merged,
    on_air_runs,
    silences,
)
from tests._pgcluster import PrivatePostgres  # noqa: E402

RELAY_LEAD_S = 150.0
"""The web stream show starts this long after it is made: a rebuild keeps what starts
within the next two minutes."""
RELAY_SHOW_S = 100.0
RELAY_DIES_S = 40.0


# -- cases --------------------------------------------------------------------------------


@dataclass
class Run:
    """One case in progress: the recorder, the actions and their wall times."""

    name: str
    up: Up
    api: Api | None
    recorder: Recorder
    length_s: float
    rng: random.Random
    args: argparse.Namespace
    actions: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    valid: bool = True

    def at(self, seconds: float) -> None:
        """Sleep until ``seconds`` after the recording started."""
        delay = self.recorder.connected_at + seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def mark(self, label: str, wall: float | None = None) -> None:
        self.actions.append((time.monotonic() if wall is None else wall, label))

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass
class Case:
    name: str
    row: str
    default_s: float
    action: Callable[[Run], None]
    min_s: float
    library: bool = True
    emergency: bool = False
    postgres: bool = False
    what: str = ""
    settle_s: float | None = None
    """Seconds at the start of the recording not judged (None: ``--settle``)."""


def do_replan(run: Run) -> None:
    assert run.api is not None
    for n, (lo, hi) in enumerate(((10, 30), (40, 60), (70, 90)), 1):
        run.at(run.rng.uniform(lo, hi))
        wall = time.monotonic()
        reply = run.api.client.post(f"/stations/{SHORT}/timeline/rebuild", params={"hours": 2})
        if reply.status_code != 200:
            run.valid = False
            run.note(f"rebuild {n}: HTTP {reply.status_code} {reply.text[:200]}")
            continue
        body = reply.json()
        planned, kept, removed = body.get("planned"), body.get("kept"), body.get("removed")
        gaps = len(body.get("gaps") or [])
        run.mark(f"rebuild#{n}", wall)
        run.note(f"rebuild#{n}: planned {planned}, kept {kept}, removed {removed}, gaps {gaps}")
    run.at(run.length_s)


def do_skip(run: Run) -> None:
    assert run.api is not None
    for n, (lo, hi) in enumerate(((15, 40), (55, 85)), 1):
        run.at(run.rng.uniform(lo, hi))
        before = run.api.current()
        wall = time.monotonic()
        reply = run.api.client.post(f"/stations/{SHORT}/playout/skip")
        if reply.status_code != 200:
            run.valid = False
            run.note(f"skip {n}: HTTP {reply.status_code} {reply.text[:200]}")
            continue
        run.mark(f"skip#{n}", wall)
        title = before.get("title") if before else None
        position = before.get("position_ms") if before else None
        run.note(f"skip#{n}: skipped {title!r} at {position} ms of it")
    run.at(run.length_s)


def do_dj(run: Run) -> None:
    harbor = run.up.printed("harbor")  # icecast://127.0.0.1:PORT/live
    target = harbor.replace("icecast://", f"icecast://{DJ[0]}:{DJ[1]}@", 1)
    run.at(15)
    seconds = run.args.dj_seconds
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"]
    cmd += ["-i", f"sine=f={DJ_HZ:.0f}:d={seconds}:sample_rate=44100", "-ac", "2"]
    cmd += ["-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg"]
    cmd += ["-ice_name", "Dead air DJ", "-f", "mp3", target]
    dj = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    run.mark("dj-connect")
    try:
        _, err = dj.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        end_popen(dj)
        _, err = dj.communicate()
        run.note("the DJ's ffmpeg did not end by itself")
    run.mark("dj-disconnect")
    text = err.decode(errors="replace").strip()
    run.note(f"DJ ffmpeg exit {dj.returncode}{': ' + text[-300:] if text else ''} ({harbor})")
    if dj.returncode != 0:
        run.valid = False
    run.at(run.length_s)


def do_control_plane_dead(run: Run) -> None:
    run.at(20)
    before = engine_pids(run.up.station.root)
    run.up.proc.send_signal(signal.SIGKILL)
    run.mark("SIGKILL grimnir up")
    run.up.proc.wait(timeout=10)
    time.sleep(3)
    after = engine_pids(run.up.station.root)
    run.note(f"engines before the kill {before}, 3 s after {after}")
    if not before or not set(before) <= set(after):
        run.valid = False
        run.note("the engine did not outlive the control plane")
    run.at(run.length_s)
    run.note(f"engines at the end {engine_pids(run.up.station.root)}")


class RelayServer:
    """A web stream to relay: an HTTP server sending an MP3 tone at the pace it plays,
    to every listener, until ``die`` (connections cut, the port refuses)."""

    def __init__(self, hz: float) -> None:
        import lameenc  # the project's own MP3 encoder

        rate, chunk_s = 44_100, 0.1
        t = np.arange(int(rate * chunk_s * 10)) / rate
        pcm = (0.3 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(128)
        encoder.set_in_sample_rate(rate)
        encoder.set_channels(1)
        encoder.set_quality(2)
        # NOTE: one second of MP3 (10 Hz steps fit it whole) looped: the tone is continuous
        self._second = bytes(encoder.encode(pcm.tobytes()))
        self._dead = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/relay.mp3"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._dead.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-name: relay\r\n\r\n"
                )
                data, step = self._second, len(self._second) // 10
                started, sent = time.monotonic(), 0
                while not self._dead.is_set():
                    part = data[(sent % 10) * step : (sent % 10 + 1) * step]
                    conn.sendall(part)
                    sent += 1
                    # a second ahead of real time at most (a server's burst on connect)
                    ahead = started + sent * 0.1 - 1.0 - time.monotonic()
                    if ahead > 0:
                        self._dead.wait(ahead)
            except OSError:
                return

    def die(self) -> None:
        self._dead.set()
        self._sock.close()


def do_web_stream_dies(run: Run) -> None:
    assert run.api is not None
    client = run.api.client
    server = RelayServer(RELAY_HZ)
    try:
        made = client.post(
            f"/stations/{SHORT}/webstreams", json={"name": "Relay", "urls": [server.url]}
        )
        made.raise_for_status()
        begins = time.monotonic() + RELAY_LEAD_S
        start = datetime.now(UTC) + timedelta(seconds=RELAY_LEAD_S)
        show = client.post(
            f"/stations/{SHORT}/shows",
            json={
                "name": "Relayed show",
                "dtstart": start.isoformat(),
                "duration_ms": int(RELAY_SHOW_S * 1000),
                "content": "webstream",
                "webstream_id": made.json()["id"],
            },
        )
        show.raise_for_status()
        rebuilt = client.post(f"/stations/{SHORT}/timeline/rebuild", params={"hours": 2})
        rebuilt.raise_for_status()
        run.note(f"web stream show at {start:%H:%M:%S} UTC for {RELAY_SHOW_S:.0f} s ({server.url})")
        run.mark("show starts", begins)
        time.sleep(max(0.0, begins + RELAY_DIES_S - time.monotonic()))
        server.die()
        run.mark("the relayed server dies")
    except httpx.HTTPStatusError as exc:
        run.valid = False
        run.note(f"API: {exc.response.status_code} {exc.response.text[:300]}")
    finally:
        server.die()
    run.at(run.length_s)


def do_engine_restart(run: Run) -> None:
    root = run.up.station.root
    run.at(25)
    before = engine_pids(root)
    for pid in before:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    run.mark("SIGKILL engine", killed)
    old = run.recorder
    deadline = killed + 90
    after: list[int] = []
    while time.monotonic() < deadline:
        after = [pid for pid in engine_pids(root) if pid not in before]
        if after and old.ended_at is not None:
            break
        time.sleep(0.05)
    # NOTE: the engine's HTTP mount went with it: a player reconnects (tries every 0.2 s)
    # and the case is judged on what it hears from then on
    old.stop()
    new = Recorder(old.url, old.path.with_name("recording-after.wav"))
    while time.monotonic() < deadline:
        new.start()
        time.sleep(1.0)
        if new.frames > 0 or new.ended_at is None:
            break
        new.stop()
        new = Recorder(old.url, old.path.with_name("recording-after.wav"))
        time.sleep(0.2)
    heard = next((w for w, _ in new.arrivals), None)
    run.recorder = new
    run.note(
        f"engine {before} killed; new engine {after}; the reconnected listener heard audio "
        + (f"{heard - killed:.1f} s after the kill" if heard else "never")
    )
    if not after or heard is None:
        run.valid = False
    run.at(run.length_s - (new.connected_at - old.connected_at))


def make_db_stopper(pg: PrivatePostgres) -> Callable[[Run], None]:
    def do_database_down(run: Run) -> None:
        run.at(20)
        wall = time.monotonic()
        pg.stop()
        run.mark("PostgreSQL stopped (immediate)", wall)
        run.at(run.length_s)
        alive = run.up.proc.poll() is None
        run.note(f"grimnir up {'still running' if alive else f'exited {run.up.proc.returncode}'}")

    return do_database_down


def do_emergency(run: Run) -> None:
    run.mark("recording (nothing queued)", run.recorder.connected_at)
    run.at(run.length_s)


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("replan", "1", 240, do_replan, 110, what="3 timeline rebuilds via the API"),
        Case("skip", "2", 120, do_skip, 90, what="2 skips via the API"),
        Case("dj", "3, 4", 150, do_dj, 0, what="DJ streams a tone, disconnects cleanly"),
        Case("control-plane-dead", "5", 240, do_control_plane_dead, 60, what="SIGKILL grimnir up"),
        Case("database-down", "6", 240, do_emergency, 60, postgres=True, what="PostgreSQL stopped"),
        Case(
            "emergency-file-only",
            "7",
            60,
            do_emergency,
            20,
            library=False,
            emergency=True,
            what="emergency file only, nothing queued",
        ),
        Case(
            "web-stream-dies",
            "-",
            RELAY_LEAD_S + RELAY_SHOW_S + 40,
            do_web_stream_dies,
            RELAY_LEAD_S + RELAY_SHOW_S + 20,
            what="a web stream show whose server dies 40 s in",
        ),
        Case(
            "engine-restart",
            "-",
            120,
            do_engine_restart,
            60,
            what="SIGKILL the engine",
            emergency=True,  # what a new engine airs before the executor has lined it up
            settle_s=0.0,  # the recording starts when the new engine serves: all of it counts
        ),
    )
}


# -- running a case -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    row: str
    what: str
    status: str
    recorded_s: float = 0.0
    actions: list[tuple[float, str]] = field(default_factory=list)
    found: list[Silence] = field(default_factory=list)
    counted: list[Silence] = field(default_factory=list)
    runs: list[tuple[float, float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    folder: Path | None = None


def relative(at: float, actions: list[tuple[float, str]]) -> str:
    """``at`` (a recording position) against the last action before it."""
    before = [(pos, label) for pos, label in actions if pos <= at + 0.05]
    if not before:
        if actions:
            pos, label = actions[0]
            return f"{at - pos:+.1f} s before {label}"
        return ""
    pos, label = before[-1]
    return f"{at - pos:+.1f} s after {label}"


@contextlib.contextmanager
def case_folder(keep: bool) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="grimnir-dead-air-"))
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def run_case(case: Case, args: argparse.Namespace) -> Result:
    result = Result(case.name, case.row, case.what, "ERROR")
    length = args.minutes * 60 if args.minutes else case.default_s
    if length < case.min_s:
        print(f"  {case.name}: --minutes too short, recording {case.min_s:.0f} s", flush=True)
        length = case.min_s
    if case.postgres and (why := PrivatePostgres.unavailable()):
        result.status = "SKIPPED"
        result.notes.append(f"no private PostgreSQL: {why}")
        return result
    rng = random.Random(f"{args.seed}-{case.name}")
    with case_folder(args.keep) as folder:
        result.folder = folder
        pg: PrivatePostgres | None = None
        up: Up | None = None
        api: Api | None = None
        recorder: Recorder | None = None
        try:
            print(f"[{case.name}] setting up in {folder}", flush=True)
            url = None
            action = case.action
            if case.postgres:
                pg = PrivatePostgres()
                url = pg.start()
                action = make_db_stopper(pg)
            station = make_station(
                folder,
                tracks=args.tracks if case.library else 0,
                track_s=args.track_seconds,
                emergency=case.emergency,
                database_url=url,
            )
            up = Up(station)
            up.wait_ready(args.start_timeout)
            api = Api(up.base)
            if case.library:
                deadline = time.monotonic() + 90
                run_notes: list[str] = []
                while True:
                    try:
                        if api.current() is not None:
                            break
                    except httpx.HTTPStatusError as exc:  # 503 while the engine comes up
                        problem = f"{exc.response.status_code} {exc.response.text[:200]}"
                        if problem not in run_notes:
                            run_notes.append(problem)
                    if time.monotonic() > deadline:
                        raise RuntimeError("nothing went on air within 90 s:\n" + up.tail())
                    time.sleep(0.5)
                for problem in run_notes:
                    result.notes.append(f"while waiting for the first item the API said {problem}")
            else:
                time.sleep(3)
            engine_url = up.printed("engine")
            print(f"[{case.name}] on air; recording {engine_url} for {length:.0f} s", flush=True)
            recorder = Recorder(engine_url, folder / "recording.wav")
            recorder.start()
            run = Run(case.name, up, api, recorder, length, rng, args)
            action(run)
            recorder = run.recorder  # NOTE: a case may reconnect the listener
            recorder.stop()
            result.recorded_s = recorder.seconds
            result.actions = [(recorder.position(w), label) for w, label in run.actions]
            result.notes += run.notes
            if recorder.ended_at is not None:
                dropped = recorder.position(recorder.ended_at)
                result.notes.append(
                    f"the listener was dropped at {dropped:.1f} s: "
                    f"{recorder.stderr.decode(errors='replace').strip()[-300:]}"
                )
            result.found = silences(recorder.path, recorder.seconds)
            settle = args.settle if case.settle_s is None else case.settle_s
            for s in result.found:
                start = max(s.start, settle)
                if s.end - start > DEAD_AIR_S:
                    result.counted.append(s)
            result.runs = merged(on_air_runs(recorder.path, labels(station.tracks)))
            if result.counted or recorder.ended_at is not None:
                result.status = "FAIL"
            elif not run.valid:
                result.status = "INVALID"
            else:
                result.status = "PASS"
        except Exception as exc:  # a case that could not run is reported, not raised
            result.notes.append(f"{type(exc).__name__}: {exc}")
        finally:
            # NOTE: each step on its own: one failing must not leave an engine running.
            if recorder is not None:
                with contextlib.suppress(Exception):
                    recorder.stop()
            if api is not None:
                with contextlib.suppress(Exception):
                    api.close()
            if up is not None:
                with contextlib.suppress(Exception):
                    up.stop()
                result.log = [
                    line
                    for line in up.lines
                    if re.search(
                        r"WARNING|ERROR|CRITICAL|Traceback|alarm|silence|dead air", line, re.I
                    )
                ]
            for pid in engine_pids(folder):
                end_group(pid)
            if pg is not None:
                pg.remove()
        if args.keep:
            result.notes.append(f"kept: {folder} (up.log, recording.wav)")
    return result


def print_report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(f"Dead air (silencedetect n={SILENCE_DB}dB d={SILENCE_MIN_S}s; FAIL on > {DEAD_AIR_S} s")
    print(f"after the first {args.settle:.0f} s of the recording, or a dropped listener)")
    print()
    header = f"{'case':<21} {'row':<5} {'recorded':>8} {'actions':>7} {'silences':>8} "
    header += f"{'longest':>8}  result"
    print(header)
    print("-" * len(header))
    for r in results:
        longest = max((s.length for s in r.counted), default=0.0)
        print(
            f"{r.name:<21} {r.row:<5} {r.recorded_s:>7.0f}s {len(r.actions):>7} "
            f"{len(r.counted):>8} {(f'{longest:.1f}s' if r.counted else '-'):>8}  {r.status}"
        )
    for r in results:
        print()
        print(f"== {r.name} (issue row {r.row}): {r.what}")
        for pos, label in r.actions:
            print(f"   action  {pos:7.1f} s  {label}")
        if not r.found:
            print("   no silence >= 0.3 s in the recording")
        for s in r.found:
            flag = (
                "DEAD AIR"
                if s in r.counted
                else "ignored (start-up)"
                if s.end <= args.settle + DEAD_AIR_S
                else "short"
            )
            where = relative(s.start, r.actions)
            print(f"   silence {s.start:7.1f} s  length {s.length:5.2f} s  {where:<32} {flag}")
        if r.runs:
            print(
                "   on air: "
                + ", ".join(f"{start:.1f}+{length:.1f}s {what}" for start, length, what in r.runs)
            )
        for note in r.notes:
            print(f"   note: {note}")
        for line in r.log[: args.log_lines]:
            print(f"   log: {line}")
        if len(r.log) > args.log_lines:
            print(f"   log: … {len(r.log) - args.log_lines} more warning/error lines")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--only", action="append", choices=sorted(CASES), help="run this case (repeatable)"
    )
    parser.add_argument(
        "--minutes", type=float, help="length of each recording (default: per case)"
    )
    parser.add_argument("--seed", default=str(int(time.time())), help="seed of the random moments")
    parser.add_argument("--settle", type=float, default=6.0, help="seconds at the start not judged")
    parser.add_argument("--tracks", type=int, default=6, help="library tracks (tones)")
    parser.add_argument("--track-seconds", type=float, default=25.0, help="length of each track")
    parser.add_argument("--dj-seconds", type=float, default=60.0, help="how long the DJ streams")
    parser.add_argument(
        "--start-timeout", type=float, default=240.0, help="for grimnir up to come on air"
    )
    parser.add_argument(
        "--log-lines", type=int, default=15, help="warning/error log lines shown per case"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each case's folder (logs, recording)"
    )
    args = parser.parse_args()
    if shutil.which(FFMPEG) is None:
        print("ffmpeg is needed", file=sys.stderr)
        return 2
    names = args.only or list(CASES)
    print(f"seed {args.seed}; cases: {', '.join(names)}", flush=True)
    results = []
    for name in names:
        results.append(run_case(CASES[name], args))
        print(f"[{name}] {results[-1].status}", flush=True)
    print_report(results, args)
    return 0 if all(r.status in ("PASS", "SKIPPED") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
