"""A station on air under ``grimnir up``, heard as a listener hears it.

Shared by the realtime fault tests (``tests/faults/test_on_air_faults.py``),
``scripts/dead_air_realtime.py`` and ``benchmarks/engine_restart.py``: a
station set up the way a user does it (``grimnir station add``, an admin,
a scanned library of tones, each track a frequency of its own), ``grimnir up``
in its own session on free loopback ports with its output kept, a listener
(ffmpeg decoding the engine's own HTTP mount to a WAV file) and the analysis
of that recording (``silencedetect``, what was on air when).
"""

# (asserts narrow types; the commands run are ours)
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import yaml

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
SHORT = "onair"
MOUNT = "/onair.mp3"
ADMIN = ("admin", "on-air-admin-pw-1")
DJ = ("dj", "on-air-dj-pw-1")
REC_RATE = 22_050
"""Sample rate of the recording (mono): plenty for the tones and silencedetect."""
SILENCE_DB = -50
SILENCE_MIN_S = 0.3
DEAD_AIR_S = 0.5
"""A silence longer than this is dead air."""
TRACK_HZ = 300.0
TRACK_STEP_HZ = 100.0
DJ_HZ = 1200.0
EMERGENCY_HZ = 2000.0
RELAY_HZ = 1600.0
LIVE_GUARD_S = 8.0
"""Arrivals this soon after connecting are the listener burst, not the live edge."""


# -- small helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_tone(path: Path, hz: float, seconds: float, rate: int = 48_000) -> None:
    """A stereo 16-bit WAV of a sine (amplitude 0.3) with 10 ms ramps at its ends."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * hz * t)
    ramp = min(len(t) // 2, rate // 100)
    tone[:ramp] *= np.linspace(0, 1, ramp)
    tone[-ramp:] *= np.linspace(1, 0, ramp)
    pcm = (np.repeat(tone[:, None], 2, axis=1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def process_pids(marker: str, needle: bytes) -> list[int]:
    """Processes whose command line holds ``needle`` and ``marker`` (a case's folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and marker.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def engine_pids(marker: Path) -> list[int]:
    return process_pids(str(marker), b"grimnir\x00engine")


def end_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``pid`` (or just ``pid``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            os.kill(pid, sig)


def end_popen(proc: subprocess.Popen[bytes] | None, grace_s: float = 5.0) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace_s``; reaped."""
    if proc is None:
        return
    # NOTE: never a signal to a process already reaped: its pid may be someone else's now.
    if proc.poll() is None:
        end_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            end_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def http_head(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (lower-case names) and whatever body bytes came along."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


# -- the listener -------------------------------------------------------------------------


class Recorder:
    """ffmpeg decoding the stream to mono PCM, written to a WAV file by a thread that
    notes when each chunk arrived (to place recording positions in wall time)."""

    def __init__(self, url: str, path: Path) -> None:
        self.url = url
        self.path = path
        self.arrivals: list[tuple[float, int]] = []
        self.frames = 0
        self.connected_at = 0.0
        self.ended_at: float | None = None
        self.stderr = b""
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error"]
        cmd += ["-i", self.url, "-vn", "-ac", "1", "-ar", str(REC_RATE), "-f", "s16le", "-"]
        self.connected_at = time.monotonic()
        self._proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stdout is not None
        with wave.open(str(self.path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(REC_RATE)
            carry = b""
            while True:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                data = carry + chunk
                whole = len(data) // 2 * 2
                carry = data[whole:]
                out.writeframes(data[:whole])
                self.frames += whole // 2
                self.arrivals.append((time.monotonic(), self.frames))
        if not self._stopping:
            self.ended_at = time.monotonic()

    def stop(self) -> None:
        """End ffmpeg and the reader (again: nothing)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._stopping = True
        if proc is not None:
            end_popen(proc)
            if proc.stderr is not None:
                self.stderr = proc.stderr.read()
                proc.stderr.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    @property
    def seconds(self) -> float:
        return self.frames / REC_RATE

    def live_offset(self) -> float:
        """Wall time minus recording position at the live edge (after the burst)."""
        later = [(w, f) for w, f in self.arrivals if w > self.connected_at + LIVE_GUARD_S]
        chosen = later or self.arrivals
        if not chosen:
            return self.connected_at
        return min(w - f / REC_RATE for w, f in chosen)

    def position(self, wall: float) -> float:
        """Where in the recording the audio on air at ``wall`` (monotonic) is."""
        return wall - self.live_offset()


# -- analysis -----------------------------------------------------------------------------


@dataclass
class Silence:
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def silences(path: Path, total_s: float) -> list[Silence]:
    """``silencedetect=n=-50dB:d=0.3`` over the recording (a silence still running at
    the end ends there)."""
    run = subprocess.run(
        [
            *(FFMPEG, "-nostdin", "-hide_banner", "-i", str(path)),
            *("-af", f"silencedetect=n={SILENCE_DB}dB:d={SILENCE_MIN_S}", "-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found: list[Silence] = []
    start: float | None = None
    for line in run.stderr.splitlines():
        if (m := re.search(r"silence_start: (-?[\d.]+)", line)) is not None:
            start = max(0.0, float(m.group(1)))
        elif (m := re.search(r"silence_end: (-?[\d.]+)", line)) is not None:
            found.append(Silence(start or 0.0, float(m.group(1))))
            start = None
    if start is not None:
        found.append(Silence(start, total_s))
    return found


def labels(track_count: int) -> dict[float, str]:
    known = {TRACK_HZ + TRACK_STEP_HZ * n: f"track{n}" for n in range(track_count)}
    return known | {DJ_HZ: "DJ tone", EMERGENCY_HZ: "emergency file", RELAY_HZ: "web stream"}


def on_air_runs(
    path: Path, known: dict[float, str], step_s: float = 0.25
) -> list[tuple[float, float, str]]:
    """What the recording holds, as (start, length, what) runs of ``step_s`` windows:
    the nearest known tone to the loudest frequency, ``silence`` below -50 dBFS."""
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    pcm /= 32768.0
    size = int(step_s * REC_RATE)
    count = len(pcm) // size
    runs: list[tuple[float, float, str]] = []
    freqs = np.fft.rfftfreq(size, 1 / REC_RATE)
    window = np.hanning(size)
    for i in range(count):
        block = pcm[i * size : (i + 1) * size]
        rms = float(np.sqrt(np.mean(block**2)))
        if rms < 10 ** (SILENCE_DB / 20):
            what = "silence"
        else:
            peak = float(freqs[int(np.argmax(np.abs(np.fft.rfft(block * window))))])
            nearest = min(known, key=lambda hz: abs(hz - peak))
            what = known[nearest] if abs(nearest - peak) < 30 else f"{peak:.0f} Hz"
        start = i * step_s
        if runs and runs[-1][2] == what:
            first, length, _ = runs[-1]
            runs[-1] = (first, length + step_s, what)
        else:
            runs.append((start, step_s, what))
    return runs


def merged(
    runs: list[tuple[float, float, str]], shortest_s: float = 1.0
) -> list[tuple[float, float, str]]:
    """Runs shorter than ``shortest_s`` (crossfades) folded into the one before;
    silences are always kept."""
    out: list[tuple[float, float, str]] = []
    for start, length, what in runs:
        if out and what != "silence" and length < shortest_s:
            first, before, prev = out[-1]
            out[-1] = (first, before + length, prev)
        elif out and out[-1][2] == what:
            first, before, _ = out[-1]
            out[-1] = (first, before + length, what)
        else:
            out.append((start, length, what))
    return out


# -- a station under grimnir up -------------------------------------------------------------


@dataclass
class Station:
    root: Path
    env: dict[str, str]
    tracks: int

    def grimnir(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "grimnir", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"grimnir {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done


_IN_ONE = """
import json, sys
from grimnir.cli._app import app
for args in json.loads(sys.argv[1]):
    code = app(args=args, standalone_mode=False, prog_name="grimnir")
    if code:
        sys.exit(f"grimnir {' '.join(args)} exited with {code}")
"""
"""Several ``grimnir`` commands in one interpreter (each start imports the whole
CLI: seconds per station on a busy machine)."""


def make_station(
    root: Path,
    *,
    tracks: int,
    track_s: float,
    emergency: bool,
    database_url: str | None = None,
    bus_url: str | None = None,
    outputs: Sequence[Mapping[str, object]] = (),
    extra: Mapping[str, object] | None = None,
    timezone: str = "UTC",
) -> Station:
    """A registered station (one MP3 mount on the engine's server, no fallback_paths),
    an admin account and, with ``tracks``, a scanned library of tones.

    ``outputs`` are more outputs of the mount (after the MP3 one), ``extra`` more
    top-level sections of the station file (``dsp_graph``, …); the file is
    ``station.yaml`` in ``root``."""
    # NOTE: the caller's GRIMNIR_* settings stay out, but for a UI built elsewhere
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_") or k == "GRIMNIR_UI_DIR"
    }
    env["GRIMNIR_DATA_DIR"] = str(root / "data")
    if database_url is not None:
        env["GRIMNIR_DATABASE_URL"] = database_url
    if bus_url is not None:
        env["GRIMNIR_BUS_URL"] = bus_url
    config: dict[str, object] = {
        "station": {
            "id": str(uuid.uuid4()),
            "name": "Tone Test",
            "short_name": SHORT,
            "timezone": timezone,
        },
        "mounts": [
            {
                "id": "main",
                "name": "Main",
                "outputs": [
                    {"type": "http", "path": MOUNT, "format": "mp3", "bitrate_kbps": 128},
                    *(dict(output) for output in outputs),
                ],
            }
        ],
    }
    config.update(extra or {})
    if emergency:
        write_tone(root / "emergency.wav", EMERGENCY_HZ, 8.0)
        config["failover"] = {
            "emergency_audio_path": str(root / "emergency.wav"),
            "fallback_paths": [],
        }
    (root / "station.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    station = Station(root, env, tracks)
    if database_url is not None:
        station.grimnir("db", "upgrade")
    commands = [
        ["station", "add", "--config", str(root / "station.yaml")],
        ["user", "create", ADMIN[0], "--admin", "--password-stdin"],
    ]
    if tracks:
        for n in range(tracks):
            write_tone(root / "music" / f"track{n}.wav", TRACK_HZ + TRACK_STEP_HZ * n, track_s)
        commands.append(["library", "scan", str(root / "music"), "--station", SHORT])
    done = subprocess.run(
        [sys.executable, "-c", _IN_ONE, json.dumps(commands)],
        env=station.env,
        input=ADMIN[1] + "\n",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"setting up the station failed:\n{done.stdout}{done.stderr}")
    return station


class Up:
    """``grimnir up`` in its own session, its output kept in ``up.log`` and in memory
    (each line in ``lines`` after its arrival time, monotonic, and a space)."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.lines: list[str] = []
        self.log = station.root / "up.log"
        self.relaunches = 0
        self._launch()

    def _launch(self) -> None:
        self.http = f"127.0.0.1:{free_port()}"
        self.stream_port = free_port()
        """The engine's HTTP server (its mounts, the harbor)."""
        self.grpc_port = free_port()
        """The engine's control port (gRPC)."""
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "grimnir", "up", "--http", self.http),
                *("--stream-port", str(self.stream_port), "--grpc-port", str(self.grpc_port)),
                *("--hours", "2", "--harbor-user", f"{DJ[0]}:{DJ[1]}"),
            ],
            env=self.station.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.log.open("w", encoding="utf-8") as out:
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append(f"{time.monotonic():.3f} {line}")
                out.write(line + "\n")
                out.flush()
                if "stop with Ctrl-C" in line:
                    self._ready.set()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self._ready.wait(0.5):
            if self.proc.poll() is not None:
                self._thread.join(5)
                # NOTE: a port found free was taken by another test's process before
                # grimnir up bound it (tests run in parallel): other ports, once more
                if "is already in use" in self.tail() and self.relaunches < 3:
                    self.relaunches += 1
                    end_popen(self.proc)
                    self._launch()
                    continue
                raise RuntimeError(f"grimnir up exited ({self.proc.returncode}):\n" + self.tail())
            if time.monotonic() > deadline:
                raise RuntimeError("grimnir up did not come on air in time:\n" + self.tail())

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])

    def printed(self, prefix: str) -> str:
        """The value of a line of the on-air banner (``engine``, ``harbor``, …)."""
        pattern = re.compile(rf"^\s*{re.escape(prefix)}\s+((?:http|icecast)://\S+)")
        for line in self.lines:
            if (found := pattern.match(line.split(" ", 1)[1])) is not None:
                return found.group(1)
        raise RuntimeError(f"grimnir up printed no {prefix!r} line:\n{self.tail()}")

    @property
    def base(self) -> str:
        return f"http://{self.http}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.lines.append("(grimnir up did not stop within 30 s of SIGTERM: killed)")
        end_popen(self.proc)
        self._thread.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Api:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=f"{base}/api/v1", timeout=20)
        signed = self.client.post("/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        signed.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"

    def current(self) -> dict[str, object] | None:
        reply = self.client.get(f"/stations/{SHORT}/executor")
        reply.raise_for_status()
        current = reply.json().get("current")
        return current if isinstance(current, dict) else None

    def close(self) -> None:
        self.client.close()
