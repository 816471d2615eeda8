"""``grimnir plan`` as a user runs it: scan a folder, build, show, check (embedded SQLite)."""

from __future__ import annotations

import json
import math
import struct
import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from grimnir.cli import app
from grimnir.cli._common import current_settings, with_session
from grimnir.store.models import TimelineEntry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
RATE = 8_000


def write_tone(path: Path, seconds: float, freq: float) -> None:
    """A real WAV file: a tone at half scale (the library scans and analyses it)."""
    frames = int(seconds * RATE)
    data = b"".join(
        struct.pack("<h", int(16_000 * math.sin(2 * math.pi * freq * i / RATE)))
        for i in range(frames)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(data)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "160")  # the table's rows on one line each
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result.output


def test_a_scanned_library_gets_the_default_rotation(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "station", "add", "--config", str(EXAMPLE))
    music = tmp_path / "music"
    music.mkdir()
    for i in range(6):
        write_tone(music / f"tone{i}.wav", 20 + 3 * i, 220 * (i + 1))
    run(runner, "library", "scan", str(music), "-s", "wgmr-fm", "-w", "1")

    report = json.loads(run(runner, "plan", "build", "-s", "wgmr-fm", "--hours", "1", "--json"))
    assert report["written"] is True
    assert report["counts"]["track"] >= 3600 // 40
    assert report["errors"] == []

    listed = json.loads(run(runner, "plan", "show", "-s", "wgmr-fm", "--hours", "1", "--json"))
    assert len(listed) >= report["planned"] - 2
    assert all(e["kind"] == "track" and e["source"] for e in listed)
    table = run(runner, "plan", "show", "-s", "wgmr-fm", "--hours", "1")
    assert "America/New_York" in table
    assert "artist – title" in table
    assert "default rotation" in table

    checked = run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "2")
    assert "0 error(s)" in checked

    dry = json.loads(
        run(
            runner,
            "plan",
            "build",
            "-s",
            "wgmr-fm",
            "--hours",
            "1",
            "--dry-run",
            "--json",
            "--from",
            "2030-01-01T00:00:00+00:00",
        )
    )
    assert dry["written"] is False
    assert dry["entries"][0]["starts_at"].startswith("2030-01-01T00:00")
    again = json.loads(run(runner, "plan", "show", "-s", "wgmr-fm", "--hours", "1", "--json"))
    # the dry run wrote nothing: where the two listings overlap they are the same rows
    # (NOTE: "from now on": on a busy machine the window moved on between them)
    first, last = again[0]["starts_at"], listed[-1]["starts_at"]
    assert [e["id"] for e in again if e["starts_at"] <= last] == [
        e["id"] for e in listed if e["starts_at"] >= first
    ]

    text = run(runner, "plan", "build", "-s", "wgmr-fm", "--hours", "1")
    assert "planned" in text
    assert "track" in text


def test_check_fails_on_dead_air_and_bad_input_says_what_to_fix(runner: CliRunner) -> None:
    run(runner, "station", "add", "--config", str(EXAMPLE))
    out = run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1", code=1)
    assert "gap:" in out
    assert "add music" in out
    data = json.loads(
        run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1", "--json", code=1)
    )
    assert data["errors"]
    assert "no time zone" in run(
        runner, "plan", "build", "-s", "wgmr-fm", "--from", "2030-01-01T00:00", code=1
    )
    assert "no station" in run(runner, "plan", "build", "-s", "nope", code=1)
    assert "nothing planned" in run(runner, "plan", "show", "-s", "wgmr-fm")


def test_check_names_a_hole_in_the_stored_timeline(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "station", "add", "--config", str(EXAMPLE))
    music = tmp_path / "music"
    music.mkdir()
    for i in range(6):
        write_tone(music / f"tone{i}.wav", 20 + 3 * i, 220 * (i + 1))
    run(runner, "library", "scan", str(music), "-s", "wgmr-fm", "-w", "1")
    run(runner, "plan", "build", "-s", "wgmr-fm", "--hours", "2")
    assert "0 error(s)" in run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1")

    listed = json.loads(run(runner, "plan", "show", "-s", "wgmr-fm", "--hours", "1", "--json"))
    soon = datetime.now(UTC) + timedelta(minutes=20)  # well after the lock: a build would refill
    gone = next(e for e in listed if datetime.fromisoformat(e["starts_at"]) > soon)

    async def remove(session: Any) -> None:
        await session.execute(
            delete(TimelineEntry).where(TimelineEntry.id == uuid.UUID(gone["id"]))
        )

    with_session(current_settings(), remove)
    text = run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1", code=1)
    tz = ZoneInfo("America/New_York")
    a = datetime.fromisoformat(gone["starts_at"]).astimezone(tz)
    b = datetime.fromisoformat(gone["ends_at"]).astimezone(tz)
    seconds = (b - a).total_seconds()
    day = f"{b:%a %Y-%m-%d} " if b.date() != a.date() else ""  # the end's date past midnight
    assert (
        f"hole in the stored timeline: {a:%a %Y-%m-%d %H:%M:%S}.{a.microsecond // 1000:03d} – "
        f"{day}{b:%H:%M:%S}.{b.microsecond // 1000:03d} {b.tzname()} ({seconds:g} s of silence)"
    ) in text
    assert "1 error(s)" in text
    data = json.loads(
        run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1", "--json", code=1)
    )
    assert [(h["start"], h["end"]) for h in data["holes"]] == [
        (
            datetime.fromisoformat(gone["starts_at"]).isoformat(),
            datetime.fromisoformat(gone["ends_at"]).isoformat(),
        )
    ]
    assert data["errors"][0].startswith("hole in the stored timeline")

    run(runner, "plan", "build", "-s", "wgmr-fm", "--hours", "2")  # a rebuild fills it again
    assert "0 error(s)" in run(runner, "plan", "check", "-s", "wgmr-fm", "--hours", "1")
