"""Paths mean what they say under ``grimnir up``: the example station file, registered with
``station add``, records and writes HLS into exactly the folders it names — absolute ones
as written, relative ones beside the station file — and nothing lands in the data dir."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grimnir.cli import app
from tests.test_up import EXAMPLE, engine_pids, free_port_pair, grimnir, start_up

OTHER_ID = "0b0b0b0b-0000-4000-8000-0000000000a1"


def example_copy(path: Path, *, recording: str, hls: str, other: bool = False) -> Path:
    """The example station file with its recording and HLS folders replaced."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('"/var/recordings/wgmr"', json.dumps(recording))
    text = text.replace('"/var/www/hls/wgmr"', json.dumps(hls))
    if other:  # a second station in the same run
        text = text.replace("6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11", OTHER_ID)
        text = text.replace('name: "WGMR FM"', 'name: "WGMR Two"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def recorded(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.mp3") if p.stat().st_size > 0)


def wait_until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.5)
    return False


def test_the_example_records_into_the_folders_its_file_names(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(tmp_path / "data")

    # Absolute folders, as written; none of them exists yet.
    absolute_rec = tmp_path / "var" / "recordings" / "wgmr"
    absolute_hls = tmp_path / "var" / "www" / "hls" / "wgmr"
    first = example_copy(
        tmp_path / "etc" / "wgmr.yaml", recording=str(absolute_rec), hls=str(absolute_hls)
    )
    # Relative folders: relative to the station file, not to where the command runs.
    second = example_copy(
        tmp_path / "stations" / "two" / "station.yaml",
        recording="recordings",
        hls="../../public/hls",
        other=True,
    )
    relative_rec = tmp_path / "stations" / "two" / "recordings"
    relative_hls = tmp_path / "public" / "hls"

    for station in (first, second):
        added = grimnir(env, "station", "add", "--config", str(station))
        assert added.returncode == 0, added.stderr
        if not Path("/media/emergency.mp3").exists():
            assert "warning:" in added.stderr
            assert "failover.emergency_audio_path" in added.stderr
    stored = {
        row["short_name"]: [o.get("path") for o in row["mounts"][0]["outputs"]]
        for row in json.loads(grimnir(env, "station", "list", "--json").stdout)
    }
    assert stored == {  # the database holds absolute paths: `grimnir up` needs no prefix
        "wgmr-fm": [None, str(absolute_hls), str(absolute_rec)],
        "wgmr-two": [None, str(relative_hls), str(relative_rec)],
    }
    assert not absolute_rec.exists()  # checking and registering create nothing

    up = start_up(env, free_port_pair(), free_port_pair())
    try:
        folders = [absolute_rec, relative_rec]
        recording = wait_until(lambda: all(recorded(f) for f in folders), 90)
        hls = [absolute_hls, relative_hls]
        segmenting = recording and wait_until(
            lambda: all((f / "index.m3u8").is_file() for f in hls), 60
        )
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
    finally:
        if up.poll() is None:
            up.kill()
        log = up.communicate(timeout=10)[0]
        for pid in engine_pids(tmp_path):
            os.kill(pid, signal.SIGKILL)
    said = f"grimnir up said:\n{log[-4000:]}"
    assert recording, f"no recording appeared where the station files say; {said}"
    assert segmenting, f"no HLS playlist appeared where the station files say; {said}"

    for folder, short_name in ((absolute_rec, "wgmr-fm"), (relative_rec, "wgmr-two")):
        for path in recorded(folder):
            # DIR/YYYY/MM/DD/<station>-YYYYMMDDTHHMMSSZ.mp3
            year, month, day, name = path.relative_to(folder).parts
            prefix, _, stamp = path.stem.rpartition("-")
            assert (prefix, stamp[:8]) == (short_name, year + month + day), name
    # Every recording is in one of the two folders, and nothing was re-rooted into the data dir.
    strays = [
        path
        for path in tmp_path.rglob("*.mp3")
        if not (path.is_relative_to(absolute_rec) or path.is_relative_to(relative_rec))
    ]
    assert strays == [], log
    assert list((tmp_path / "data").glob("stations/*/files")) == []
    assert not any((tmp_path / "data").rglob("*.aac"))


@pytest.mark.parametrize("blocked", ["recording", "hls"])
def test_station_add_and_config_check_refuse_a_folder_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocked: str
) -> None:
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    (tmp_path / "plain-file").write_text("")
    folders = {"recording": str(tmp_path / "rec"), "hls": str(tmp_path / "hls")}
    folders[blocked] = "plain-file/sub"
    station = example_copy(
        tmp_path / "station.yaml", recording=folders["recording"], hls=folders["hls"]
    )
    line = line_of(station, "plain-file/sub")
    index = 2 if blocked == "recording" else 1
    expected = (
        f"{station}:{line} mounts[0].outputs[{index}].path: cannot create "
        f"{tmp_path}/plain-file/sub: {tmp_path}/plain-file is a file, not a folder "
        "— choose another folder"
    )
    for command in (["config", "check", str(station)], ["station", "add", "-c", str(station)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert expected in " ".join(result.output.split()), result.output
    listed = runner.invoke(app, ["station", "list", "--json"])
    assert json.loads(listed.output) == []  # nothing registered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "plain-file", "station.yaml"]


def line_of(path: Path, needle: str) -> int:
    (line,) = [n for n, text in enumerate(path.read_text().splitlines(), start=1) if needle in text]
    return line
