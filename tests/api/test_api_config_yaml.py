"""The station config as YAML over HTTP: read it, check it and store it with the
same line-exact problems as ``grimnir config check``; nothing is stored when
it fails (the JSON ``PUT …/config`` is checked the same way)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from grimnir.cli import app
from tests._api import ApiWorld

BASE = "/api/v1/stations/wgmr/config"
YAML = {"Content-Type": "application/yaml"}


def _cli_problems(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``grimnir config check station.yaml --json`` says of ``text``."""
    (tmp_path / "station.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "check", "station.yaml", "--json"])
    assert result.exit_code == 1, result.output
    problems: list[str] = json.loads(result.stdout)["problems"]
    return problems


def _usable(text: str, folder: Path) -> str:
    """The stored example's YAML with its output folders moved where a test may write."""
    data = yaml.safe_load(text)
    for output in data["mounts"][0]["outputs"]:
        if output["type"] in ("hls", "recording"):
            output["path"] = str(folder / output["type"])
    data["failover"]["emergency_audio_path"] = str(folder / "emergency.mp3")
    return yaml.safe_dump(data, sort_keys=False)


async def test_yaml_round_trip_check_and_save(
    world: ApiWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = world.client("manager")
    before = (await manager.get(BASE)).json()
    got = await manager.get(f"{BASE}.yaml")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(got.text)["station"]["name"] == before["station"]["name"]
    assert "short_name: null" not in got.text  # unset optional keys are left out

    text = _usable(got.text, tmp_path)
    good = await manager.post(f"{BASE}/check", content=text, headers=YAML)
    assert good.status_code == 200, good.text
    body = good.json()
    assert (body["name"], body["mounts"]) == ("WGMR FM", 1)
    # the emergency file does not exist: a warning with its line, as the CLI gives it
    [warning] = body["warnings"]
    assert warning["path"] == "failover.emergency_audio_path"
    assert text.splitlines()[warning["line"] - 1].lstrip().startswith("emergency_audio_path:")

    # a wrong type on a known line: 422 with the CLI's own words, nothing stored
    lines = text.splitlines()
    at = next(n for n, row in enumerate(lines) if row.strip().startswith("layer_fade_ms:"))
    lines[at] = "  layer_fade_ms: soon"
    bad = "\n".join(lines) + "\n"
    for method, url in (("POST", f"{BASE}/check"), ("PUT", f"{BASE}.yaml")):
        refused = await manager.request(method, url, content=bad, headers=YAML)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["line"] == at + 1
        assert error["column"] == 3
        assert error["path"] == "failover.layer_fade_ms"
        assert error["msg"] == "failover.layer_fade_ms: must be a whole number (got 'soon')"
        assert [error["text"]] == _cli_problems(tmp_path, bad, monkeypatch)
    assert (await manager.get(BASE)).json() == before

    lines[at] = "  layer_fade_ms: 1500"
    saved = await manager.put(f"{BASE}.yaml", content="\n".join(lines), headers=YAML)
    assert saved.status_code == 200, saved.text
    assert saved.json()["station"]["name"] == "WGMR FM"
    after = (await manager.get(BASE)).json()
    assert after["failover"]["layer_fade_ms"] == 1500
    assert after["mounts"][0]["outputs"][1]["path"] == str(tmp_path / "hls")


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (lambda t: t.replace("mounts:", "mounts: [", 1), None, "YAML syntax error"),
        (lambda t: t.replace("  timezone:", "  timezone: Europe/Osloo\n  x_zone:", 1), 0, "x_zone"),
        (
            lambda t: t.replace("  name: WGMR FM", "  name: WGMR FM\n  name: Again", 1),
            0,
            "duplicate",
        ),
        (lambda t: t.replace(t.split("path: ")[1].split("\n")[0], "hls/wgmr", 1), 0, "relative"),
    ],
)
async def test_problems_have_lines(
    world: ApiWorld, tmp_path: Path, change: Any, line: int | None, words: str
) -> None:
    manager = world.client("manager")
    text = change(_usable((await manager.get(f"{BASE}.yaml")).text, tmp_path))
    refused = await manager.post(f"{BASE}/check", content=text, headers=YAML)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert any(words in e["text"] for e in errors), errors
    for error in errors:
        assert error["text"].startswith(f"station.yaml:{error['line']} ")
        assert isinstance(error["column"], int)


async def test_the_station_keeps_its_id_and_only_managers_write(
    world: ApiWorld, tmp_path: Path
) -> None:
    manager = world.client("manager")
    text = _usable((await manager.get(f"{BASE}.yaml")).text, tmp_path)
    other = text.replace(
        "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11", "00000000-0000-4000-8000-000000000001"
    )
    refused = await manager.put(f"{BASE}.yaml", content=other, headers=YAML)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert other.splitlines()[error["line"] - 1].strip().startswith("id:")
    assert "keep the id" in error["text"]

    wrong_type = await manager.put(
        f"{BASE}.yaml", content=text, headers={"Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 415
    dj = world.client("dj")
    assert (await dj.get(f"{BASE}.yaml")).status_code == 403
    assert (await dj.post(f"{BASE}/check", content=text, headers=YAML)).status_code == 403
    assert (await dj.put(f"{BASE}.yaml", content=text, headers=YAML)).status_code == 403
    rival = world.client("rival")
    assert (await rival.put(f"{BASE}.yaml", content=text, headers=YAML)).status_code == 403


async def test_json_put_is_checked_the_same_way(world: ApiWorld, tmp_path: Path) -> None:
    manager = world.client("manager")
    before = (await manager.get(BASE)).json()
    body = yaml.safe_load(_usable(yaml.safe_dump(before), tmp_path))
    body["failover"]["layer_fade_ms"] = 20_000
    refused = await manager.put(BASE, json=body)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["msg"] == "failover.layer_fade_ms: must be ≤ 10000 (got 20000)"
    assert error["line"] is None
    # a folder the station cannot create is refused too, as the CLI refuses it
    body["failover"]["layer_fade_ms"] = 800
    (tmp_path / "a-file").write_text("not a folder")
    body["mounts"][0]["outputs"][1]["path"] = str(tmp_path / "a-file" / "hls")
    refused = await manager.put(BASE, json=body)
    assert refused.status_code == 422
    assert f"cannot create {tmp_path / 'a-file' / 'hls'}" in refused.json()["detail"]
    assert (await manager.get(BASE)).json() == before
    body["mounts"][0]["outputs"][1]["path"] = str(tmp_path / "hls")
    assert (await manager.put(BASE, json=body)).status_code == 200
    assert (await manager.get(BASE)).json()["failover"]["layer_fade_ms"] == 800
