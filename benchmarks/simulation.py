"""Whole-station simulation speed: what a simulated week costs.

Runs a scenario from ``tests/simulation/scenarios`` (planner, executor, engine,
bus and store on one virtual clock, its faults included) and, as the baseline
measured in the same run, the engine alone playing the same library for one
station hour with the same options (no control plane, no faults). Prints:

* × realtime of the scenario, and of the engine alone;
* the whole station's cost per station hour as a ratio of the engine's alone
  (what the control plane and the faults add);
* the week this projects to (scenario seconds per station hour × 168), against
  the issue's goal of 60 minutes on 2 cores. ``make soak`` runs the real week
  (``seven-days.yaml``); ``--scenario`` runs that here too.

``--scenario PATH`` (default: six-hours.yaml).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.simulation._checks import report  # noqa: E402
from tests.simulation._scenario import load  # noqa: E402
from tests.simulation._sim import ORIGIN, TRACKS, Simulation, write_media  # noqa: E402

from grimnir.engine.audio import BLOCK, RATE  # noqa: E402
from grimnir.engine.clock import VirtualClock  # noqa: E402
from grimnir.engine.engine import Engine, EngineOptions  # noqa: E402
from grimnir.engine.mixing.automation import PlayItem  # noqa: E402

GOAL_WEEK_MIN = 60.0
SPAN_BLOCKS = 500


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def engine_alone(media: Path, seconds: float, options: EngineOptions) -> tuple[float, float]:
    """Wall and CPU seconds for the engine alone to play ``seconds`` of the library."""
    engine = Engine(VirtualClock(ORIGIN), options)
    songs = sorted(media.glob("song*.wav"))
    for n in range(int(seconds // 61) + 2):
        song = songs[n % TRACKS]
        engine.play(PlayItem(f"{n}", str(song), fade_in_ms=0, fade_out_ms=2000))
    total = round(seconds * RATE / BLOCK)
    wall0, cpu0 = time.perf_counter(), _cpu()
    try:
        engine.clock.wait()
        while engine.clock.block < total:
            engine.advance(min(SPAN_BLOCKS, total - engine.clock.block))
            engine.clock.wait()
    finally:
        engine.close()
    return time.perf_counter() - wall0, _cpu() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        type=Path,
        default=ROOT / "tests" / "simulation" / "scenarios" / "six-hours.yaml",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    scenario = load(args.scenario)
    hours = scenario.duration_s / 3600
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / "media"
        write_media(media)
        sim = Simulation(scenario, f"sqlite+aiosqlite:///{tmp}/sim.db", media)
        wall0, cpu0 = time.perf_counter(), _cpu()
        outcome = asyncio.run(sim.run())
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        found = report(outcome)
        base_wall, base_cpu = engine_alone(media, 3600.0, sim.options)
    problems = sum(len(v) for v in found.values())
    per_hour = wall / hours
    week_min = per_hour * 168 / 60
    print(f"scenario {scenario.name}: {hours:.1f} station hours, checks: {problems} problem(s)")
    print(
        f"  whole station   {wall:8.1f} s wall {cpu:8.1f} s CPU  "
        f"{scenario.duration_s / wall:7.0f}x realtime  {per_hour:6.1f} s per station hour"
    )
    print(
        f"  engine alone    {base_wall:8.1f} s wall {base_cpu:8.1f} s CPU  "
        f"{3600 / base_wall:7.0f}x realtime  {base_wall:6.1f} s per station hour (baseline)"
    )
    print(f"  whole station / engine alone, per station hour: {per_hour / base_wall:.2f}")
    print(
        f"  a week projects to {week_min:.1f} min: {week_min / GOAL_WEEK_MIN:.2f} of the "
        f"{GOAL_WEEK_MIN:.0f}-minute goal"
    )
    if problems:
        raise SystemExit(f"the scenario's checks found problems: {found}")


if __name__ == "__main__":
    main()
