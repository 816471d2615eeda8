"""After an import the station is on air as AzuraCast had it: the whole station
(planner, executor, engine, store) on one virtual clock (tests/simulation), started
from the imported database five minutes before the imported schedule's local start.

The AzuraCast fixture's "Late Night Blues" plays daily from 22:00 to 02:00 in
America/Chicago; general rotation (the imported default clock) plays before it.
The run must show the rotation, then that playlist from 22:00:00 station time, no
silence, and an as-run log that agrees with the audio.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from grimnir.importers import apply
from grimnir.importers.azuracast import read_backup
from grimnir.store import create_engine, session_factory
from grimnir.store.models import Playlist, Show, Station, TimelineEntry
from tests.simulation._checks import report
from tests.simulation._scenario import Scenario
from tests.simulation._sim import Sessions, Simulation

pytestmark = [pytest.mark.mariadb]

CHICAGO = ZoneInfo("America/Chicago")
SHOW_START = datetime(2030, 3, 3, 22, 0, tzinfo=CHICAGO)
"""A Sunday: the schedule's 22:00 in the station's zone (04:00 UTC on Monday)."""
ORIGIN = SHOW_START - timedelta(minutes=5)
LATE_NIGHT = "Late Night Blues"


class ImportedStation(Simulation):
    """A simulation of the station an AzuraCast backup holds, imported as a user does."""

    def __init__(self, url: str, work: Path, backup: Path) -> None:
        scenario = Scenario(name="imported", hours=0.25, plan_hours=2.0, replan_every=600.0)
        super().__init__(scenario, url, work, origin=ORIGIN.astimezone(UTC))
        self.work = work
        self.backup = backup
        self.short_name = ""

    async def programme(self, sessions: Sessions) -> None:
        [snapshot] = read_backup(self.backup, self.work / "read", station="grimnir_fm")
        done = await apply(
            snapshot,
            sessions,
            media_dir=self.work / "media",
            artwork_dir=self.work / "artwork",
        )
        assert done.state == "done", done.parts
        self.short_name = done.plan.short_name
        async with sessions() as session:
            found = await session.scalar(
                select(Station.id).where(Station.short_name == self.short_name)
            )
        assert found is not None
        self.station_id = found


async def test_the_imported_schedule_plays_at_its_local_time(backup: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'station.db'}"
    sim = ImportedStation(url, tmp_path, backup)
    outcome = await sim.run()
    assert report(outcome) == {"silence": [], "hard": [], "asrun": [], "log": []}, (
        report(outcome),
        outcome.notes,
    )

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            late = await session.scalar(select(Playlist).where(Playlist.name == LATE_NIGHT))
            assert late is not None
            show = await session.scalar(select(Show).where(Show.playlist_id == late.id))
            assert show is not None
            entries = {
                e.id: e
                for e in await session.scalars(
                    select(TimelineEntry).where(TimelineEntry.station_id == sim.station_id)
                )
            }
    finally:
        await engine.dispose()

    start = SHOW_START.astimezone(UTC)
    aired = [
        (row.started_at, entries[row.timeline_entry_id])
        for row in outcome.asrun
        if row.timeline_entry_id in entries
    ]
    before = [e for at, e in aired if at < start]
    after = [(at, e) for at, e in aired if at >= start]
    assert before, "the general rotation plays before the schedule"
    assert all(e.show_id is None for e in before), [e.title for e in before]
    assert after, "the schedule's playlist plays from its start"
    first_at, first = after[0]
    assert first.starts_at == start, "the schedule's first item is planned at 22:00:00"
    assert abs(first_at - start) < timedelta(seconds=1 / 48_000), first_at
    assert (first.show_id, first.playlist_id) == (show.id, late.id)
    assert all(e.show_id == show.id for _, e in after)
