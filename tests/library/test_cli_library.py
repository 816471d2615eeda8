"""``grimnir library`` through typer's runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grimnir.cli import app
from grimnir.cli._library import sparkline
from grimnir.store import create_engine, session_factory
from grimnir.store.models import Station
from tests._databases import run_async
from tests.library import _fixtures as fx
from tests.library._fixtures import library_db  # noqa: F401  (fixture)


@pytest.fixture
def station(library_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # noqa: F811
    """A station in the test database, which the CLI is pointed at; its short name."""
    monkeypatch.setenv("GRIMNIR_DATABASE_URL", library_db)
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "data"))
    short = f"cli-{uuid.uuid4().hex[:8]}"

    async def add() -> None:
        engine = create_engine(library_db)
        try:
            async with session_factory(engine)() as session, session.begin():
                session.add(
                    Station(
                        short_name=short,
                        name="CLI FM",
                        timezone="UTC",
                        config={
                            "dsp_graph": {
                                "nodes": [{"type": "loudness_normalize", "target_lufs": -18}]
                            }
                        },
                    )
                )
        finally:
            await engine.dispose()

    run_async(add)
    return short


def _music(root: Path) -> Path:
    fx.make_audio(root / "a.mp3", seconds=2.0, metadata={"title": "Alpha", "artist": "Band"})
    fx.make_audio(root / "b.m4a", seconds=2.5, head_s=0.5, metadata={"title": "Beta"})
    fx.make_audio(root / "quiet.flac", seconds=1.0, silent=True)
    (root / "broken.mp3").write_text("not audio\n" * 20)
    (root / "notes.txt").write_text("liner notes")
    return root


def test_scan_list_show_reanalyze(station: str, tmp_path: Path) -> None:
    runner = CliRunner()
    music = _music(tmp_path / "music")
    scanned = runner.invoke(app, ["library", "scan", str(music), "--station", station, "-w", "1"])
    assert scanned.exit_code == 0, scanned.output
    assert "scanned 4 file(s)" in scanned.output
    assert "broken.mp3" in scanned.output
    assert "not an audio file" in scanned.output
    assert "not added to the library" in scanned.output

    again = runner.invoke(app, ["library", "scan", str(music), "-s", station, "-w", "1", "--json"])
    assert again.exit_code == 0, again.output
    counts = json.loads(again.output)
    assert (counts["total"], counts["skipped"], counts["added"], counts["ignored"]) == (4, 3, 0, 1)
    # the silent file is a failed item; the text file is refused again (it has no item)
    assert (counts["ready"], counts["failed"], counts["refused"]) == (2, 2, 1)
    failures = {Path(f["path"]).name: f["reason"] for f in counts["failures"]}
    assert "not an audio file" in failures["broken.mp3"]
    assert "silent" in failures["quiet.flac"]

    listed = json.loads(runner.invoke(app, ["library", "list", "-s", station, "--json"]).output)
    assert sorted(r["state"] for r in listed) == ["failed", "ready", "ready"]
    assert not any(r["path"].endswith("broken.mp3") for r in listed)
    ready = [r for r in listed if r["state"] == "ready"]
    assert {r["title"] for r in ready} == {"Alpha", "Beta"}
    searched = runner.invoke(app, ["library", "list", "-s", station, "--search", "alph"])
    assert "Alpha" in searched.output
    assert "Beta" not in searched.output
    failed = runner.invoke(app, ["library", "list", "-s", station, "--state", "failed", "--json"])
    assert [r["path"].endswith("quiet.flac") for r in json.loads(failed.output)] == [True]

    beta = next(r for r in ready if r["title"] == "Beta")
    shown = json.loads(runner.invoke(app, ["library", "show", beta["id"], "--json"]).output)
    assert shown["title"] == "Beta"
    assert abs(shown["cue_in_ms"] - 500) <= 50
    # the station's loudness_normalize target (-18 LUFS) is the analysis target
    assert shown["gain_db"] == pytest.approx(-18.0 - shown["loudness_lufs"], abs=0.01)
    assert shown["waveform_points"] == -(-shown["duration_ms"] // 100)  # one per 100 ms
    assert shown["waveform"].startswith("▁")  # the silent head
    text = runner.invoke(app, ["library", "show", beta["id"]])
    assert "loudness_lufs" in text.output

    redo = runner.invoke(app, ["library", "reanalyze", "--failed", "-s", station, "--json"])
    assert redo.exit_code == 0, redo.output
    assert json.loads(redo.output)["failed"] == 1
    redo_one = runner.invoke(app, ["library", "reanalyze", beta["id"], "-s", station])
    assert redo_one.exit_code == 0, redo_one.output
    assert "reanalysed 1 file(s)" in redo_one.output


def test_errors_exit_1_with_a_clear_message(station: str, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["library", "scan", str(tmp_path), "--station", "nope"])
    assert unknown.exit_code == 1
    assert "no station with id or short name 'nope'" in unknown.output
    missing = runner.invoke(app, ["library", "scan", str(tmp_path / "gone"), "-s", station])
    assert missing.exit_code == 1
    assert "is not a folder" in missing.output
    no_item = runner.invoke(app, ["library", "show", str(uuid.uuid4())])
    assert no_item.exit_code == 1
    assert "no media item with id" in no_item.output
    which = runner.invoke(app, ["library", "reanalyze", "-s", station])
    assert which.exit_code == 1
    assert "say which items" in which.output


def test_sparkline() -> None:
    assert sparkline(None) == ""
    wave = bytes([0, 0, 0x81, 0x7F, 0xC0, 0x40])  # silence, full scale, half scale
    assert sparkline(wave) == "▁█▅"
