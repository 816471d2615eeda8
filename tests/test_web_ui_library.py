"""The library page's bulk work in a real browser (issue 18): select tracks, set a
tag on all of them, find them again with a smart-block rule, analyse them again,
and edit one track's tags; a DJ sees the tracks but none of those controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._browser import (
    PASSWORD,
    axe,
    axe_at_widths,
    chromium,
    open_page,
    sign_in,
    station_with_people,
)
from tests._onair import ADMIN, SHORT, Api, Up


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, Path]]:
    with station_with_people("grimnir-ui-library-", tracks=4, track_s=20.0) as running:
        yield running


def _media(up: Up, **params: Any) -> list[dict[str, Any]]:
    api = Api(up.base)
    try:
        reply = api.client.get(f"/stations/{SHORT}/media", params={"limit": 100, **params})
        reply.raise_for_status()
        items: list[dict[str, Any]] = reply.json()["items"]
        return items
    finally:
        api.close()


@pytest.mark.asyncio
async def test_bulk_edit_rules_filter_reanalysis_and_tags(station_up: tuple[Up, Path]) -> None:
    up, _ = station_up
    problems: list[str] = []
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "mia", PASSWORD)
        await open_page(page, "Library", "Library")
        await page.get_by_role("button", name="track0").wait_for()

        # two tracks selected, one tag set on both
        await page.get_by_label("Select track0").check()
        await page.get_by_label("Select track2").check()
        assert (await page.get_by_test_id("selected-count").text_content()) == "2 selected"
        await page.get_by_role("button", name="Edit tags…").click()
        dialog = page.get_by_role("dialog", name="Edit 2 tracks")
        await dialog.get_by_label("Genre").fill("Ambient")
        await dialog.get_by_label("Year").fill("1978")
        violations += await axe(page, "library bulk edit")
        await dialog.get_by_role("button", name="Apply to 2").click()
        await page.get_by_role("status").filter(has_text="set on 2 tracks").wait_for()
        tagged = {i["title"]: (i["genre"], i["year"]) for i in _media(up)}
        assert tagged == {
            "track0": ("Ambient", 1978),
            "track1": (None, None),
            "track2": ("Ambient", 1978),
            "track3": (None, None),
        }

        # a smart-block rule finds them again (case does not matter)
        await page.get_by_text("Filter by rules").click()
        await page.get_by_role("button", name="Add a rule").click()
        await page.get_by_label("Group 1, rule 1: Field").select_option("genre")
        await page.get_by_label("Group 1, rule 1: Value").fill("ambient")
        await page.get_by_test_id("range").filter(has_text="of 2").wait_for()
        rows = page.get_by_role("row").filter(has=page.get_by_role("button", name="track"))
        assert sorted(await rows.get_by_role("button").all_text_contents()) == [
            "track0",
            "track2",
        ]
        violations += await axe_at_widths(page, "library with rules")

        # analysed again: both stay ready, and the page says so
        await page.get_by_role("button", name="Analyse again").click()
        await (
            page.get_by_role("status")
            .filter(has_text="Analysed 2 again: 2 ready, 0 failed")
            .wait_for(timeout=120_000)
        )

        # one track's tags, in its detail
        await page.get_by_role("button", name="track0").click()
        await page.get_by_role("heading", name="Tags").wait_for()
        await page.get_by_label("Title", exact=True).fill("Music for Airports 1/1")
        await page.get_by_label("Artist", exact=True).fill("Brian Eno")
        await page.get_by_role("button", name="Save tags").click()
        await page.get_by_role("status").filter(has_text="Saved: ").wait_for()
        violations += await axe(page, "track detail with tags")
        (renamed,) = _media(up, q="airports")
        assert (renamed["title"], renamed["artist"], renamed["genre"]) == (
            "Music for Airports 1/1",
            "Brian Eno",
            "Ambient",
        )
        await page.close()

        # a DJ: the tracks, but nothing to select, edit or analyse
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "dan", PASSWORD)
        await open_page(page, "Library", "Library")
        await page.get_by_role("button", name="track1").wait_for()
        for control in ("Edit tags…", "Analyse again", "Clear selection"):
            assert await page.get_by_role("button", name=control).count() == 0
        assert await page.get_by_role("checkbox").count() == 0
        await page.get_by_role("button", name="track1").click()
        await page.get_by_role("heading", name="Tags").wait_for()
        assert await page.get_by_label("Title", exact=True).is_disabled()
        assert await page.get_by_role("button", name="Save tags").count() == 0
        violations += await axe(page, "track detail (dj)")
        await page.close()
    assert problems == []
    assert violations == []


PAGES = (
    ("Library", "Library"),
    ("Playlists", "Playlists and smart blocks"),
    ("Clocks", "Clocks"),
    ("Schedule", "Schedule"),
    ("Timeline", "Timeline"),
    ("Live", "Live"),
    ("As-run", "As-run log"),
    ("People", "People and keys"),
    ("Settings", "Station settings"),
)


@pytest.mark.asyncio
async def test_every_page_fits_a_phone_and_the_back_button_works(
    station_up: tuple[Up, Path],
) -> None:
    """Each page at 360 px: nothing wider than the screen (the bar's links wrap), and
    the browser's back button returns to the page before."""
    up, _ = station_up
    problems: list[str] = []
    wide: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 780})
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, *ADMIN)
        for link, heading in PAGES:
            await open_page(page, link, heading)
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            if width > 360:
                wide.append(f"{link}: {width} px")
        await page.go_back()
        await page.get_by_role("heading", name="People and keys", exact=True).wait_for()
        assert page.url.endswith("/people")
        await page.close()
    assert problems == []
    assert wide == []
