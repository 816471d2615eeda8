"""Save a picture of every page of the web UI, at phone and desktop width.

Starts a station the way a user does (``grimnir station add``, a scanned
library of tones, ``grimnir up`` on free loopback ports), signs in with
Debian's chromium (Playwright) and writes PNG files into ``docs/screenshots/``
(``<page>-<width>.png``). ``make screenshots`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests._onair import ADMIN, SHORT, Api, Up, make_station  # noqa: E402 — the repository's test helpers

WIDTHS = {"phone": (360, 780), "desktop": (1440, 900)}


def seed(base: str) -> None:
    """Programming to look at: a playlist, a smart block, a clock of both, a weekly show."""
    from datetime import UTC, datetime, timedelta

    api = Api(base)
    try:
        http = api.client
        tracks = http.get(f"/stations/{SHORT}/media", params={"limit": 50}).json()["items"]
        ids = [t["id"] for t in tracks]
        playlist = http.post(
            f"/stations/{SHORT}/playlists", json={"name": "Morning mix", "shuffle": False}
        ).json()["id"]
        http.put(
            f"/stations/{SHORT}/playlists/{playlist}/items", json=[{"media_id": i} for i in ids]
        ).raise_for_status()
        block = http.post(f"/stations/{SHORT}/smart-blocks", json={"name": "All music"}).json()
        slots = [
            {
                "name": "Top of the hour",
                "offset_ms": 0,
                "duration_ms": 20 * 60_000,
                "kind": "playlist",
                "timing": "hard",
                "playlist_id": playlist,
            },
            {
                "name": "Rotation",
                "offset_ms": 20 * 60_000,
                "duration_ms": 40 * 60_000,
                "kind": "smart_block",
                "smart_block_id": block["id"],
            },
        ]
        clock = http.post(
            f"/stations/{SHORT}/clocks", json={"name": "Drive time", "slots": slots}
        ).json()["id"]
        start = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=7, minute=0, second=0, microsecond=0
        )
        http.post(
            f"/stations/{SHORT}/shows",
            json={
                "name": "Morning drive",
                "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                "dtstart": start.isoformat(),
                "duration_ms": 2 * 3_600_000,
                "content": "clock",
                "clock_id": clock,
            },
        ).raise_for_status()
    finally:
        api.close()


async def shoot(base: str, out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    saved: list[Path] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(base + "/")
            await page.get_by_role("heading", name="Sign in").wait_for()
            for width, (w, h) in WIDTHS.items():
                await page.set_viewport_size({"width": w, "height": h})
                saved.append(out / f"sign-in-{width}.png")
                await page.screenshot(path=str(saved[-1]), full_page=True)
            await page.get_by_label("Username").fill(ADMIN[0])
            await page.get_by_label("Password").fill(ADMIN[1])
            await page.get_by_role("button", name="Sign in").click()
            await (
                page.get_by_test_id("lufs-momentary")
                .filter(has_text="LUFS")
                .wait_for(timeout=30_000)
            )
            await page.wait_for_timeout(2000)  # a little history and steady meters
            for width, (w, h) in WIDTHS.items():
                await page.set_viewport_size({"width": w, "height": h})
                saved.append(out / f"dashboard-{width}.png")
                await page.screenshot(path=str(saved[-1]), full_page=True)
            await page.get_by_role("link", name="Library").click()
            await page.get_by_role("heading", name="Tracks").wait_for()
            await page.get_by_role("button", name="track0").wait_for()
            for width, (w, h) in WIDTHS.items():
                await page.set_viewport_size({"width": w, "height": h})
                saved.append(out / f"library-{width}.png")
                await page.screenshot(path=str(saved[-1]), full_page=True)
            pages = (
                ("programming", "Playlists", "Playlists and smart blocks"),
                ("clocks", "Clocks", "Clocks"),
                ("schedule", "Schedule", "Schedule"),
                ("timeline", "Timeline", "Timeline"),
                ("live", "Live", "Live"),
                ("asrun", "As-run", "As-run log"),
                ("people", "People", "People and keys"),
                ("settings", "Settings", "Station settings"),
            )
            for name, link, heading in pages:
                await (
                    page.get_by_role("navigation", name="Pages")
                    .get_by_role("link", name=link)
                    .click()
                )
                await page.get_by_role("heading", name=heading, exact=True).wait_for()
                await page.wait_for_timeout(500)
                for width, (w, h) in WIDTHS.items():
                    await page.set_viewport_size({"width": w, "height": h})
                    saved.append(out / f"{name}-{width}.png")
                    await page.screenshot(path=str(saved[-1]), full_page=True)
            await (
                page.get_by_role("navigation", name="Pages")
                .get_by_role("link", name="Library")
                .click()
            )
            await page.get_by_role("button", name="track0").click()
            await page.locator('[part~="marker"][part~="cue_in_ms"]').wait_for()
            for width, (w, h) in WIDTHS.items():
                await page.set_viewport_size({"width": w, "height": h})
                await page.wait_for_timeout(300)  # the waveform redraws at the new width
                saved.append(out / f"media-{width}.png")
                await page.screenshot(path=str(saved[-1]), full_page=True)
        finally:
            await browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grimnir-shots-") as temp:
        station = make_station(Path(temp), tracks=3, track_s=60.0, emergency=False)
        up = Up(station)
        try:
            up.wait_ready(120)
            seed(up.base)
            for path in asyncio.run(shoot(up.base, args.out)):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            up.stop()


if __name__ == "__main__":
    main()
