"""Station placement across a cluster: balance and movement, against modulo hashing.

For ``--stations`` stations (default 100) on 3 and 4 equal instances, over
``--sets`` random sets of station and instance ids, three placements are
measured in the same run:

- **modulo** (the baseline): ``hash(station) mod instances``, what a first
  attempt would do;
- **rendezvous**: weighted rendezvous hashing alone (``max_load=None``);
- **grimnir**: :func:`grimnir.cluster.place`, rendezvous hashing with each
  instance's load bounded at ``DEFAULT_MAX_LOAD`` times its share.

Printed per placement: **balance**, max/mean stations per instance (mean and
worst over the sets; 1.0 is perfect; goal ≤ 1.25), as a ratio to modulo's;
**join**, the share of stations that change instance when a 4th instance joins
three (ideal 25 %: only those the newcomer takes); **leave**, the share that
move when one of four leaves, and how many of those were not the leaver's
(ideal 0); the shares of instances weighted 1, 2 and 3 (ideal 17/33/50 %); and
the time one placement takes, as a ratio to modulo's.

It measures placement only: the time a station takes to come back on air after
its instance dies (lease time to live, detection, handover to the executor and
engine of the new owner) belongs to the cluster's wiring into ``grimnir up``
and is measured there.

Run: ``.venv/bin/python benchmarks/cluster.py [--stations 100 --sets 200]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from grimnir.cluster import DEFAULT_MAX_LOAD, Member, place, station_resource

Placement = Callable[[Sequence[str], Sequence[Member]], dict[str, uuid.UUID]]


def modulo(stations: Sequence[str], members: Sequence[Member]) -> dict[str, uuid.UUID]:
    """The baseline: a stable hash of the station, modulo the number of instances."""
    ordered = sorted(members, key=lambda m: m.id.int)
    return {
        s: ordered[
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
            % len(ordered)
        ].id
        for s in stations
    }


def rendezvous(stations: Sequence[str], members: Sequence[Member]) -> dict[str, uuid.UUID]:
    return place(stations, members, max_load=None)


def grimnir(stations: Sequence[str], members: Sequence[Member]) -> dict[str, uuid.UUID]:
    return place(stations, members)


PLACEMENTS: dict[str, Placement] = {
    "modulo": modulo,
    "rendezvous": rendezvous,
    "grimnir": grimnir,
}


def _ids(rng: random.Random, count: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


def _members(rng: random.Random, capacities: Sequence[float]) -> list[Member]:
    return [
        Member(id=i, name=f"node-{n}", capacity=c)
        for n, (i, c) in enumerate(zip(_ids(rng, len(capacities)), capacities, strict=True))
    ]


def _balance(placement: dict[str, uuid.UUID], members: Sequence[Member]) -> float:
    counts = Counter(placement.values())
    loads = [counts.get(m.id, 0) for m in members]
    return max(loads) / statistics.fmean(loads)


def measure(stations_count: int, sets: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    results: dict[str, dict[str, list[float]]] = {
        name: {k: [] for k in ("bal3", "bal4", "join", "leave", "leave_other", "w1", "w2", "w3")}
        for name in PLACEMENTS
    }
    for _ in range(sets):
        stations = [station_resource(s) for s in _ids(rng, stations_count)]
        four = _members(rng, [1.0] * 4)
        weighted = _members(rng, [1.0, 2.0, 3.0])
        gone = four[rng.randrange(4)]
        for name, fn in PLACEMENTS.items():
            r = results[name]
            three_placed = fn(stations, four[:3])
            four_placed = fn(stations, four)
            r["bal3"].append(_balance(three_placed, four[:3]))
            r["bal4"].append(_balance(four_placed, four))
            r["join"].append(sum(three_placed[s] != four_placed[s] for s in stations))
            left = fn(stations, [m for m in four if m is not gone])
            moved = [s for s in stations if four_placed[s] != left[s]]
            r["leave"].append(len(moved))
            r["leave_other"].append(sum(four_placed[s] != gone.id for s in moved))
            counts = Counter(fn(stations, weighted).values())
            for key, member in zip(("w1", "w2", "w3"), weighted, strict=True):
                r[key].append(counts.get(member.id, 0))
    summary: dict[str, dict[str, float]] = {}
    for name, r in results.items():
        summary[name] = {k: statistics.fmean(v) for k, v in r.items()}
        summary[name]["bal3_worst"] = max(r["bal3"])
        summary[name]["bal4_worst"] = max(r["bal4"])
    return summary


def timing(stations_count: int, repeats: int, seed: int) -> dict[str, float]:
    """Median microseconds per placement of ``stations_count`` on four instances."""
    rng = random.Random(seed)
    stations = [station_resource(s) for s in _ids(rng, stations_count)]
    four = _members(rng, [1.0] * 4)
    times: dict[str, list[float]] = {name: [] for name in PLACEMENTS}
    for _ in range(repeats):
        for name, fn in PLACEMENTS.items():
            started = time.perf_counter()
            fn(stations, four)
            times[name].append((time.perf_counter() - started) * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.stations
    summary = measure(n, args.sets, args.seed)
    times = timing(n, args.repeats, args.seed)
    base = summary["modulo"]
    print(
        f"{n} stations, {args.sets} random sets; grimnir bounds load at "
        f"{DEFAULT_MAX_LOAD} x share\n"
    )
    print("balance = max/mean stations per instance (mean, worst; ratio to modulo's mean)")
    for name, s in summary.items():
        print(
            f"  {name:<11} 3 instances {s['bal3']:.3f} (worst {s['bal3_worst']:.2f}, "
            f"x{s['bal3'] / base['bal3']:.2f})   4 instances {s['bal4']:.3f} "
            f"(worst {s['bal4_worst']:.2f}, x{s['bal4'] / base['bal4']:.2f})"
        )
    print("\nmovement (share of stations that change instance; ratio to modulo's)")
    for name, s in summary.items():
        print(
            f"  {name:<11} 4th joins {s['join'] / n:6.1%} (x{s['join'] / base['join']:.2f}, "
            f"ideal 25.0%)   one of 4 leaves {s['leave'] / n:6.1%} "
            f"(x{s['leave'] / base['leave']:.2f}; not the leaver's: "
            f"{s['leave_other'] / n:.1%}, ideal 0)"
        )
    print("\ncapacity 1 : 2 : 3 (ideal 16.7% : 33.3% : 50.0%)")
    for name, s in summary.items():
        print(f"  {name:<11} {s['w1'] / n:5.1%} : {s['w2'] / n:5.1%} : {s['w3'] / n:5.1%}")
    print(f"\none placement on 4 instances (median of {args.repeats}; ratio to modulo's)")
    for name, t in times.items():
        print(f"  {name:<11} {t:8.0f} µs (x{t / times['modulo']:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
