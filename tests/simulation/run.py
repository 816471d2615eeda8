"""Run one scenario from the command line and print what the checks found.

python -m tests.simulation.run tests/simulation/scenarios/skips.yaml [--rows]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from tests.simulation._checks import report
from tests.simulation._scenario import load
from tests.simulation._sim import ORIGIN, Simulation, write_media


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--rows", action="store_true", help="print the as-run log")
    parser.add_argument(
        "--media", type=Path, default=Path(tempfile.gettempdir()) / "grimnir-sim-media"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scenario = load(args.scenario)
    write_media(args.media)
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulation(scenario, f"sqlite+aiosqlite:///{tmp}/sim.db", args.media)
        began = time.perf_counter()
        outcome = asyncio.run(sim.run())
        wall = time.perf_counter() - began
    print(
        f"{scenario.name}: {scenario.duration_s:.0f} s of station time in {wall:.1f} s "
        f"({scenario.duration_s / wall:.0f}x realtime)"
    )
    if args.rows:
        for row in outcome.asrun:
            start = (row.started_at - ORIGIN).total_seconds()
            end = None if row.ended_at is None else (row.ended_at - ORIGIN).total_seconds()
            print(
                f"  {start:9.2f} {end if end is None else round(end, 2)!s:>9} {row.layer:10} "
                f"{row.end_reason!s:24} {row.title}"
            )
    for note in outcome.notes:
        print("note:", note)
    for kind, problems in report(outcome).items():
        for problem in problems:
            print(f"{kind}: {problem}")


if __name__ == "__main__":
    main()
