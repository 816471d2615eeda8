"""The engine writes where the station file says: absolute paths as written, missing
output folders created at start, and a folder it cannot make leaves the rest on air."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grimnir.config import StationConfig, load_station_config
from grimnir.engine.runtime import RuntimeOptions, StationRuntime
from tests._peers import wait_for
from tests.engine._stations import station

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "examples" / "minimal-station.yaml"

Start = Callable[[StationConfig], StationRuntime]


@pytest.fixture
def running() -> Iterator[Start]:
    started: list[StationRuntime] = []

    def start(config: StationConfig) -> StationRuntime:
        runtime = StationRuntime(config, RuntimeOptions(http_port=0, burst_blocks=5))
        started.append(runtime)
        runtime.start()
        return runtime

    yield start
    for runtime in started:
        runtime.close()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def first_bytes(runtime: StationRuntime, path: str) -> bytes:
    host, port = runtime.server.address
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as answer:
        assert answer.status == 200
        return bytes(answer.read(4096))


def test_absolute_paths_are_used_as_written_and_missing_folders_created(
    running: Start, tmp_path: Path
) -> None:
    recordings = tmp_path / "srv" / "radio" / "recordings"
    hls = tmp_path / "www" / "hls"
    runtime = running(
        station(
            [
                {"type": "recording", "path": str(recordings), "format": "wav"},
                {"type": "hls", "path": str(hls), "segment_duration_sec": 1},
            ]
        )
    )
    assert runtime.path_problems == []
    assert recordings.is_dir()  # made at start, before any audio
    assert hls.is_dir()
    assert [r.path for r in runtime.recordings] == [recordings]
    assert wait_for(lambda: any(p.suffix == ".wav" for p in files_under(recordings)), 30)
    assert wait_for(lambda: (hls / "index.m3u8").is_file(), 30)
    # Nothing was written anywhere else (no re-rooted copy of the path).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["srv", "www"]
    for wav in files_under(recordings):
        assert wav.relative_to(recordings).parts[0].isdigit()  # YYYY/MM/DD/<station>-….wav


def test_a_folder_it_cannot_make_is_named_and_the_station_stays_on_air(
    running: Start, tmp_path: Path
) -> None:
    (tmp_path / "plain-file").write_text("")
    blocked = tmp_path / "plain-file" / "recordings"
    runtime = running(
        station(
            [
                {"type": "http", "path": "/wgmr.mp3"},
                {"type": "recording", "path": str(blocked)},
            ]
        )
    )
    assert [str(p) for p in runtime.path_problems] == [
        f"mounts[0].outputs[1].path: cannot create {blocked}: Not a directory "
        "— choose a folder the station's user can write"
    ]
    assert first_bytes(runtime, "/wgmr.mp3")  # the listener mount is on air all the same


def test_the_minimal_example_runs_as_it_is_and_records_beside_its_file(
    running: Start, tmp_path: Path
) -> None:
    copy = tmp_path / "conf" / "minimal-station.yaml"
    copy.parent.mkdir()
    shutil.copyfile(MINIMAL, copy)
    runtime = running(load_station_config(copy))
    assert runtime.path_problems == []
    assert first_bytes(runtime, "/radio.mp3")
    recordings = tmp_path / "conf" / "recordings"
    assert [r.path for r in runtime.recordings] == [recordings]
    assert wait_for(lambda: any(p.suffix == ".mp3" for p in files_under(recordings)), 30)
