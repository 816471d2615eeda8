"""The `grimnir` command as a user runs it, against a temp data dir (SQLite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grimnir import __version__
from grimnir.cli import app
from tests._require import SHARED, require_shared

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
SHARED_EXAMPLE = SHARED / "examples" / "station-wgmr.yaml"
STATION_ID = "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(runner: CliRunner, *args: str, input: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result.output


def test_version(runner: CliRunner) -> None:
    assert run(runner, "version").strip() == f"grimnir {__version__}"
    assert json.loads(run(runner, "version", "--json")) == {"version": __version__}


def test_config_check_accepts_the_example(runner: CliRunner) -> None:
    out = run(runner, "config", "check", str(EXAMPLE))
    assert "OK — WGMR FM (wgmr-fm, America/New_York), 1 mount(s), 3 output(s), 4 DSP node(s)" in out
    data = json.loads(run(runner, "config", "check", str(EXAMPLE), "--json"))
    assert data["ok"] is True
    assert data["dsp_nodes"] == 4


def test_config_check_warns_about_a_station_without_fallback_audio(
    runner: CliRunner, tmp_path: Path
) -> None:
    minimal = ROOT / "examples" / "minimal-station.yaml"
    result = runner.invoke(app, ["config", "check", str(minimal)])
    assert result.exit_code == 0, result.output  # a warning, not an error
    assert "OK — My Radio" in result.stdout
    warning = " ".join(result.stderr.split())
    assert f"warning: {minimal}: failover: no fallback audio" in warning
    assert "set failover.fallback_paths" in warning
    assert "failover.emergency_audio_path" in warning
    assert "goes silent" in warning
    data = json.loads(run(runner, "config", "check", str(minimal), "--json"))
    assert data["ok"] is True
    assert [w for w in data["warnings"] if "no fallback audio" in w] == [
        f"{minimal}: failover: no fallback audio — set failover.fallback_paths (files or "
        "folders the engine loops when it has nothing else to play) or "
        "failover.emergency_audio_path; without either, a station whose control plane is "
        "down and whose queue has run dry goes silent"
    ]
    # Either key silences it (the example has emergency audio; here a fallback folder).
    with_fallback = tmp_path / "station.yaml"
    with_fallback.write_text(
        minimal.read_text() + "\nfailover:\n  fallback_paths: [beds]\n", encoding="utf-8"
    )
    (tmp_path / "beds").mkdir()
    for path in (EXAMPLE, with_fallback):
        data = json.loads(run(runner, "config", "check", str(path), "--json"))
        assert not [w for w in data["warnings"] if "no fallback audio" in w], path


def test_the_shared_roadmap_example_validates_unchanged() -> None:
    require_shared("examples/station-wgmr.yaml")
    assert SHARED_EXAMPLE.read_bytes() == EXAMPLE.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "grimnir", "config", "check", str(SHARED_EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text, old
    path = tmp_path / "station.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "type: agc",
            "type: acg",
            "type: acg",
            "dsp_graph.nodes[1].type: unknown node type 'acg'; did you mean 'agc'?",
        ),
        (
            "release_ms: 50",
            "relase_ms: 50",
            "relase_ms",
            "dsp_graph.nodes[2].relase_ms: unknown key 'relase_ms'; did you mean 'release_ms'?",
        ),
        ("ratio: 3.0", "ratio: 0.5", "ratio: 0.5", "dsp_graph.nodes[2].ratio: must be ≥ 1"),
        (
            'timezone: "America/New_York"',
            'timezone: "America/New_Yrok"',
            "New_Yrok",
            "station.timezone: unknown time zone 'America/New_Yrok'; "
            "did you mean 'America/New_York'?",
        ),
        (
            'url: "icecast://source:password@localhost:8000/stream"',
            'url: "icecast//localhost:8000"',
            "icecast//",
            "mounts[0].outputs[0].url:",
        ),
        (
            "failover:",
            "failover:\n  live_timout_sec: 5",
            "live_timout_sec",
            "failover.live_timout_sec: unknown key 'live_timout_sec'; "
            "did you mean 'live_timeout_sec'?",
        ),
    ],
    ids=["unknown-node-type", "typo-key", "bad-ratio", "bad-timezone", "bad-url", "typo-failover"],
)
def test_config_check_names_key_and_line(
    runner: CliRunner, tmp_path: Path, old: str, new: str, needle: str, expected: str
) -> None:
    path = _broken(tmp_path, old, new)
    out = run(runner, "config", "check", str(path), code=1)
    line = _line_of(path, needle)
    assert f"{path}:{line} {expected}" in out


def test_config_check_duplicate_mount_id(runner: CliRunner, tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    extra = (
        '  - id: "mount-main"\n    name: "Second"\n    outputs:\n'
        '      - type: http\n        path: "/second.mp3"\n'
    )
    path = tmp_path / "station.yaml"
    path.write_text(text.replace("\ndsp_graph:", f"{extra}\ndsp_graph:", 1))
    out = run(runner, "config", "check", str(path), code=1)
    line = _line_of(path, 'name: "Second"') - 1
    assert f"{path}:{line} mounts[1].id: duplicate mount id 'mount-main' (first at line" in out


def test_config_check_exit_code_from_the_real_command(tmp_path: Path) -> None:
    path = _broken(tmp_path, "ratio: 3.0", "ratio: -2")
    proc = subprocess.run(
        [sys.executable, "-m", "grimnir", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert f"{path}:{_line_of(path, 'ratio: -2')} dsp_graph.nodes[2].ratio" in proc.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "grimnir", "config", "check", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "nope.yaml" in missing.stderr


def test_config_show_masks_passwords(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIMNIR_DATABASE_URL", "postgresql://grim:hunter22@127.0.0.1/radio")
    out = run(runner, "config", "show")
    assert "hunter22" not in out
    assert "postgresql://grim:***@127.0.0.1/radio" in out


def test_db_upgrade_current_downgrade(runner: CliRunner, tmp_path: Path) -> None:
    out = run(runner, "db", "upgrade")
    assert "upgraded empty →" in out
    assert (tmp_path / "data" / "grimnir.db").exists()
    assert "already at" in run(runner, "db", "upgrade")
    state = json.loads(run(runner, "db", "current", "--json"))
    assert state["up_to_date"] is True
    assert state["current"] == state["head"]
    assert "→ base" in run(runner, "db", "downgrade", "base")
    assert json.loads(run(runner, "db", "current", "--json"))["current"] is None
    assert "no schema to downgrade" in run(runner, "db", "downgrade", code=1)


def test_user_create_and_list(runner: CliRunner) -> None:
    out = run(
        runner, "user", "create", "alice", "--admin", "--password-stdin", input="correct horse\n"
    )
    assert "created admin user alice" in out
    run(
        runner,
        "user",
        "create",
        "bob",
        "--email",
        "bob@example.org",
        "--password-stdin",
        input="battery staple\n",
    )
    users = json.loads(run(runner, "user", "list", "--json"))
    assert [(u["username"], u["admin"]) for u in users] == [("alice", True), ("bob", False)]
    assert "already" in run(
        runner, "user", "create", "alice", "--password-stdin", input="another one\n", code=1
    )
    assert "at least 8" in run(
        runner, "user", "create", "carol", "--password-stdin", input="short\n", code=1
    )
    assert "not allowed" in run(
        runner, "user", "create", "no spaces", "--password-stdin", input="long enough\n", code=1
    )
    assert len(json.loads(run(runner, "user", "list", "--json"))) == 2


def test_password_is_stored_hashed(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "user", "create", "dj-dave", "--password-stdin", input="spin it back\n")
    raw = (tmp_path / "data" / "grimnir.db").read_bytes()
    assert b"spin it back" not in raw
    assert b"$argon2id$" in raw


def test_station_add_list_show_and_update(runner: CliRunner, tmp_path: Path) -> None:
    assert "no stations yet" in run(runner, "station", "list")
    out = run(runner, "station", "add", "--config", str(EXAMPLE))
    assert f"registered station wgmr-fm (WGMR FM, id {STATION_ID}): 1 mount(s), 3 output(s)" in out

    stations = json.loads(run(runner, "station", "list", "--json"))
    assert len(stations) == 1
    (station,) = stations
    assert station["id"] == STATION_ID
    assert station["timezone"] == "America/New_York"
    outputs = station["mounts"][0]["outputs"]
    assert [o["type"] for o in outputs] == ["icecast", "hls", "recording"]
    assert outputs[0]["url"] == "icecast://source:***@localhost:8000/stream"

    by_name = json.loads(run(runner, "station", "show", "wgmr-fm", "--json"))
    by_id = json.loads(run(runner, "station", "show", STATION_ID, "--json"))
    assert by_name == by_id
    assert "icecast://source:***@localhost:8000/stream" in run(runner, "station", "show", "wgmr-fm")

    changed = tmp_path / "changed.yaml"
    changed.write_text(
        EXAMPLE.read_text()
        .replace('name: "WGMR FM"', 'name: "WGMR 101.5"\n  short_name: wgmr')
        .replace(
            "      - type: hls",
            '      - type: http\n        path: "/wgmr.mp3"\n\n      - type: hls',
        )
    )
    out = run(runner, "station", "add", "--config", str(changed))
    assert "updated station wgmr (WGMR 101.5" in out
    station = json.loads(run(runner, "station", "show", STATION_ID, "--json"))
    assert [o["type"] for o in station["mounts"][0]["outputs"]] == [
        "icecast",
        "http",
        "hls",
        "recording",
    ]
    assert len(json.loads(run(runner, "station", "list", "--json"))) == 1


def test_station_errors_say_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "station", "add", "--config", str(EXAMPLE))
    out = run(runner, "station", "show", "kexp", code=1)
    assert "kexp" in out
    assert "wgmr-fm" in out  # names the stations that do exist

    broken = _broken(tmp_path, "ratio: 3.0", "ratio: 0")
    out = run(runner, "station", "add", "--config", str(broken), code=1)
    assert "dsp_graph.nodes[2].ratio" in out
    # nothing stored was lost or changed
    station = json.loads(run(runner, "station", "show", "wgmr-fm", "--json"))
    assert len(station["mounts"][0]["outputs"]) == 3

    clash = tmp_path / "clash.yaml"
    clash.write_text(
        EXAMPLE.read_text().replace(STATION_ID, "0b0b0b0b-0000-4000-8000-000000000001")
    )
    out = run(runner, "station", "add", "--config", str(clash), code=1)
    assert "wgmr-fm" in out
    assert len(json.loads(run(runner, "station", "list", "--json"))) == 1


def test_server_database_must_be_migrated_explicitly(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server URL that refuses connections: the error names the masked URL and what to check.
    monkeypatch.setenv("GRIMNIR_DATABASE_URL", "postgresql://grim:pw@127.0.0.1:1/radio")
    out = run(runner, "station", "list", code=1)
    assert "postgresql://grim:***@127.0.0.1:1/radio" in out
    assert "GRIMNIR_DATABASE_URL" in out
    assert ":pw@" not in out
