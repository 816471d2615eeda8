"""How far a station's timeline runs without a hole (``/metrics``'s schedule horizon,
the ``ScheduleGap`` alert), read from stored entries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grimnir.domain import EntryKind, EntryStatus, Timing
from grimnir.services.timeline import filled_until
from grimnir.store.models import TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import ApiWorld, api_world

NOW = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
HORIZON = timedelta(hours=48)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


async def _entries(
    world: ApiWorld,
    station: uuid.UUID,
    spans: list[tuple[float, float]],
    status: EntryStatus = EntryStatus.PLANNED,
) -> None:
    """Entries over ``spans`` (minutes from NOW: start, end)."""
    async with world.ctx.sessions() as session, session.begin():
        for start, end in spans:
            session.add(
                TimelineEntry(
                    station_id=station,
                    seq=await allocate_timeline_seq(session, station),
                    starts_at=NOW + timedelta(minutes=start),
                    ends_at=NOW + timedelta(minutes=end),
                    kind=EntryKind.TRACK,
                    status=status,
                    timing=Timing.SOFT,
                    title=f"{start}-{end}",
                )
            )


async def _reach(world: ApiWorld) -> dict[str, float]:
    async with world.ctx.sessions() as session:
        found = await filled_until(session, NOW, HORIZON)
    names = {v: k for k, v in world.stations.items()}
    return {names[sid]: (until - NOW).total_seconds() / 60 for sid, until in found.items()}


async def test_the_filled_stretch_ends_at_the_first_hole(world: ApiWorld) -> None:
    wgmr, other = world.stations["wgmr"], world.stations["other"]
    # on air now, then back to back (overlaps from crossfades too) up to 120 min,
    # then a 5 min hole, then more
    await _entries(world, wgmr, [(-2, 3), (3, 60), (59.5, 120), (125, 200)])
    await _entries(world, wgmr, [(-60, -3)], EntryStatus.AIRED)  # aired: not ahead
    await _entries(world, other, [(10, 30)])  # begins with a hole
    assert await _reach(world) == {"wgmr": 120.0, "other": 0.0}


async def test_skipped_entries_leave_holes_and_the_horizon_caps(world: ApiWorld) -> None:
    wgmr = world.stations["wgmr"]
    await _entries(world, wgmr, [(0, 3000), (3000, 3100)])
    assert await _reach(world) == {"wgmr": 48 * 60.0}  # capped at the horizon
    other = world.stations["other"]
    await _entries(world, other, [(0, 10), (20, 30)])
    await _entries(world, other, [(10, 20)], EntryStatus.SKIPPED)
    assert (await _reach(world))["other"] == 10.0


async def test_a_station_with_nothing_ahead_is_absent(world: ApiWorld) -> None:
    assert await _reach(world) == {}
