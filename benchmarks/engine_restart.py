"""How long a station is off air when its engine is killed, against a bare engine start.

A station is set up the way a user does it (``grimnir station add``, a scanned
library of tone tracks, ``grimnir up`` on free loopback ports in a temporary
data dir), and once it is on air its engine process (found in ``/proc`` by its
command line, as the scripts and tests do) is killed with ``SIGKILL``
``--kills`` times. Each kill is timed from the ``kill`` to the moment the
station is **on air** again, which means both of these, observed from outside:

- the new engine's ``GetStatus`` (gRPC, another pid) shows a current automation
  item whose ``position_ms`` advances from one poll to the next (polled every
  20 ms over a channel of its own, ``Probe``; the time is that of the first of
  those two polls);
- a player on the engine's own HTTP mount (it reconnects every 50 ms, as
  players do when the stream drops) receives MP3 audio that decodes to a
  frame peaking above -40 dBFS (the tracks are tones at about -10 dBFS; a new
  engine with nothing to play sends digital silence).

The later of the two is "on air". Between kills the station settles: back on
air for ``--settle`` seconds (so kills come every few seconds, and the
supervisor's crash-loop rules apply as they would to an engine crashing that
often on air). The head of each recording file a new engine starts is
measured too (silence before its first sound, in the WAV recording).

Baselines, measured in the same run: the bare process start (``python -c
"import grimnir.engine.runtime"``) and a cold start of ``grimnir engine``
alone with the same station file (start → first answered ``GetStatus``).
Prints each kill, the median and p90, the median as a ratio to each baseline,
and the goal (median ≤ 1.5 s). With ``--phases`` it also prints when the
control plane's and the engine's log lines about the restart arrived after
each kill (the supervisor's and executor's steps; where the time goes).

The station, ``grimnir up`` and the process helpers are those of the realtime
fault tests (``tests/_onair.py``). Run: ``.venv/bin/python
benchmarks/engine_restart.py [--kills 20]``. Loopback only; every process it
starts is ended when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import grpc
import grpc.aio
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests._onair import (  # noqa: E402 — the repository's own test helpers
    MOUNT,
    Station,
    Up,
    end_group,
    end_popen,
    engine_pids,
    free_port,
    http_head,
    make_station,
)

EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
TRACKS = 4
TRACK_S = 90.0
SOUND_DBFS = -40.0
"""A decoded MP3 frame peaking above this is sound (the tones peak at about -10 dBFS)."""
STATUS_EVERY_S = 0.02
PLAYER_RETRY_S = 0.05
GOAL_S = 1.5
PHASES = {
    "exit seen (supervisor)": "engine.exited",
    "restart decided": "engine.restarting",
    "engine banner (serving)": "engine for ",
    "engine.started (supervisor)": "engine.started",
    "executor: engine is new": "the engine is new",
    "executor: item resumed": "resumed entry",
    "engine: item.started": "item.started",
}
"""Log lines of ``grimnir up`` and its engine that mark a restart's steps."""


def restart_station(root: Path) -> Station:
    """The shared on-air station (``tests._onair``) with a WAV recording of its mount
    and the example's DSP chain, and a scanned library of ``TRACKS`` tones."""
    example = yaml.safe_load(EXAMPLE.read_text())
    return make_station(
        root,
        tracks=TRACKS,
        track_s=TRACK_S,
        emergency=False,
        outputs=[{"type": "recording", "path": str(root / "rec"), "format": "wav"}],
        extra={"dsp_graph": example["dsp_graph"]},
    )


# -- observers ------------------------------------------------------------------------------


class Player:
    """A listener on the engine's HTTP mount that reconnects every ``PLAYER_RETRY_S``
    when the stream drops, decoding what arrives; keeps when sound arrived."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sound: list[float] = []
        """Arrival times (monotonic) of decoded frames with sound, one per read at most."""
        self.connects: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)
        self._thread.start()

    def first_sound(self, after: float) -> float | None:
        """When sound first arrived on a connection made after ``after``."""
        later = [c for c in self.connects if c > after]
        if not later:
            return None
        return next((t for t in self.sound if t > later[0]), None)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, av.error.FFmpegError):
                self._listen()
            self._stop.wait(PLAYER_RETRY_S)

    def _listen(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(f"GET {MOUNT} HTTP/1.0\r\n\r\n".encode())
            status, _, data = http_head(sock)
            if not status.startswith("HTTP/1.0 200"):
                return
            self.connects.append(time.monotonic())
            codec = av.CodecContext.create("mp3", "r")
            limit = 10 ** (SOUND_DBFS / 20)
            while not self._stop.is_set():
                if data:
                    loud = False
                    for packet in codec.parse(data):
                        for frame in codec.decode(packet):
                            loud = loud or float(np.abs(frame.to_ndarray()).max()) > limit
                    if loud:
                        self.sound.append(time.monotonic())
                data = sock.recv(16384)
                if not data:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def phases(up: Up, since: float, until: float) -> dict[str, float]:
    """Seconds after ``since`` of the first line of each phase ``up`` printed, up to
    ``until`` (by the arrival time that leads each of its lines)."""
    found: dict[str, float] = {}
    for entry in list(up.lines):
        stamp, _, line = entry.partition(" ")
        at = float(stamp)
        if since <= at <= until:
            for name, needle in PHASES.items():
                if name not in found and needle in line:
                    found[name] = at - since
    return found


class Probe:
    """``GetStatus`` over a channel of its own, independent of the code measured: it
    retries a refused connection every 20 ms, from a subchannel no other channel in
    this process shares, and a call waits (up to 250 ms) for the engine to serve, so
    it is answered the moment it does."""

    OPTIONS = (
        ("grpc.initial_reconnect_backoff_ms", 20),
        ("grpc.min_reconnect_backoff_ms", 20),
        ("grpc.max_reconnect_backoff_ms", 20),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_retries", 0),
    )

    def __init__(self, address: str, station_id: str) -> None:
        self.address = address
        self.station_id = station_id
        self._channel: grpc.aio.Channel | None = None

    async def status(self) -> dict[str, object] | None:
        """The engine's status, or None while nothing answers."""
        from google.protobuf.json_format import MessageToDict

        from grimnir.engine.v1 import engine_pb2 as pb
        from grimnir.engine.v1 import engine_pb2_grpc as pb_grpc

        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=self.OPTIONS)
        stub = pb_grpc.EngineStub(self._channel)
        try:
            reply = await stub.GetStatus(
                pb.GetStatusRequest(station_id=self.station_id), timeout=0.25, wait_for_ready=True
            )
        except grpc.aio.AioRpcError:
            return None
        status: dict[str, object] = MessageToDict(reply.status)
        return status

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


async def on_air_by_status(
    probe: Probe, not_pid: int | None, timeout_s: float
) -> tuple[float, float]:
    """When ``GetStatus`` of an engine other than ``not_pid`` first answered, and when
    it first showed a current item whose position then advanced (monotonic times of
    the polls that asked)."""
    first: tuple[int, str, float, float] | None = None
    answered: float | None = None
    async with asyncio.timeout(timeout_s):
        while True:
            asked = time.monotonic()
            status = await probe.status()
            if status is not None and int(float(str(status["pid"]))) != not_pid:
                answered = time.monotonic() if answered is None else answered
            current = status.get("current") if status is not None else None
            if status is not None and isinstance(current, dict):
                pid = int(float(str(status["pid"])))
                if pid != not_pid:
                    seen = (pid, str(current["item_id"]), float(current["position_ms"]), asked)
                    if first is None or first[:2] != seen[:2]:
                        first = seen
                    elif seen[2] > first[2]:
                        assert answered is not None
                        return answered, first[3]
            await asyncio.sleep(STATUS_EVERY_S)


async def back_on_air(
    probe: Probe, player: Player, since: float, not_pid: int | None, timeout_s: float
) -> tuple[float, float, float]:
    """Seconds from ``since`` until (the new engine answers, the status shows the item
    advancing, the player hears it); on air is the later of the last two."""
    answered, status_at = await on_air_by_status(probe, not_pid, timeout_s)
    async with asyncio.timeout(timeout_s):
        while (heard := player.first_sound(since)) is None:
            await asyncio.sleep(0.01)
    return answered - since, status_at - since, heard - since


# -- baselines ------------------------------------------------------------------------------


def import_cost(runs: int = 5) -> float:
    """Median seconds of ``python -c "import grimnir.engine.runtime"``."""
    times = []
    for _ in range(runs):
        begun = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import grimnir.engine.runtime"], check=True, timeout=120
        )
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


async def cold_start(root: Path, runs: int = 3) -> float:
    """Median seconds from starting ``grimnir engine`` alone (this station's
    ``station.yaml``, its recording moved aside) to its first answered ``GetStatus``."""
    alone = yaml.safe_load((root / "station.yaml").read_text())
    alone["mounts"][0]["outputs"][1]["path"] = str(root / "rec-alone")
    path = root / "alone.yaml"
    path.write_text(yaml.safe_dump(alone, sort_keys=False))
    station = str(alone["station"]["id"])
    times = []
    for _ in range(runs):
        grpc = f"127.0.0.1:{free_port()}"
        argv = [sys.executable, "-m", "grimnir", "engine", "--config", str(path)]
        argv += ["--grpc", grpc, "--http", f"127.0.0.1:{free_port()}"]
        probe = Probe(grpc, station)
        begun = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            async with asyncio.timeout(120):
                while await probe.status() is None:
                    await asyncio.sleep(0.01)
            times.append(time.perf_counter() - begun)
        finally:
            await probe.close()
            end_popen(proc, grace_s=20.0)
    return statistics.median(times)


# -- the recording --------------------------------------------------------------------------


def head_silence(path: Path) -> float | None:
    """Seconds of silence (below -50 dBFS) at the head of a WAV recording file."""
    try:
        with wave.open(str(path)) as wav:
            rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(rate * 10), dtype="<i2")
    except (OSError, EOFError, wave.Error):
        return None
    loud = np.flatnonzero(np.abs(pcm) > 32768 * 10 ** (-50 / 20))
    return None if len(loud) == 0 else float(loud[0] // wav.getnchannels()) / rate


# -- the run --------------------------------------------------------------------------------


@dataclass
class Kill:
    seconds: float
    phases: dict[str, float]
    head_s: float | None = None


async def run(kills: int, settle_s: float, root: Path) -> tuple[list[Kill], float, float]:
    # NOTE: SIGTERM ends the run like Ctrl-C: through the finally below, so nothing stays
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    station = restart_station(root)
    station_id = str(yaml.safe_load((root / "station.yaml").read_text())["station"]["id"])
    print("baseline: importing the engine runtime …", flush=True)
    imports = import_cost()
    print("baseline: cold starts of the engine alone …", flush=True)
    cold = await cold_start(root)
    up = Up(station)
    probe = Probe(f"127.0.0.1:{up.grpc_port}", station_id)
    player = Player(up.stream_port)
    results: list[Kill] = []
    try:
        await asyncio.to_thread(up.wait_ready, 120)
        await back_on_air(probe, player, time.monotonic() - 3600, None, 120)
        for index in range(kills):
            await asyncio.sleep(settle_s)
            pids = engine_pids(root)
            if len(pids) != 1:
                raise RuntimeError(f"expected one engine, found {pids}:\n{up.tail()}")
            (pid,) = pids
            recordings = set((root / "rec").rglob("*.wav"))
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            try:
                answered_s, status_s, heard_s = await back_on_air(probe, player, killed, pid, 150)
            except TimeoutError:
                raise RuntimeError(f"kill {index + 1}: not back on air:\n{up.tail()}") from None
            seconds = max(status_s, heard_s)
            await asyncio.sleep(0.3)  # the last phase lines arrive
            kill = Kill(seconds, phases(up, killed, killed + seconds + 0.3))
            kill.phases["probe: the new engine answers"] = answered_s
            kill.phases["status: the item advances"] = status_s
            kill.phases["player: first sound"] = heard_s
            results.append(kill)
            print(f"kill {index + 1:2d}: back on air after {seconds:.3f} s", flush=True)
            await asyncio.sleep(1.5)  # the new recording file has its first seconds
            fresh = sorted(set((root / "rec").rglob("*.wav")) - recordings)
            if fresh:
                kill.head_s = head_silence(fresh[0])
    finally:
        player.close()
        await probe.close()
        up.stop()
        for pid in engine_pids(root):
            end_group(pid)
    return results, imports, cold


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def report(results: list[Kill], imports: float, cold: float, phases: bool) -> None:
    times = [k.seconds for k in results]
    median = statistics.median(times)
    if phases:
        print("\nwhere the time goes (median seconds after the kill; kills that logged it):")
        probed = ["probe: the new engine answers", "status: the item advances"]
        for name in [*PHASES, *probed, "player: first sound"]:
            seen = [k.phases[name] for k in results if name in k.phases]
            if seen:
                print(f"  {name:30s} {statistics.median(seen):6.3f} s  ({len(seen)})")
    heads = [k.head_s for k in results if k.head_s is not None]
    print()
    print(f"import grimnir.engine.runtime (baseline):  {imports:.3f} s")
    print(f"engine cold start to GetStatus (baseline): {cold:.3f} s")
    print(f"kill -9 → on air again, median of {len(times)}:     {median:.3f} s")
    print(f"kill -9 → on air again, p90:               {p90(times):.3f} s")
    print(f"ratio to the bare import:                  {median / imports:.2f}")
    print(f"ratio to the engine's cold start:          {median / cold:.2f}")
    if heads:
        print(f"silence at the head of a new recording:    {statistics.median(heads):.3f} s")
    verdict = "met" if median <= GOAL_S else "NOT met"
    print(f"goal: median ≤ {GOAL_S} s                      {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds on air between kills")
    parser.add_argument("--phases", action="store_true", help="print the restart's steps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grimnir-restart-") as tmp:
        results, imports, cold = asyncio.run(run(args.kills, args.settle, Path(tmp)))
    report(results, imports, cold, args.phases)


if __name__ == "__main__":
    main()
