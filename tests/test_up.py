"""``grimnir up`` as a user runs it: a registered station with a scanned library goes on
air; killing the control plane with kill -9 does not touch the audio, and the next
``grimnir up`` adopts the engine and carries on without replaying what is on air."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION_ID = "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11"


def free_port_pair() -> int:
    """A port p with p and p+1 free (engines take base + n)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def grimnir(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grimnir", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_tracks(folder: Path, count: int, seconds: float) -> None:
    """Distinct tones as WAV files with artist/title in their names' tags."""
    folder.mkdir(parents=True)
    rate = 48_000
    for n in range(count):
        t = np.arange(int(seconds * rate)) / rate
        tone = 0.3 * np.sin(2 * np.pi * (220 + 110 * n) * t)
        pcm = (np.repeat(tone[:, None], 2, axis=1) * 32767).astype("<i2")
        with wave.open(str(folder / f"track{n}.wav"), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm.tobytes())


@pytest.fixture
def station_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env |= {k: v for k, v in os.environ.items() if k.startswith("GRIMNIR_TEST_")}
    env["GRIMNIR_DATA_DIR"] = str(tmp_path / "data")
    config = yaml.safe_load(EXAMPLE.read_text())
    # NOTE: a WAV recording shows every sample: a gap would be a run of zeros.
    config["mounts"][0]["outputs"] = [
        {"type": "http", "path": "/wgmr.mp3", "format": "mp3", "bitrate_kbps": 128},
        {"type": "recording", "path": str(tmp_path / "rec"), "format": "wav"},
    ]
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(config))
    assert grimnir(env, "station", "add", "--config", str(station)).returncode == 0
    write_tracks(tmp_path / "music", 4, 6.0)
    scan = grimnir(env, "library", "scan", str(tmp_path / "music"), "--station", "wgmr-fm")
    assert scan.returncode == 0, scan.stderr
    return env


def start_up(env: dict[str, str], http_port: int, grpc_port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grimnir",
            "up",
            "--http",
            "127.0.0.1:0",
            "--stream-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
            "--hours",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_listener(port: int, seconds: float) -> bytes:
    """The first bytes of the station's stream (it is on air)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /wgmr.mp3 HTTP/1.0\r\n\r\n")
                data = sock.recv(65536)
                if data.startswith(b"HTTP/1.0 200"):
                    return data
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the station never came on air")


def asrun(env: dict[str, str]) -> list[dict[str, object]]:
    export = grimnir(env, "asrun", "export", "--station", "wgmr-fm", "--format", "json")
    assert export.returncode == 0, export.stderr
    rows: list[dict[str, object]] = yaml.safe_load(export.stdout)
    return rows


def wait_for_asrun(env: dict[str, str], count: int, seconds: float) -> bool:
    """True once ``count`` items have started airing."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(asrun(env)) >= count:
            return True
        time.sleep(0.5)
    return False


def engine_pids(marker: Path) -> list[int]:
    """Engine processes whose command line names ``marker`` (this test's folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"grimnir\x00engine" in cmdline and str(marker).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def test_killing_the_control_plane_leaves_the_audio_alone(
    station_env: dict[str, str], tmp_path: Path
) -> None:
    http_port, grpc_port = free_port_pair(), free_port_pair()
    first = start_up(station_env, http_port, grpc_port)
    second: subprocess.Popen[str] | None = None
    engines_before: list[int] = []
    try:
        wait_for_listener(http_port, 60)
        assert wait_for_asrun(station_env, 2, 60), "nothing aired"
        engines_before = engine_pids(tmp_path)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # The control plane is gone; the engine plays on from its queue.
        time.sleep(4)
        wait_for_listener(http_port, 5)
        second = start_up(station_env, http_port, grpc_port)
        aired = len(asrun(station_env))
        assert wait_for_asrun(station_env, aired + 1, 30), "the new control plane did not carry on"
        assert engines_before
        assert engine_pids(tmp_path) == engines_before  # adopted, not started twice
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        outputs = []
        for proc in (first, second):
            if proc is None:
                continue
            if proc.poll() is None:
                proc.kill()
            outputs.append(proc.communicate(timeout=10)[0])
        for pid in engine_pids(tmp_path):
            os.kill(pid, signal.SIGKILL)
    log = outputs[-1]
    assert "adopted" in log

    # Each timeline entry aired once: nothing replayed after the restart.
    rows = asrun(station_env)
    entries = [row["timeline_entry_id"] for row in rows if row.get("timeline_entry_id")]
    assert entries
    assert len(entries) == len(set(entries))

    # The recording over the whole run has no silent gap.
    recordings = sorted((tmp_path / "rec").rglob("*.wav"))  # where the station file says
    assert recordings
    audio = []
    for path in recordings:
        with wave.open(str(path)) as wav:
            raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            audio.append(raw.reshape(-1, 2)[:, 0])
    joined = np.concatenate(audio)
    start = int(np.flatnonzero(np.abs(joined) > 1000)[0])
    window = 4800  # 100 ms
    usable = (len(joined) - start) // window * window
    peaks = np.abs(joined[start : start + usable]).reshape(-1, window).max(axis=1)
    assert peaks[:-10].min() > 1000, "a silent 100 ms block in the recording"
