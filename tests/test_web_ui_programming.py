"""The playlists and smart blocks page in a real browser against a real ``grimnir up``.

A manager makes a playlist, adds three tracks found by searching the library,
reorders one by dragging and one with its Move button from the keyboard, and
changes the rotation; each change is read back through the API. The manager
then builds a smart block with two rules on different fields: the page's live
preview shows what POST …/smart-blocks/preview returns for the same rules, and
the saved block reads back the same. A DJ sees both, and a preview, with no
control that would change them. axe-core checks the playlist view and the
smart-block editor with its preview at phone and desktop widths.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._browser import (
    PASSWORD,
    axe_at_widths,
    chromium,
    open_page,
    sign_in,
    station_with_people,
)
from tests._onair import SHORT, Api, Up

HEADING = "Playlists and smart blocks"
TAGS = {  # title: (artist, genre, year)
    "Alpha": ("Ana", "Rock", 1985),
    "Bravo": ("Ben", "Jazz", 1995),
    "Charlie": ("Cleo", "Rock", 2001),
    "Delta": ("Dora", "Jazz", 1999),
    "Echo": ("Eli", "Rock", 2010),
}
PREVIEW_FROM = "2026-12-08T12:00"  # the station's zone is UTC
RULES = {
    "groups": [
        [{"field": "genre", "modifier": "is", "value": "Rock"}],
        [{"field": "year", "modifier": "greater_than", "value": 1990}],
    ],
    "separation": {"artist": 0, "title": 0, "album": 0},
}


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, Api]]:
    """The station with its five tracks tagged, and an administrator's API client
    (one sign-in for the module: the login rate limit allows a burst of five)."""
    with station_with_people("grimnir-ui-programming-", tracks=5) as (up, _):
        api = Api(up.base)
        try:
            media = api.client.get(f"/stations/{SHORT}/media", params={"limit": 50})
            media.raise_for_status()
            items = media.json()["items"]
            assert [m["state"] for m in items] == ["ready"] * 5
            for item, (title, (artist, genre, year)) in zip(items, TAGS.items(), strict=True):
                api.client.patch(
                    f"/stations/{SHORT}/media/{item['id']}",
                    json={"title": title, "artist": artist, "genre": genre, "year": year},
                ).raise_for_status()
            yield up, api
        finally:
            api.close()


def _titles(api: Api, playlist_id: str) -> list[str]:
    reply = api.client.get(f"/stations/{SHORT}/playlists/{playlist_id}/items")
    reply.raise_for_status()
    return [i["title"] for i in reply.json()]


async def _select(page: Any, label: str, value: str) -> None:
    await page.get_by_label(label).select_option(value)


@pytest.mark.asyncio
async def test_manager_edits_playlists_and_smart_blocks_dj_only_looks(
    station_up: tuple[Up, Api], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    up, api = station_up
    violations: list[str] = []
    problems: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "mia", PASSWORD)
        await open_page(page, "Playlists", HEADING)

        # -- a playlist with three tracks found by searching the library
        await page.get_by_label("New playlist's name").fill("Morning")
        await page.get_by_role("button", name="Create playlist").click()
        await page.get_by_role("heading", name="Morning", exact=True).wait_for()
        items = page.get_by_test_id("playlist-item")
        for count, title in enumerate(("Alpha", "Bravo", "Charlie"), start=1):
            await page.get_by_label("Search the library").fill(title)
            await page.get_by_role("button", name="Search", exact=True).click()
            await page.get_by_role("button", name=f"Add {title}", exact=True).click()
            await expect(items).to_have_count(count)
            await (
                page.get_by_role("status")
                .filter(has_text=f"Added “{TAGS[title][0]} — {title}”")
                .wait_for()
            )
        await expect(page.get_by_test_id("playlist-total")).to_have_text("3 items, total 2:00")
        listed = api.client.get(f"/stations/{SHORT}/playlists").json()["items"]
        playlist_id = next(p["id"] for p in listed if p["name"] == "Morning")
        assert _titles(api, playlist_id) == ["Alpha", "Bravo", "Charlie"]
        violations += await axe_at_widths(page, "playlist")
        await page.screenshot(path=str(tmp_path / "playlist-desktop.png"), full_page=True)

        # -- Charlie dragged onto Alpha's place, then moved down by keyboard
        spot = {"x": 80, "y": 14}
        await items.nth(2).drag_to(items.nth(0), source_position=spot, target_position=spot)
        await page.get_by_role("status").filter(has_text="Charlie” to position 1 of 3").wait_for()
        assert _titles(api, playlist_id) == ["Charlie", "Alpha", "Bravo"]
        down = page.get_by_role("button", name="Move down Charlie", exact=True)
        await down.focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("status").filter(has_text="Charlie” to position 2 of 3").wait_for()
        assert _titles(api, playlist_id) == ["Alpha", "Charlie", "Bravo"]
        await expect(items.nth(1)).to_contain_text("Charlie")
        # focus stays with the moved track, so it can be moved again
        focused = await page.evaluate("() => document.activeElement?.textContent ?? ''")
        assert focused.strip() == "Move down Charlie"

        # -- rotation: one item, then at least 4 songs between
        await _select(page, "Rotation", "once_per_n_songs")
        await page.get_by_label("Songs between its items (N)").fill("4")
        await page.get_by_role("button", name="Save settings").click()
        await page.get_by_role("status").filter(has_text="Playlist settings saved").wait_for()
        stored = api.client.get(f"/stations/{SHORT}/playlists/{playlist_id}").json()
        assert stored["rotation"] == {"type": "once_per_n_songs", "n": 4}

        # -- deleting asks first, in a dialog
        await page.get_by_label("New playlist's name").fill("Spare")
        await page.get_by_role("button", name="Create playlist").click()
        await page.get_by_role("heading", name="Spare", exact=True).wait_for()
        await page.get_by_role("button", name="Delete playlist").click()
        dialog = page.get_by_role("dialog", name="Delete playlist “Spare”?")
        await dialog.get_by_role("button", name="Delete playlist").click()
        await page.get_by_role("status").filter(has_text="Playlist “Spare” deleted").wait_for()
        names = [p["name"] for p in api.client.get(f"/stations/{SHORT}/playlists").json()["items"]]
        assert names == ["Morning"]

        # -- a smart block: Rock, newer than 1990; the preview follows the rules
        await page.get_by_role("button", name="Smart blocks", exact=True).click()
        await page.get_by_role("button", name="New smart block").click()
        await page.get_by_label("Name", exact=True).fill("Recent rock")
        await page.get_by_role("button", name="Add a rule").click()
        await _select(page, "Group 1, rule 1: Field", "genre")
        await _select(page, "Group 1, rule 1: Modifier", "is")
        await page.get_by_label("Group 1, rule 1: Value").fill("Rock")
        await page.get_by_role("button", name="Add a group (and)").click()
        await _select(page, "Group 2, rule 1: Field", "year")
        await _select(page, "Group 2, rule 1: Modifier", "greater_than")
        await page.get_by_label("Group 2, rule 1: Value").fill("1990")
        await page.get_by_label("Target duration (minutes)").fill("2")
        for which in ("Same artist", "Same title (song)", "Same album"):
            await page.get_by_label(which).fill("0")
        await page.get_by_label("Preview from (UTC)").fill(PREVIEW_FROM)
        matching = page.get_by_test_id("preview-matching")
        await expect(matching).to_contain_text("2 of 5 ready tracks pass the rules")

        body = {"name": "Recent rock", "rules": RULES, "target_duration_ms": 120_000}
        reply = api.client.post(
            f"/stations/{SHORT}/smart-blocks/preview",
            params={"start": PREVIEW_FROM + ":00Z"},
            json=body,
        )
        reply.raise_for_status()
        want = reply.json()
        assert want["matching"] == 2
        count = len(want["tracks"])
        noun = "track" if count == 1 else "tracks"
        await expect(page.get_by_test_id("preview-count")).to_have_text(f"{count} {noun}")
        shown = page.get_by_test_id("preview-track")
        await expect(shown).to_have_count(min(count, 25))
        ids = [await row.get_attribute("data-media-id") for row in await shown.all()]
        assert ids == [t["media_id"] for t in want["tracks"]][:25]
        violations += await axe_at_widths(page, "smart-block editor with preview")
        await page.screenshot(path=str(tmp_path / "block-desktop.png"), full_page=True)

        await page.get_by_role("button", name="Create smart block").click()
        await (
            page.get_by_role("status")
            .filter(has_text="Smart block “Recent rock” created")
            .wait_for()
        )
        blocks = api.client.get(f"/stations/{SHORT}/smart-blocks").json()["items"]
        saved = next(b for b in blocks if b["name"] == "Recent rock")
        assert saved["rules"]["groups"] == RULES["groups"]
        assert saved["rules"]["separation"] == RULES["separation"]
        assert saved["target_duration_ms"] == 120_000
        await page.close()

        # -- the DJ sees both, and a preview, but nothing to change them with
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "dan", PASSWORD)
        await open_page(page, "Playlists", HEADING)
        await page.get_by_role("button", name="Morning", exact=True).click()
        await expect(page.get_by_test_id("playlist-item")).to_have_count(3)
        await page.get_by_text("One item, then 4 songs between", exact=True).wait_for()
        for name in ("Create playlist", "Save settings", "Delete playlist", "Search"):
            assert await page.get_by_role("button", name=name, exact=True).count() == 0, name
        for name in ("Move up", "Move down", "Remove", "Add"):
            assert await page.get_by_role("button", name=name).count() == 0, name
        assert await page.get_by_role("textbox").count() == 0
        violations += await axe_at_widths(page, "playlist (DJ)")

        await page.get_by_role("button", name="Smart blocks", exact=True).click()
        await page.get_by_role("button", name="Recent rock", exact=True).click()
        await page.get_by_text("genre is “Rock”").wait_for()
        await page.get_by_text("year greater than 1990").wait_for()
        await expect(page.get_by_test_id("preview-matching")).to_contain_text(
            "2 of 5 ready tracks pass the rules"
        )
        for name in ("New smart block", "Save smart block", "Delete smart block", "Add a rule"):
            assert await page.get_by_role("button", name=name, exact=True).count() == 0, name
        assert await page.get_by_role("button", name="Remove").count() == 0
        violations += await axe_at_widths(page, "smart block (DJ)")
        await page.screenshot(path=str(tmp_path / "block-dj-desktop.png"), full_page=True)
        await page.close()
    assert problems == []
    assert violations == []
