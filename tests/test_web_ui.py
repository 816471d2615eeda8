"""The web UI in a real browser (Debian's chromium, driven by Playwright) against a
real ``grimnir up`` on a temporary data dir (issue 18).

Each role signs in and sees what it may do (a DJ may skip, a manager also stop;
nothing shown that would be refused); the dashboard shows what is on air in
the station's time zone, its levels, outputs and what played; Skip, confirmed
in a dialog, puts the next item on air with no dead air between (the
station's stream, recorded by ffmpeg while it happens). axe-core checks every
state of the page: no serious or critical accessibility violation, at phone
and desktop widths.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._browser import PASSWORD, WIDTHS, station_with_people
from tests._browser import axe as _axe
from tests._browser import sign_in as _sign_in
from tests._onair import (
    ADMIN,
    DEAD_AIR_S,
    SHORT,
    Api,
    Recorder,
    Up,
    end_popen,
    silences,
    write_tone,
)
from tests._require import require_peer


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, Path]]:
    with station_with_people("grimnir-ui-") as running:
        yield running


@pytest.mark.asyncio
async def test_each_role_signs_in_and_sees_what_it_may_do(
    station_up: tuple[Up, Path], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    up, _ = station_up
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=require_peer("chromium"), args=["--no-sandbox"]
        )
        try:
            # NOTE: five sign-ins in all, with the skip test (the login rate limit's burst)
            page = await browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            await page.goto(up.base + "/")
            await page.get_by_role("heading", name="Sign in").wait_for()
            for width_name, (width, height) in WIDTHS.items():
                await page.set_viewport_size({"width": width, "height": height})
                violations += await _axe(page, f"sign-in {width_name}")
            await page.get_by_label("Username").fill("dan")
            await page.get_by_label("Password").fill("wrong password")
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_role("alert").wait_for()  # says why, stays on the form
            await page.close()
            assert problems == []

            for user, password, may_stop in (
                ("dan", PASSWORD, False),
                ("mia", PASSWORD, True),
                (ADMIN[0], ADMIN[1], True),
            ):
                page = await browser.new_page(viewport={"width": 1440, "height": 900})
                await _sign_in(page, up.base, user, password)
                now = page.get_by_test_id("now")
                await page.wait_for_function(
                    "el => el.textContent.includes('track')", arg=await now.element_handle()
                )
                role = {"dan": "dj", "mia": "manager"}.get(user, "admin")
                assert await page.get_by_text(f"{user} ({role})").count() == 1
                assert await page.get_by_role("button", name="Skip").count() == 1
                assert await page.get_by_role("button", name="Stop").count() == (
                    1 if may_stop else 0
                )
                # the station's time zone (UTC here) is said, and meters come
                await page.get_by_text("Times in UTC.").wait_for()
                await (
                    page.get_by_test_id("lufs-momentary")
                    .filter(has_text="LUFS")
                    .wait_for(timeout=20_000)
                )
                for width_name, (width, height) in WIDTHS.items():
                    await page.set_viewport_size({"width": width, "height": height})
                    violations += await _axe(page, f"dashboard ({user}, {width_name})")
                    shot = tmp_path / f"dashboard-{user}-{width_name}.png"
                    await page.screenshot(path=str(shot), full_page=True)
                await page.set_viewport_size({"width": 1440, "height": 900})
                violations += await _people(page, up.base, user, role)
                await page.get_by_role("button", name="Sign out").click()
                await page.get_by_role("heading", name="Sign in").wait_for()
                await page.close()
        finally:
            await browser.close()
    assert violations == []


async def _people(page: Any, base: str, user: str, role: str) -> list[str]:
    """The people page shows each role what it may change: a DJ their own API keys,
    a manager also the station's members, an administrator also the accounts."""
    await page.get_by_role("link", name="People").click()
    await page.get_by_role("heading", name="Your API keys").wait_for()
    members = page.get_by_role("heading", name="Members of Tone Test")
    accounts = page.get_by_role("heading", name="Accounts")
    assert await members.count() == (0 if role == "dj" else 1)
    assert await accounts.count() == (1 if role == "admin" else 0)
    if role == "admin":
        await page.get_by_label("Username").fill("zoe")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await page.get_by_role("status").filter(has_text="Account zoe created").wait_for()
        await page.get_by_label("Add a member").select_option(label="zoe")
        await page.get_by_role("button", name="Add", exact=True).click()
        await page.get_by_role("status").filter(has_text="zoe is now a DJ").wait_for()
        assert await page.get_by_label("Role of zoe").input_value() == "dj"
    if role == "dj":
        await page.get_by_label("Name of a new key").fill("playout script")
        await page.get_by_role("button", name="Make a key").click()
        key = (await page.get_by_test_id("new-key").text_content()) or ""
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"X-API-Key": key.strip()}, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == user
        await page.get_by_role("button", name="Revoke playout script").click()
        await page.get_by_role("status").filter(has_text="revoked").wait_for()
        gone = httpx.get(f"{base}/api/v1/auth/me", headers={"X-API-Key": key.strip()}, timeout=10)
        assert gone.status_code == 401
    return await _axe(page, f"people ({user})")


def _on_air_title(base: str) -> str:
    reply = httpx.get(f"{base}/api/v1/public/stations/{SHORT}/now-playing", timeout=10)
    reply.raise_for_status()
    current = reply.json().get("current") or {}
    return str(current.get("title") or "")


@pytest.mark.asyncio
async def test_skip_from_the_dashboard_puts_the_next_item_on_air_without_dead_air(
    station_up: tuple[Up, Path], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    up, _ = station_up
    recorder = Recorder(f"{up.base}/listen/{SHORT}/onair.mp3", tmp_path / "heard.wav")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=require_peer("chromium"), args=["--no-sandbox"]
            )
            try:
                page = await browser.new_page(viewport={"width": 1440, "height": 900})
                await _sign_in(page, up.base, "dan", PASSWORD)
                now = page.get_by_test_id("now")
                await page.wait_for_function(
                    "el => el.textContent.includes('track')", arg=await now.element_handle()
                )
                before = (await now.text_content()) or ""
                recorder.start()  # a listener, once the station is on air
                await asyncio.sleep(3)  # the listener hears some of the item first
                await page.get_by_role("button", name="Skip").click()
                dialog = page.get_by_role("dialog")
                await dialog.wait_for()
                violations = await _axe(page, "skip dialog")
                assert violations == []
                await dialog.get_by_role("button", name="Skip").click()
                await page.wait_for_function(
                    "([el, before]) => el.textContent !== before"
                    " && el.textContent.includes('track')",
                    arg=[await now.element_handle(), before],
                    timeout=20_000,
                )
                after = (await now.text_content()) or ""
                assert after != before
                assert _on_air_title(up.base) in after
                await asyncio.sleep(4)  # the listener hears the next item

                # the as-run log shows both, the skipped one ended by the skip, and
                # exports what it shows as CSV
                await page.get_by_role("link", name="As-run").click()
                table = page.get_by_role("table")
                skipped = table.get_by_role("row").filter(has_text=before.strip())
                await skipped.first.wait_for()
                assert await skipped.filter(has_text="skipped").count() >= 1
                assert await table.get_by_role("row").filter(has_text="on air").count() == 1
                assert await _axe(page, "as-run") == []
                async with page.expect_download() as download_info:
                    await page.get_by_role("button", name="Export CSV").click()
                download = await download_info.value
                csv_path = tmp_path / download.suggested_filename
                await download.save_as(csv_path)
                csv_text = csv_path.read_text(encoding="utf-8")
                assert "started_at" in csv_text.splitlines()[0], csv_text[:200]
                assert before.strip() in csv_text
            finally:
                await browser.close()
    finally:
        with contextlib.suppress(Exception):
            recorder.stop()
    heard = recorder.seconds
    assert heard > 5, f"the listener recorded only {heard:.1f} s"
    dead = [s for s in silences(tmp_path / "heard.wav", heard) if s.length > DEAD_AIR_S]
    assert dead == [], f"dead air around the skip: {dead}"


@pytest.mark.asyncio
async def test_the_library_uploads_files_and_edits_cue_points_on_the_waveform(
    station_up: tuple[Up, Path], tmp_path: Path
) -> None:
    """A manager uploads three files through the page, sees each become ready, opens
    one, drags its cue-in marker on the waveform and saves: the item and the timeline
    planned from then on carry the new cue-in."""
    from playwright.async_api import async_playwright

    up, _ = station_up
    files = []
    for n, hz in enumerate((700.0, 820.0, 940.0)):
        path = tmp_path / f"Upload Artist - Upload {n}.wav"
        write_tone(path, hz, 30.0)
        files.append(path)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=require_peer("chromium"), args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            await _sign_in(page, up.base, "mia", PASSWORD)
            await page.get_by_role("link", name="Library").click()
            await page.get_by_role("heading", name="Upload").wait_for()
            await page.locator('input[type="file"][accept="audio/*"]').set_input_files(files)
            statuses = page.get_by_test_id("upload-status")
            await page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=upload-status]')]"
                ".filter(e => e.textContent.trim() === 'ready').length === 3",
                timeout=120_000,
            )
            assert await statuses.count() == 3
            await page.get_by_label("Search").fill("Upload 1")
            row = page.get_by_role("button", name="Upload 1")
            await row.wait_for()
            assert (
                await page.get_by_role("row")
                .filter(has_text="Upload 1")
                .filter(has_text="ready")
                .count()
                == 1
            )
            assert await _axe(page, "library") == []
            await row.click()
            await page.get_by_role("heading", name="Waveform and cue points").wait_for()
            # NOTE: wavesurfer draws in an open shadow root; Playwright's CSS pierces it
            # (grabbed by its label: the intro marker sits 0.1 s later, its label below)
            marker = page.locator('[part~="marker"][part~="cue_in_ms"] [part~="region-content"]')
            await marker.wait_for()
            box = await marker.bounding_box()
            wave = await page.get_by_test_id("waveform").bounding_box()
            assert box is not None
            assert wave is not None
            # drag cue in from 0 s to about a tenth of the 30 s file
            grab_x, grab_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            await page.mouse.move(grab_x, grab_y)
            await page.mouse.down()
            target_x = wave["x"] + wave["width"] * 0.1 + box["width"] / 2
            await page.mouse.move(target_x, grab_y, steps=10)
            await page.mouse.up()
            cue_field = page.get_by_label("Cue in (s)")
            await page.screenshot(path=str(tmp_path / "cue-moved.png"), full_page=True)
            await page.wait_for_function(
                "el => Number(el.value) > 1", arg=await cue_field.element_handle()
            )
            moved_s = float(await cue_field.input_value())
            assert 2.0 < moved_s < 4.5, moved_s
            assert await _axe(page, "waveform editor") == []
            await page.get_by_role("button", name="Save cue points").click()
            await page.get_by_role("status").filter(has_text="Saved").wait_for()
            assert problems == []
        finally:
            await browser.close()
    api = Api(up.base)
    try:
        found = api.client.get(f"/stations/{SHORT}/media", params={"q": "Upload 1"}).json()
        (item,) = found["items"]
        assert abs(item["cue_in_ms"] - moved_s * 1000) <= 10
        # the timeline was planned again: the item's entries from the lock (2 minutes
        # ahead) on play from the new cue-in, which is what the engine is sent
        after = datetime.now(UTC) + timedelta(minutes=3)
        entries = api.client.get(
            f"/stations/{SHORT}/timeline",
            params={"from": after.isoformat(), "limit": 500},
        ).json()["items"]
        mine = [e for e in entries if e["media_id"] == item["id"]]
        assert mine, "the rebuilt timeline plans the new upload"
        assert {e["cue_in_ms"] for e in mine} == {item["cue_in_ms"]}
    finally:
        api.close()


@pytest.mark.asyncio
async def test_a_dj_goes_live_with_the_settings_the_live_page_shows(
    station_up: tuple[Up, Path], tmp_path: Path
) -> None:
    """The DJ makes a live token on the page, connects ffmpeg with the command the page
    shows, sees the dashboard switch to live, and disconnects from the page."""
    from playwright.async_api import async_playwright

    up, _ = station_up
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=require_peer("chromium"), args=["--no-sandbox"]
        )
        dj: subprocess.Popen[bytes] | None = None
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await _sign_in(page, up.base, "dan", PASSWORD)
            await page.get_by_role("link", name="Live").click()
            await page.get_by_label("Note").fill("web UI test show")
            await page.get_by_role("button", name="Make a live token").click()
            command = (await page.get_by_test_id("ffmpeg-command").text_content()) or ""
            target = command.split()[-1]
            assert target.startswith("icecast://dj:"), command
            assert await _axe(page, "live") == []
            # what the page says, with a tone instead of show.mp3
            args = command.split()
            source = args.index("-i")
            args[source - 1 : source + 2] = ["-re", "-f", "lavfi", "-i", "sine=f=1200:d=60"]
            args[0] = require_peer("ffmpeg")
            dj = subprocess.Popen(
                [args[0], "-nostdin", "-loglevel", "error", *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            on_air = page.get_by_test_id("live-on-air")
            await on_air.filter(has_text="live on /live").wait_for(timeout=30_000)
            await page.get_by_role("link", name="Dashboard").click()
            # the dashboard says the live layer is on air
            await page.locator(".meta").filter(has_text="layer live").wait_for(timeout=20_000)
            await page.get_by_role("link", name="Live").click()
            await page.get_by_role("button", name="Disconnect /live").click()
            await on_air.filter(has_text="automation").wait_for(timeout=30_000)
        finally:
            if dj is not None:
                end_popen(dj)
            await browser.close()
