"""``grimnir import`` (issue 19) on a real AzuraCast backup (made by
tests/importers/azuracast/make_backup.py from AzuraCast's schema): dry run, real
run with its report, the same again (nothing new), list, rollback twice; on
SQLite and PostgreSQL. Bad input fails with a message saying what to fix."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from grimnir.cli import app
from grimnir.cli._common import current_settings, with_session
from grimnir.services.authentication import sign_in
from tests._databases import migrated_database
from tests.importers.libretime._backup import Backup
from tests.importers.libretime._backup import backup as libretime_backup
from tests.importers.libretime._station import PASSWORDS

__all__ = ["libretime_backup"]

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]


@pytest.fixture(params=["sqlite", "postgresql"])
def runner(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "data"))
    if request.param == "sqlite":
        yield CliRunner()
        return
    with migrated_database(request.param, tmp_path / "db") as url:
        monkeypatch.setenv("GRIMNIR_DATABASE_URL", url)
        yield CliRunner()


def _signs_in(username: str, password: str) -> str:
    """Signs ``username`` in against the database the commands used: the stored hash after."""

    async def check(session: AsyncSession) -> str:
        user = await sign_in(session, username, password)
        assert user is not None, f"{username} cannot sign in with their LibreTime password"
        return user.password_hash

    return with_session(current_settings(), check)


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == code, text
    return text


def test_dry_run_import_again_list_and_rollback(runner: CliRunner, backup: Path) -> None:
    dry = run(
        runner,
        "import",
        "azuracast",
        "--backup",
        str(backup),
        "--station",
        "grimnir_fm",
        "--dry-run",
    )
    assert "Dry run: azuracast backup.zip" in dry
    assert "nothing was written" in dry
    assert "media row 'Lost Signal': file missing from the backup" in dry
    assert "Grimnir has no webhooks" in dry
    assert "no imports yet" in run(runner, "import", "list")
    planned = json.loads(
        run(
            runner,
            *("import", "azuracast", "--backup", str(backup), "--station", "grimnir_fm"),
            *("--dry-run", "--json"),
        )
    )[0]
    [clock] = [r for r in planned["rows"] if r["part"] == "clock"]
    # the fixture's songs last seconds: once per 4 songs is every 2 minutes
    assert clock["detail"] == (
        "Jingles every 4 (1 min) at "
        + " ".join(f":{m:02d}" for m in range(0, 60, 2))
        + ", Half-hourly Features (1 min) at :01 :31, Daytime Rotation 27 min, "
        "Top of the Hour (1 min) at :05"
    )
    reasons = {f["name"]: f["reason"] for f in planned["findings"] if f["part"] == "playlist"}
    assert "about every" in reasons["Jingles every 4"]
    assert "at :05 of every hour" in reasons["Top of the Hour"]
    assert not [r for r in reasons.values() if "add it to the 'default' clock" in r]

    real = run(runner, "import", "azuracast", "--backup", str(backup), "--station", "grimnir_fm")
    found = re.search(r"Import ([0-9a-f-]{36}): done \(station 'grimnir-fm'\)", real)
    assert found, real
    import_id = found.group(1)
    assert re.search(r"│ media\s+│ 6\s+│ 1\s+│ 1\s+│ 0\s+│", real), real
    assert re.search(r"│ playlist\s+│ 8\s+│ 0", real)
    assert re.search(r"media\s+━+ 8/8", real)

    again = run(
        runner, "import", "azuracast", "--backup", str(backup), "--station", "grimnir_fm", "--json"
    )
    report = json.loads(again)[0]
    assert report["state"] == "done"
    assert not [r for r in report["rows"] if r["action"] == "created"]
    assert report["counts"]["media"]["exists"] == 7

    assert import_id in run(runner, "import", "list")
    listed = json.loads(run(runner, "import", "list", "--json"))
    assert [(i["id"], i["source"], i["station"]) for i in listed][-1] == (
        import_id,
        "backup.zip",
        "grimnir-fm",
    )
    undone = run(runner, "import", "rollback", import_id)
    assert f"rolled back import {import_id}: removed 6 media_items" in undone
    assert "1 stations" in undone
    twice = run(runner, "import", "rollback", import_id, code=1)
    assert "was rolled back already" in twice


def test_bad_input_says_what_to_fix(runner: CliRunner, backup: Path, tmp_path: Path) -> None:
    missing = run(runner, "import", "azuracast", "--backup", str(tmp_path / "nope.zip"), code=1)
    assert "is not a file: give the zip that `azuracast:backup` wrote" in missing
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    cut = run(runner, "import", "azuracast", "--backup", str(truncated), "--dry-run", code=1)
    assert "error:" in cut
    assert "cut.zip" in cut
    both = run(runner, "import", "libretime", "--storage", str(tmp_path), code=1)
    assert "--dump FILE.sql or --database-url URL" in both
    assert "is not an import id" in run(runner, "import", "rollback", "xyz", code=1)
    assert "no import" in run(
        runner, "import", "rollback", "00000000-0000-4000-8000-000000000000", code=1
    )


def test_libretime_dump_shows_blocks_users_and_rollback(
    runner: CliRunner, libretime_backup: Backup
) -> None:
    lt = libretime_backup
    args = ["import", "libretime", "--dump", str(lt.dump), "--storage", str(lt.storage)]
    args += ["--config", str(lt.config)]
    dry = run(runner, *args, "--dry-run")
    assert "Dry run: libretime libretime.sql (schema 46)" in dry
    assert "smart_block" in dry
    live = ["import", "libretime", "--database-url", lt.url, "--storage", str(lt.storage)]
    planned = json.loads(run(runner, *live, "--config", str(lt.config), "--dry-run", "--json"))
    assert planned[0]["counts"]["show"]["create"] == 6
    assert planned[0]["dry_run"] is True
    report = json.loads(run(runner, *args, "--json"))[0]
    assert report["state"] == "done", report["parts"]
    counts = report["counts"]
    assert counts["show"]["created"] == 6
    assert counts["smart_block"]["created"] == 8
    assert counts["user"]["created"] == 4
    assert "clock" not in counts
    rules = {r["name"]: r["detail"] for r in report["rows"] if r["part"] == "show"}
    assert rules["Jazz Evening"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"
    assert rules["Monthly Meetup"] == "FREQ=MONTHLY;BYDAY=2TH"
    assert rules["Winter Series"] == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260203T225959Z"
    messages = [f["message"] for f in report["findings"]]
    assert not [m for m in messages if "no password that can be carried over" in m]
    # LibreTime's unsalted MD5: each person signs in with the password they had, once
    # with it, then with our argon2id of it
    for name, password in PASSWORDS.items():
        assert _signs_in(name, password).startswith("$argon2id$")
        assert _signs_in(name, password).startswith("$argon2id$")
    assert any(
        m.startswith("show row 'Morning Show': the occurrence of 2026-01-05 07:00")
        for m in messages
    )
    again = json.loads(run(runner, *args, "--json"))[0]
    assert not [r for r in again["rows"] if r["action"] == "created"]
    undone = run(runner, "import", "rollback", report["import_id"])
    assert "6 shows" in undone
    assert "8 smart_blocks" not in undone
    assert "1 stations" in undone
