"""Paths in a station file mean what they say: absolute as written, relative to the file,
and a path the station cannot write or read is an error naming its key and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from grimnir.config import check_station_file, create_output_folders, load_station_config
from grimnir.config.station import parse_station_config
from grimnir.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
MINIMAL = ROOT / "examples" / "minimal-station.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def write_station(
    path: Path,
    *,
    hls: str = "/var/www/hls/wgmr",
    recording: str = "/var/recordings/wgmr",
    emergency: str = "/media/emergency.mp3",
    extra_failover: str = "",
) -> Path:
    """The example with its paths replaced (line numbers unchanged unless ``extra_failover``)."""
    text = (
        TEXT.replace('"/var/www/hls/wgmr"', yaml.safe_dump(hls).splitlines()[0])
        .replace('"/var/recordings/wgmr"', yaml.safe_dump(recording).splitlines()[0])
        .replace('"/media/emergency.mp3"', yaml.safe_dump(emergency).splitlines()[0])
        .replace("  live_timeout_sec: 30\n", f"  live_timeout_sec: 30\n{extra_failover}")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _line(needle: str) -> int:
    (line,) = [n for n, text in enumerate(TEXT.splitlines(), start=1) if needle in text]
    return line


HLS_LINE = _line('path: "/var/www/hls/wgmr"')
RECORDING_LINE = _line('path: "/var/recordings/wgmr"')
EMERGENCY_LINE = _line("emergency_audio_path")


def _outputs(config: object) -> list[str]:
    return [o.path for o in config.mounts[0].outputs if o.type in ("hls", "recording")]  # type: ignore[attr-defined]


# --- resolving ----------------------------------------------------------------------------


def test_relative_paths_count_from_the_station_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "stations" / "wgmr"
    station = write_station(
        folder / "station.yaml",
        hls="hls",
        recording="../shared/recordings/./wgmr",
        emergency="media/emergency.mp3",
        extra_failover="  fallback_paths: [bed.wav, /srv/fallback, 'https://relay.example/x']\n",
    )
    # A relative file name and a different working folder: the file's folder wins.
    monkeypatch.chdir(tmp_path)
    config = load_station_config(Path("stations/wgmr/station.yaml"))
    assert _outputs(config) == [
        str(folder / "hls"),
        str(tmp_path / "stations" / "shared" / "recordings" / "wgmr"),
    ]
    assert config.failover.emergency_audio_path == str(folder / "media" / "emergency.mp3")
    assert config.failover.fallback_paths == [
        str(folder / "bed.wav"),
        "/srv/fallback",  # absolute: as written
        "https://relay.example/x",  # not a path at all: untouched
    ]
    # The listener mount's path is a URL path, not a file: untouched.
    assert config.mounts[0].outputs[0].type == "icecast"
    assert check_station_file(station).config == config


def test_absolute_paths_are_used_as_written(tmp_path: Path) -> None:
    config = load_station_config(EXAMPLE)
    assert _outputs(config) == ["/var/www/hls/wgmr", "/var/recordings/wgmr"]
    assert config.failover.emergency_audio_path == "/media/emergency.mp3"


def test_home_folder_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_station_config(write_station(tmp_path / "s.yaml", recording="~/rec"))
    assert _outputs(config)[1] == str(tmp_path / "home" / "rec")


def test_a_config_without_a_file_keeps_its_paths_as_written() -> None:
    config = parse_station_config(TEXT.replace('"/var/recordings/wgmr"', "rec"))
    assert _outputs(config) == ["/var/www/hls/wgmr", "rec"]


# --- checking -----------------------------------------------------------------------------


def test_missing_output_folders_are_fine_and_not_created(tmp_path: Path) -> None:
    station = write_station(
        tmp_path / "station.yaml",
        hls=str(tmp_path / "www" / "hls" / "wgmr"),
        recording="deep/new/recordings",
        emergency=str(tmp_path / "emergency.mp3"),
    )
    (tmp_path / "emergency.mp3").write_bytes(b"ID3")
    checked = check_station_file(station)
    assert checked.warnings == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emergency.mp3", "station.yaml"]


def test_an_output_folder_behind_a_file_is_an_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    station = write_station(
        tmp_path / "station.yaml",
        hls=str(tmp_path / "plain-file" / "hls"),
        recording="plain-file",
        emergency=str(tmp_path / "plain-file"),
    )
    with pytest.raises(ConfigError) as caught:
        check_station_file(station)
    blocked = tmp_path / "plain-file"
    assert caught.value.args[0] == f"{station}: 2 problems"
    assert caught.value.problems == [
        f"{station}:{HLS_LINE} mounts[0].outputs[1].path: "
        f"cannot create {blocked / 'hls'}: {blocked} is a file, not a folder "
        "— choose another folder",
        f"{station}:{RECORDING_LINE} mounts[0].outputs[2].path: "
        f"{blocked} is a file, not a folder — remove it or choose another folder",
    ]


def test_a_folder_the_user_cannot_write_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path: str | os.PathLike[str], mode: int) -> bool:
        # NOTE: faked, as chmod means nothing to root (the CI user).
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode)

    monkeypatch.setattr(os, "access", access)
    station = write_station(
        tmp_path / "station.yaml",
        hls="locked",
        recording="locked/recordings",
        emergency=str(tmp_path / "station.yaml"),
    )
    with pytest.raises(ConfigError) as caught:
        check_station_file(station)
    assert caught.value.problems == [
        f"{station}:{HLS_LINE} mounts[0].outputs[1].path: "
        f"cannot write {locked}: Permission denied "
        "— choose a folder the station's user can write",
        f"{station}:{RECORDING_LINE} mounts[0].outputs[2].path: "
        f"cannot create {locked / 'recordings'}: Permission denied ({locked} is not writable) "
        "— create it for the station's user, or choose a folder the station's user can write",
    ]


def test_a_missing_input_is_a_warning_an_unreadable_one_an_error(tmp_path: Path) -> None:
    writable = {"hls": str(tmp_path / "hls"), "recording": str(tmp_path / "rec")}
    station = write_station(
        tmp_path / "station.yaml",
        **writable,
        emergency="emergency.mp3",
        extra_failover="  fallback_paths: [beds, bed.wav]\n",
    )
    (tmp_path / "beds").mkdir()
    checked = check_station_file(station)
    fallback_line = _line("live_timeout_sec") + 1
    assert checked.warnings == [  # in file order
        f"{station}:{fallback_line} failover.fallback_paths[1]: {tmp_path / 'bed.wav'} does "
        "not exist (yet) — put the audio there before the station needs it, or fix the path",
        f"{station}:{EMERGENCY_LINE + 1} failover.emergency_audio_path: "
        f"{tmp_path / 'emergency.mp3'} does not exist (yet) — put the audio there before the "
        "station needs it, or fix the path",
    ]

    folder_as_file = write_station(
        tmp_path / "other.yaml", **writable, emergency=str(tmp_path / "beds")
    )
    with pytest.raises(ConfigError) as caught:
        check_station_file(folder_as_file)
    assert caught.value.problems == [
        f"{folder_as_file}:{EMERGENCY_LINE} failover.emergency_audio_path: "
        f"{tmp_path / 'beds'} is a folder — give the audio file itself"
    ]


def test_the_example_passes_with_a_warning_for_its_emergency_file() -> None:
    if Path("/media/emergency.mp3").exists():  # pragma: no cover - a machine that has one
        pytest.skip("/media/emergency.mp3 exists on this machine")
    if not os.access("/var", os.W_OK):  # pragma: no cover - depends on the user
        pytest.skip("the example names folders under /var, which this user cannot create")
    checked = check_station_file(EXAMPLE)
    assert checked.warnings == [
        f"{EXAMPLE}:{EMERGENCY_LINE} failover.emergency_audio_path: "
        "/media/emergency.mp3 does not exist (yet) — put the audio there before the station "
        "needs it, or fix the path"
    ]


def test_the_minimal_example_checks_clean_and_names_no_absolute_path() -> None:
    checked = check_station_file(MINIMAL)
    assert checked.warnings == []
    outputs = checked.config.mounts[0].outputs
    assert [(o.type, o.path) for o in outputs] == [  # type: ignore[union-attr]
        ("http", "/radio.mp3"),
        ("recording", str(MINIMAL.parent / "recordings")),
    ]
    assert checked.config.station.resolved_short_name == "my-radio"


def test_the_readme_shows_the_minimal_example_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("(`examples/minimal-station.yaml`):\n\n```yaml\n", 1)[1]
    shown = shown.split("```", 1)[0]
    body = "".join(
        line for line in MINIMAL.read_text().splitlines(keepends=True) if not line.startswith("#")
    )
    assert shown == body


# --- creating (what the engine does at start) ---------------------------------------------


def test_the_engine_creates_output_folders_and_names_the_ones_it_cannot(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    config = load_station_config(
        write_station(
            tmp_path / "station.yaml",
            hls="new/hls",
            recording="plain-file/rec",
        )
    )
    problems = create_output_folders(config)
    assert (tmp_path / "new" / "hls").is_dir()
    assert [str(p) for p in problems] == [
        f"mounts[0].outputs[2].path: cannot create {tmp_path / 'plain-file' / 'rec'}: "
        "Not a directory — choose a folder the station's user can write"
    ]
    assert all(p.fatal for p in problems)
