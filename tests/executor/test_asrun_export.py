"""``grimnir asrun export``: the log of a real run, exported as CSV and JSON and read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from grimnir.bus import MemoryBus
from grimnir.domain import Timing
from grimnir.executor import export_rows, from_csv
from tests.executor._station import Sessions, VirtualStation, add_entry, add_media, write_tone


def grimnir(*args: str, db_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIMNIR_DATABASE_URL": db_url, "GRIMNIR_DATA_DIR": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "grimnir", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_export_round_trips_as_csv_and_json(
    sessions: Sessions,
    station_id: uuid.UUID,
    virtual: VirtualStation,
    bus: MemoryBus,
    db_url: str,
    tmp_path: Path,
) -> None:
    song = await add_media(
        sessions, station_id, write_tone(tmp_path / "s.wav", 3, 300), 'Ünïcode, "quoted"'
    )
    for start in (2, 5, 9):
        await add_entry(sessions, station_id, virtual.at(start), 3, media=song, timing=Timing.HARD)
    ex = virtual.executor(sessions, bus)
    await ex.start()
    try:
        await ex.wait_ready()
        await virtual.run_until(13)
    finally:
        await ex.close()
    async with sessions() as session:
        expected = await export_rows(session, station_id)
    assert len(expected) == 3

    station = str(station_id)
    as_csv = grimnir(
        "asrun", "export", "--station", station, "--format", "csv", db_url=db_url, home=tmp_path
    )
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0].startswith("id,started_at,ended_at,duration_ms")
    assert from_csv(as_csv.stdout) == expected
    as_json = grimnir(
        "asrun", "export", "--station", station, "--format", "json", db_url=db_url, home=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == expected
    assert [row["duration_ms"] for row in expected] == [3000, 3000, 3000]

    since = expected[1]["started_at"]
    window = grimnir(
        "asrun",
        "export",
        "--station",
        station,
        "--format",
        "json",
        "--since",
        since,
        "--until",
        expected[2]["started_at"],
        db_url=db_url,
        home=tmp_path,
    )
    assert [row["id"] for row in json.loads(window.stdout)] == [expected[1]["id"]]

    wrong = grimnir("asrun", "export", "--station", "nope", db_url=db_url, home=tmp_path)
    assert wrong.returncode == 1
    assert "no station with id or short name 'nope'" in wrong.stderr
    bad = grimnir(
        "asrun",
        "export",
        "--station",
        station,
        "--since",
        "yesterday",
        db_url=db_url,
        home=tmp_path,
    )
    assert bad.returncode == 1
    assert "not an ISO 8601 time" in bad.stderr
