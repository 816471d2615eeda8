"""Timeline build cost: 48 h and 480 h for one station on a 100 000-track library.

The station (SQLite file database) has a default clock of smart blocks, a
stopset and a hard top-of-hour jingle. The one-time library load
(``TrackLibrary.load``) is timed on its own; the builds are then given the
loaded library, as a long-running planner would. Printed: the library load,
48 h and 480 h as a what-if (``simulate``: load rules + plan, no writes) and as
a full ``build`` (plus deleting and inserting the entries), and the ratio
480 h / 48 h (≈ 10 when the planner scales linearly). Goal: 48 h < 50 ms.
When the goal is missed the hot spots of a 48 h simulate are printed.

The stored library (about 75 s to write 100 000 rows) is kept as a SQLite
file in the system temp directory, keyed by (tracks, seed, layout version);
each run works on a fresh copy of it, so builds never see an earlier run's
entries. Delete ``grimnir-bench-planner-*.db`` there to rebuild it.

Usage: python benchmarks/planner.py [tracks] [repeats]
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select
from tests.planner._library import make_library, store_library

from grimnir.domain import SlotKind, Timing
from grimnir.planner.builder import build, simulate
from grimnir.planner.tracks import TrackLibrary
from grimnir.store import create_engine, session_factory, upgrade
from grimnir.store.models import (
    Clock,
    ClockSlot,
    Playlist,
    PlaylistItem,
    SmartBlock,
    Station,
)

GOAL_MS = 50.0
START = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # the window crosses a DST change
MIN = 60_000
SEED = 1
LAYOUT = 1  # bump when ``setup`` changes, so a stale cached database is not reused


def cache_path(n: int) -> Path:
    """Where the stored library of ``n`` tracks is kept between runs."""
    return Path(tempfile.gettempdir()) / f"grimnir-bench-planner-{n}-s{SEED}-v{LAYOUT}.db"


async def setup(sessions: Any, n: int) -> uuid.UUID:
    station_id = uuid.uuid4()
    rows = make_library(n, seed=SEED)
    jingle = {
        **rows[0],
        "id": uuid.uuid4(),
        "sha256": "f" * 64,
        "title": "ID",
        "artist": "WGMR",
        "duration_ms": 8_000,
        "cue_in_ms": 0,
        "cue_out_ms": 8_000,
    }
    rows.append(jingle)
    async with sessions() as session, session.begin():
        session.add(
            Station(id=station_id, short_name="bench", name="Bench FM", timezone="Europe/Berlin")
        )
        await session.flush()
        await store_library(session, station_id, rows)
        rock, mix, ads = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        session.add(
            SmartBlock(
                id=mix,
                station_id=station_id,
                name="Mix",
                rules={"sort": "random"},
                target_duration_ms=None,
            )
        )
        session.add(
            SmartBlock(
                id=rock,
                station_id=station_id,
                name="Rock & Pop",
                fallback_block_id=mix,
                rules={
                    "groups": [
                        [
                            {"field": "genre", "modifier": "is", "value": "rock"},
                            {"field": "genre", "modifier": "is", "value": "pop"},
                        ],
                        [{"field": "year", "modifier": "greater than", "value": 1979}],
                    ],
                    "separation": {"artist": 90},
                },
            )
        )
        session.add(Playlist(id=ads, station_id=station_id, name="Ads", shuffle=True, jingle=True))
        await session.flush()
        for pos, row in enumerate(rows[1:7]):
            session.add(
                PlaylistItem(
                    playlist_id=ads,
                    position=pos,
                    media_id=row["id"],
                    overrides={"cue_out_ms": row["cue_in_ms"] + 30_000},
                )
            )
        clock = Clock(station_id=station_id, name="default")
        session.add(clock)
        await session.flush()
        slots = [
            (0, MIN // 2, SlotKind.HARD_ITEM, Timing.HARD, {"media_id": jingle["id"]}),
            (
                MIN // 2,
                27 * MIN + MIN // 2,
                SlotKind.SMART_BLOCK,
                Timing.SOFT,
                {"smart_block_id": rock},
            ),
            (28 * MIN, 3 * MIN, SlotKind.STOPSET, Timing.SOFT, {"playlist_id": ads}),
            (31 * MIN, 29 * MIN, SlotKind.SMART_BLOCK, Timing.SOFT, {"smart_block_id": mix}),
        ]
        for pos, (offset, length, kind, timing, ref) in enumerate(slots):
            session.add(
                ClockSlot(
                    clock_id=clock.id,
                    position=pos,
                    offset_ms=offset,
                    duration_ms=length,
                    kind=kind,
                    timing=timing,
                    params={"jingle": True} if pos == 0 else {},
                    **ref,
                )
            )
    return station_id


async def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


async def main(n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        cached = cache_path(n)
        if cached.exists():
            shutil.copyfile(cached, db)
        engine = create_engine(f"sqlite:///{db}")
        try:
            await upgrade(engine)
            sessions = session_factory(engine)
            if cached.exists():
                async with sessions() as session:
                    station_id = await session.scalar(
                        select(Station.id).where(Station.short_name == "bench")
                    )
                print(f"library of {n} tracks: copy of {cached}")
            else:
                began = time.perf_counter()
                station_id = await setup(sessions, n)
                print(f"library of {n} tracks stored in {time.perf_counter() - began:.1f} s")
                await engine.dispose()
                part = cached.with_suffix(".part")
                shutil.copyfile(db, part)
                part.replace(cached)
            if station_id is None:
                raise SystemExit(f"{cached} has no bench station: delete it and run again")

            async def load() -> TrackLibrary:
                async with sessions() as session:
                    return await TrackLibrary.load(session, station_id)

            load_ms, library = await timed(load, 1)
            print(f"one-time library load      {load_ms:9.1f} ms ({len(library)} READY tracks)")

            def what_if(hours: int) -> Any:
                return lambda: simulate(
                    sessions, station_id, START, hours, now=START, library=library
                )

            def real(hours: int) -> Any:
                return lambda: build(sessions, station_id, START, hours, now=START, library=library)

            await what_if(48)()  # warm the library's rule masks and caches once
            sim48, report = await timed(what_if(48), repeats)
            sim480, _ = await timed(what_if(480), max(1, repeats // 3))
            b48, _ = await timed(real(48), repeats)
            b480, _ = await timed(real(480), max(1, repeats // 3))
            print(f"simulate  48 h             {sim48:9.1f} ms ({len(report.entries)} entries)")
            print(f"simulate 480 h             {sim480:9.1f} ms")
            print(f"build     48 h (+ write)   {b48:9.1f} ms")
            print(f"build    480 h (+ write)   {b480:9.1f} ms")
            print(
                f"ratio 480/48: simulate {sim480 / sim48:.1f}, build {b480 / b48:.1f} (linear ≈ 10)"
            )
            verdict = "met" if sim48 < GOAL_MS else "MISSED"
            print(f"goal 48 h < {GOAL_MS:.0f} ms (plan, library loaded): {verdict}")
            if sim48 >= GOAL_MS:
                profile = cProfile.Profile()
                profile.enable()
                await what_if(48)()
                profile.disable()
                text = io.StringIO()
                pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
                print(text.getvalue())
        finally:
            await engine.dispose()


if __name__ == "__main__":
    tracks = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    asyncio.run(main(tracks, repeats))
