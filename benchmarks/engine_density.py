"""How many realtime engines fit on this machine, and what one costs.

Runs N engine processes at once, each a realtime station: a looping playlist
with 2 s crossfades, the example station's full DSP chain and MP3 128 kbps
into a null output, for ``--seconds`` (default 60). For each N it prints late
blocks, CPU % of one core and peak RSS per engine, and stops at the first N
with late blocks. The baseline in the same run is one process that only
imports the engine and idles (its RSS is the interpreter + libraries floor).

Goals: one engine ≤ 2.6 % of a core and ≤ 115 MiB RSS (Liquidsoap 2.1.3 on a
comparable station here: 3.3 % and 231 MiB); ≥ 60 engines on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP_SECONDS = 5
sys.path.insert(0, str(HERE))


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(folder: str, seconds: float, idle: bool, start_at: float, burst: int) -> None:
    from grimnir.config.station import load_station_config
    from grimnir.domain.catalog import AudioFormat
    from grimnir.domain.fades import FadeCurve
    from grimnir.engine.clock import RealtimeClock
    from grimnir.engine.engine import Engine, EngineOptions, OutputBinding
    from grimnir.engine.outputs import NullOutput
    from grimnir.engine.render import PlaylistFeeder, playlist_files

    if idle:
        time.sleep(seconds)
        print(json.dumps({"rss_mib": peak_rss_mib()}))
        return
    station = load_station_config(HERE.parent / "examples" / "station-wgmr.yaml")
    options = EngineOptions(
        dsp_graph=station.dsp_graph, failover=station.failover, realtime=True, process_blocks=burst
    )
    engine = Engine(RealtimeClock(burst=burst), options)
    engine.add_output(OutputBinding(NullOutput(), AudioFormat.MP3.value, 128))
    feeder = PlaylistFeeder(
        playlist_files(Path(folder)), 2.0, FadeCurve.S_CURVE, loop=True, analyze=False
    )
    feeder.top_up(engine)
    # NOTE: every engine starts together, after all have imported and set up, so
    # one engine's start-up never shows as another's late blocks.
    time.sleep(max(0.0, start_at - time.time()))
    underruns = 0
    warm_up = WARM_UP_SECONDS * 50
    late_at_start = 0
    for block in range(round((seconds + WARM_UP_SECONDS) * 50)):
        if block == warm_up:
            # NOTE: measure steady state: the first seconds include every engine
            # filling its decode-ahead buffers at the same moment.
            late_at_start = engine.clock.late_blocks
            cpu0, wall0 = time.process_time(), time.perf_counter()
        if not engine.clock.wait():
            break
        feeder.top_up(engine)
        engine.step()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    current = engine.automation.current
    if current is not None:
        underruns = current.source.underruns
    late = engine.clock.late_blocks - late_at_start
    engine.close()
    print(
        json.dumps(
            {
                "late_blocks": late,
                "cpu_percent": 100 * cpu / wall,
                "rss_mib": peak_rss_mib(),
                "underruns": underruns,
            }
        )
    )


def run(
    n: int, folder: str, seconds: float, idle: bool = False, burst: int = 10
) -> list[dict[str, float]]:
    start_at = time.time() + 5.0 + 0.6 * n  # start-up takes ~0.5 CPU s per engine
    period = burst * 0.020
    procs = []
    for index in range(n):
        # NOTE: engines started one after another wake at different phases of the
        # burst period, as a supervisor starting stations does; all run together.
        phase = period * index / n
        cmd = [
            sys.executable,
            __file__,
            "--child",
            folder,
            "--seconds",
            str(seconds),
            "--start-at",
            str(start_at + phase),
            "--burst",
            str(burst),
        ]
        if idle:
            cmd.append("--idle")
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"engine process failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--counts", default="1,8,16,32,48,60,72,96")
    parser.add_argument("--child")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument(
        "--burst",
        type=int,
        default=10,
        help="blocks rendered per wake-up (10 = 200 ms ahead of wall time)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.idle, args.start_at, args.burst)
        return
    from engine_render import corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus(Path(tmp), 6, 90.0)
        floor = run(1, tmp, 3.0, idle=True)[0]
        print(f"baseline: interpreter + engine imports, idle: {floor['rss_mib']:.1f} MiB RSS")
        print(
            f"realtime clock: {args.burst} blocks per wake-up ({args.burst * 20} ms ahead); a "
            f"late block started more than that behind; {WARM_UP_SECONDS} s warm-up not counted"
        )
        print(
            f"{'engines':>8} {'late blocks':>12} {'CPU %/engine':>13} {'max RSS MiB':>12} "
            f"{'CPU % total':>12}"
        )
        best = 0
        for n in (int(c) for c in args.counts.split(",")):
            results = run(n, tmp, args.seconds, burst=args.burst)
            late = sum(r["late_blocks"] for r in results)
            cpu = sum(r["cpu_percent"] for r in results) / n
            rss = max(r["rss_mib"] for r in results)
            print(f"{n:>8} {late:>12} {cpu:>13.2f} {rss:>12.1f} {cpu * n:>12.1f}", flush=True)
            if late:
                break
            best = n
        cores = os.cpu_count() or 1
        print(f"largest N with zero late blocks: {best} (on {cores} cores; goal ≥ 60)")


if __name__ == "__main__":
    main()
