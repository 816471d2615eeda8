"""The clocks page in a real browser against a real ``grimnir up``.

A manager creates a clock on the page with two slots of different sources (a
hard playlist slot, a soft smart-block slot), which the API then holds as
entered; the clock face draws one arc per slot; "Simulate an hour" lists what
the API's simulation of the same clock returns and draws it on the face; a slot
past the end of the hour shows the server's reason and stores nothing; a clock
is renamed and another deleted after a confirmation dialog. A DJ sees the same
clock, its face and a simulation, with no control that edits. axe-core finds no
serious or critical violation at phone and desktop width in each state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import _browser
from tests._browser import (
    PASSWORD,
    axe_at_widths,
    chromium,
    open_page,
    sign_in,
    station_with_people,
)
from tests._onair import SHORT, Api, Up

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, httpx.Client, dict[str, str]]]:
    """The station, a playlist of its tracks and a smart block (the slots' sources)."""
    with station_with_people("grimnir-ui-clocks-") as (up, _):
        api = Api(up.base)
        try:
            media = api.client.get(f"/stations/{SHORT}/media", params={"limit": 50})
            media.raise_for_status()
            ids = [m["id"] for m in media.json()["items"]]
            assert ids, "the station has scanned tracks"
            playlist = api.client.post(f"/stations/{SHORT}/playlists", json={"name": "Morning mix"})
            playlist.raise_for_status()
            pid = playlist.json()["id"]
            api.client.put(
                f"/stations/{SHORT}/playlists/{pid}/items", json=[{"media_id": i} for i in ids]
            ).raise_for_status()
            block = api.client.post(f"/stations/{SHORT}/smart-blocks", json={"name": "All music"})
            block.raise_for_status()
            yield up, api.client, {"playlist": pid, "block": block.json()["id"]}
        finally:
            api.close()


def _min_sec(ms: int) -> str:
    total = round(ms / 1000)
    return f"{total // 60:02d}:{total % 60:02d}"


def _describe(entry: dict[str, Any]) -> str:
    title = entry.get("title") or "untitled"
    return f"{entry['artist']} — {title}" if entry.get("artist") else title


async def _rows(page: Any) -> list[tuple[str, str]]:
    """(At, Item) of each row of the simulation's table."""
    cells = (
        await page.get_by_test_id("simulation-items")
        .locator("tbody tr")
        .evaluate_all(
            "rows => rows.map(r => [...r.cells].slice(0, 2).map(c => c.textContent.trim()))"
        )
    )
    return [(at, item) for at, item in cells]


async def _simulate_matches_api(page: Any, http: httpx.Client, clock_id: str) -> dict[str, Any]:
    """Simulate on the page, then ask the API for the same hour: the lists agree.
    NOTE: the station plays on meanwhile; a track that starts between the two asks
    may change the picks, so both ask again (at most three times) until they agree."""
    button = page.get_by_role("button", name="Simulate an hour")
    expected: list[tuple[str, str]] = []
    shown: list[tuple[str, str]] = []
    for _ in range(3):
        await button.click()
        await page.get_by_test_id("simulation-summary").wait_for()
        await button.wait_for()  # "Simulating…" while it runs
        shown = await _rows(page)
        times = page.get_by_test_id("simulation-items").locator("tbody time")
        start = await times.first.get_attribute("datetime") if await times.count() else None
        params: dict[str, Any] = {"hours": 1} | ({"start": start} if start else {})
        reply = http.post(f"/stations/{SHORT}/clocks/{clock_id}/simulate", params=params)
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        t0 = datetime.fromisoformat(result["report"]["start"])
        expected = [
            (
                _min_sec(int((datetime.fromisoformat(e["starts_at"]) - t0).total_seconds() * 1000)),
                _describe(e),
            )
            for e in result["entries"]
        ]
        if shown == expected:
            return result
    raise AssertionError(f"the page shows {shown}, the API simulates {expected}")


@pytest.mark.asyncio
async def test_a_manager_builds_a_clock_on_its_face_and_a_dj_only_looks(
    station_up: tuple[Up, httpx.Client, dict[str, str]], tmp_path: Path
) -> None:
    up, http, ids = station_up
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await sign_in(page, up.base, "mia", PASSWORD)
        await open_page(page, "Clocks", "Clocks")

        # create a clock, then two slots on it
        await page.get_by_label("Name of a new clock").fill("Drive time")
        await page.get_by_role("button", name="Create clock").click()
        await page.get_by_role("status").filter(has_text="Clock Drive time created").wait_for()
        await page.get_by_role("button", name="Add a slot").click()
        await page.get_by_role("button", name="Add a slot").click()

        one = page.get_by_role("group", name=re.compile(r"^Slot 1\b"))
        await one.get_by_label("Name").fill("Top of the hour")
        await one.get_by_label("Kind").select_option(label="Playlist")
        await one.get_by_label("Source").select_option(label="Morning mix")
        await one.get_by_label("Length (mm:ss)").fill("20:00")
        await one.get_by_label("Length (mm:ss)").press("Tab")
        await one.get_by_label("Hard").check()

        two = page.get_by_role("group", name=re.compile(r"^Slot 2\b"))
        await two.get_by_label("Kind").select_option(label="Smart block")
        await two.get_by_label("Source").select_option(label="All music")
        await two.get_by_label("Starts at (mm:ss)").fill("20:00")
        await two.get_by_label("Starts at (mm:ss)").press("Tab")
        await two.get_by_label("Length (mm:ss)").fill("30:00")
        await two.get_by_label("Length (mm:ss)").press("Tab")
        assert await two.get_by_label("Soft").is_checked()
        violations += await axe_at_widths(page, "clock editor")

        await page.get_by_role("button", name="Save clock").click()
        await page.get_by_role("status").filter(has_text="saved with 2 slots").wait_for()

        listed = http.get(f"/stations/{SHORT}/clocks").json()["items"]
        clock_id = next(c["id"] for c in listed if c["name"] == "Drive time")
        stored = http.get(f"/stations/{SHORT}/clocks/{clock_id}").json()
        fields = ("name", "offset_ms", "duration_ms", "kind", "timing")
        refs = ("playlist_id", "smart_block_id", "media_id", "webstream_id")
        assert [{k: s[k] for k in fields + refs} for s in stored["slots"]] == [
            {
                "name": "Top of the hour",
                "offset_ms": 0,
                "duration_ms": 20 * 60_000,
                "kind": "playlist",
                "timing": "hard",
                "playlist_id": ids["playlist"],
                "smart_block_id": None,
                "media_id": None,
                "webstream_id": None,
            },
            {
                "name": None,
                "offset_ms": 20 * 60_000,
                "duration_ms": 30 * 60_000,
                "kind": "smart_block",
                "timing": "soft",
                "playlist_id": None,
                "smart_block_id": ids["block"],
                "media_id": None,
                "webstream_id": None,
            },
        ]

        # the face: one arc per slot, named for it; an arc selects its slot in the list
        face = page.get_by_role("group", name="Clock face of Drive time")
        arcs = face.get_by_role("button")
        assert await arcs.count() == 2
        names = [await arcs.nth(i).get_attribute("aria-label") for i in range(2)]
        assert names == [
            "Slot 1: Top of the hour, playlist from Morning mix, 00:00 to 20:00, hard start",
            "Slot 2: Smart block, smart block from All music, 20:00 to 50:00, soft start",
        ]
        await arcs.nth(1).focus()
        await page.keyboard.press("Enter")
        assert await arcs.nth(1).get_attribute("aria-pressed") == "true"
        assert await two.get_by_label("Name").evaluate("el => el === document.activeElement")

        # simulate: the list is what the API simulates for this clock, drawn on the face
        result = await _simulate_matches_api(page, http, clock_id)
        assert result["entries"], "an hour of two filled slots plays something"
        ring = page.get_by_test_id("simulation-ring").locator("path")
        assert await ring.count() == len(result["entries"])
        summary = await page.get_by_test_id("simulation-summary").text_content() or ""
        report = result["report"]
        assert f"{len(report['underfilled'])} under-filled" in summary
        assert f"{len(report['relaxations'])} relaxed" in summary
        violations += await axe_at_widths(page, "simulation")
        for width, size in _browser.WIDTHS.items():
            await page.set_viewport_size({"width": size[0], "height": size[1]})
            await page.screenshot(path=str(tmp_path / f"clocks-{width}.png"), full_page=True)
            # NOTE: the page's own part (the bar above it is shared by every page)
            main = page.get_by_role("main")
            wide = await main.evaluate("el => el.scrollWidth > el.clientWidth")
            assert not wide, f"the page scrolls sideways at {width} width"

        # a slot past the end of the hour: the server's reason, nothing stored
        await two.get_by_label("Starts at (mm:ss)").fill("50:00")
        await two.get_by_label("Starts at (mm:ss)").press("Tab")
        await page.get_by_role("button", name="Save clock").click()
        alert = page.get_by_role("alert").filter(has_text="past the end of the hour")
        await alert.wait_for()
        said = (await alert.text_content() or "").strip()
        refused = page.get_by_role("list", name="The server refused slot 2")
        assert "past the end of the hour" in (await refused.text_content() or "")
        slots: list[dict[str, Any]] = [
            {k: v for k, v in s.items() if k not in ("id", "position")} for s in stored["slots"]
        ]
        slots[1]["offset_ms"] = 50 * 60_000
        body = {"name": "Drive time", "description": "", "slots": slots}
        reply = http.put(f"/stations/{SHORT}/clocks/{clock_id}", json=body)
        assert reply.status_code == 422
        assert said == reply.json()["detail"]
        again = http.get(f"/stations/{SHORT}/clocks/{clock_id}").json()
        assert again["slots"] == stored["slots"]
        await page.get_by_role("button", name="Discard changes").click()

        # rename; then a second clock, deleted after the dialog
        await page.get_by_label("Clock name").fill("Drive time weekdays")
        await page.get_by_role("button", name="Save clock").click()
        await page.get_by_role("status").filter(has_text="Drive time weekdays saved").wait_for()
        assert http.get(f"/stations/{SHORT}/clocks/{clock_id}").json()["name"] == (
            "Drive time weekdays"
        )
        await page.get_by_label("Name of a new clock").fill("Spare")
        await page.get_by_role("button", name="Create clock").click()
        await page.get_by_role("status").filter(has_text="Clock Spare created").wait_for()
        await page.get_by_role("button", name="Delete clock").click()
        dialog = page.get_by_role("dialog", name="Delete the clock Spare?")
        await dialog.wait_for()
        violations += await axe_at_widths(page, "delete dialog")
        await dialog.get_by_role("button", name="Delete clock").click()
        await page.get_by_role("status").filter(has_text="Clock Spare deleted").wait_for()
        names_left = [c["name"] for c in http.get(f"/stations/{SHORT}/clocks").json()["items"]]
        assert names_left == ["Drive time weekdays"]
        assert errors == []
        await page.close()

        # the DJ: the clock, its face and a simulation; nothing that edits
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        await sign_in(page, up.base, "dan", PASSWORD)
        await open_page(page, "Clocks", "Clocks")
        await page.get_by_role("heading", name="Clock Drive time weekdays").wait_for()
        assert await page.get_by_test_id("slot-table").locator("tbody tr").count() == 2
        face = page.get_by_role("group", name="Clock face of Drive time weekdays")
        assert await face.get_by_role("button").count() == 2
        for role in ("textbox", "combobox", "radio", "checkbox"):
            assert await page.get_by_role("main").get_by_role(role).count() == 0, role
        for name in ("Create clock", "Save clock", "Delete clock", "Add a slot", "Remove"):
            assert await page.get_by_role("button", name=name).count() == 0, name
        await _simulate_matches_api(page, http, clock_id)
        violations += await axe_at_widths(page, "dj view with simulation")
        await page.screenshot(path=str(tmp_path / "clocks-dj.png"), full_page=True)
        assert errors == []
        await page.close()
    assert violations == []
