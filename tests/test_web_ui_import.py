"""The import page in a real browser against a real ``grimnir up``: an administrator
uploads an AzuraCast backup (made from AzuraCast's own schema), checks it (the page
shows the counts and the row-by-row findings GET /api/v1/imports/{id} reports, and
nothing is written), imports it with a confirmation (the new station appears in the
station picker, its tracks in the library API), then rolls it back; a manager does not
see the page. axe-core at phone and desktop width for the form and the report.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import _browser
from tests._browser import PASSWORD, axe_at_widths, chromium, open_page, sign_in
from tests._onair import ADMIN, Api, Up
from tests._require import require_peer, skip_or_fail
from tests.importers.azuracast import make_backup as mb

pytestmark = [pytest.mark.mariadb]

IMPORTED = "grimnir_fm"
"""The station of the fixture backup that is imported (the backup holds two)."""


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_peer("zip")
    if shutil.which("mariadb") is None or shutil.which("mariadb-dump") is None:
        skip_or_fail("needs the MariaDB client (mariadb, mariadb-dump): run make install")
    if not mb.reachable():
        skip_or_fail("needs MariaDB on 127.0.0.1:3306 (root, no password)")
    return mb.make_backup(tmp_path_factory.mktemp("azuracast") / "azuracast-backup.zip")


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, httpx.Client]]:
    with _browser.station_with_people("grimnir-ui-import-") as (up, _):
        api = Api(up.base)
        try:
            yield up, api.client
        finally:
            api.close()


def _counts(report: dict[str, object], column: str) -> dict[str, int]:
    counts = report["counts"]
    assert isinstance(counts, dict)
    return {part: int(c.get(column, 0)) for part, c in counts.items()}


@pytest.mark.asyncio
async def test_an_admin_checks_imports_and_rolls_back_an_azuracast_backup(
    station_up: tuple[Up, httpx.Client], backup: Path
) -> None:
    from playwright.async_api import expect

    up, client = station_up
    expect.set_options(timeout=60_000)
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, ADMIN[0], ADMIN[1])
        await open_page(page, "Import", "Import a station")
        violations += await axe_at_widths(page, "import form")

        # the check: an upload, a dry run; the page shows what the API reports
        await page.get_by_label("Upload it from this computer").check()
        await page.get_by_label("File").set_input_files(str(backup))
        await page.get_by_label("Station (its short name").fill(IMPORTED)
        async with page.expect_response(
            lambda r: "/api/v1/imports/" in r.url and r.request.method == "GET"
        ):
            await page.get_by_role("button", name="Check (dry run)").click()
        heading = page.get_by_role("heading", name="What the import would do")
        await expect(heading).to_be_visible()
        listed = client.get("/imports").json()
        plan = next(i for i in listed if i["dry_run"] and i["state"] == "planned")["report"]
        counts = page.get_by_test_id("import-counts")
        for part, found in _counts(plan, "found").items():
            row = counts.get_by_role("row", name=part, exact=False).first
            await expect(row.locator("td").first).to_have_text(str(found))
        findings = page.get_by_test_id("import-findings")
        await expect(findings.locator("li")).to_have_count(len(plan["findings"]))
        await expect(findings).to_contain_text("file missing from the backup")
        ours = plan["station"]["short_name"]  # ours may differ: no '_' in our short names
        stations = {s["short_name"] for s in client.get("/stations").json()}
        assert ours not in stations, "a dry run writes nothing"
        violations += await axe_at_widths(page, "import plan")

        # the import itself, confirmed; the station appears in the picker
        await page.get_by_label("File").set_input_files(str(backup))
        await page.get_by_role("button", name="Import…").click()
        confirm = page.get_by_role("dialog", name="Import now?")
        await expect(confirm).to_contain_text(f"as a new station {ours}")
        await confirm.get_by_role("button", name="Import", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("Imported", timeout=180_000)
        await expect(page.get_by_role("heading", name="What the import did")).to_be_visible()
        picker = page.get_by_label("Station")
        await expect(picker.locator(f"option[value='{ours}']")).to_have_count(1)
        media = client.get(f"/stations/{ours}/media").json()
        assert media["total"] == _counts(plan, "create")["media"]
        past = page.get_by_role("region", name="Imports")
        await expect(past.get_by_role("row")).to_have_count(2)  # the header and the import

        # rolled back, confirmed: the station is gone again
        await past.get_by_role("button", name="Roll back…").click()
        undo = page.get_by_role("dialog", name="Roll this import back?")
        await undo.get_by_role("button", name="Roll back", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("rolled back")
        await expect(picker.locator(f"option[value='{ours}']")).to_have_count(0)
        assert client.get(f"/stations/{ours}").status_code == 404
        assert problems == []

        # a manager has no import page
        manager = await browser.new_page()
        await sign_in(manager, up.base, "mia", PASSWORD)
        nav = manager.get_by_role("navigation", name="Pages")
        await expect(nav.get_by_role("link", name="Settings")).to_be_visible()
        assert await nav.get_by_role("link", name="Import").count() == 0
    assert violations == []
