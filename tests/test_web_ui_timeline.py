"""The timeline page in a real browser against a real ``grimnir up``: the next 48 hours
as GET …/timeline has them (by hour, in the station's time zone, which is neither UTC
nor the browser's), the check's problems counted as GET …/timeline/check counts them
and an under-filled show flagged where it airs, an entry's detail, a rebuild previewed
and done by a manager (GET …/timeline follows), and a DJ who may look but not rebuild.
axe-core at phone and desktop width for the list, the detail and the diff.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests import _browser
from tests._browser import PASSWORD, axe_at_widths, chromium, open_page, sign_in
from tests._onair import SHORT, Api, Up

ZONE = "Asia/Kolkata"
"""The station's zone: a half-hour offset, so an hour in UTC is not an hour on the page."""
BROWSER_ZONE = "America/Los_Angeles"
SHOW = "Polka hour"


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, httpx.Client]]:
    """The station in :data:`ZONE`, planned again there (2 h, as its planner does)."""
    with _browser.station_with_people("grimnir-ui-timeline-") as (up, _):
        api = Api(up.base)
        try:
            config = api.client.get(f"/stations/{SHORT}/config")
            config.raise_for_status()
            body = config.json()
            body["station"]["timezone"] = ZONE
            api.client.put(f"/stations/{SHORT}/config", json=body).raise_for_status()
            api.client.post(
                f"/stations/{SHORT}/timeline/rebuild", params={"hours": 2}
            ).raise_for_status()
            yield up, api.client
        finally:
            api.close()


async def _late(route: Any) -> None:
    await asyncio.sleep(1.5)
    await route.continue_()


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _words(report: dict[str, Any]) -> str:
    """The page's one-line count of a check report."""
    return (
        ", ".join(
            [
                _plural(len(report["gaps"]), "gap"),
                _plural(len(report["underfilled"]), "under-filled slot"),
                _plural(
                    len(report["relaxations"]),
                    "slot with relaxed rules",
                    "slots with relaxed rules",
                ),
                _plural(len(report["conflicts"]), "show conflict"),
                _plural(len(report["warnings"]), "warning"),
            ]
        )
        + "."
    )


def _is_check(response: Any) -> bool:
    return "/timeline/check" in response.url and response.request.method == "GET"


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")


def _title(entry: dict[str, Any]) -> str:
    title = entry["title"] or ("untitled" if entry["kind"] == "track" else entry["kind"])
    return f"{entry['artist']} — {title}" if entry["artist"] else title


def _window(client: httpx.Client, start: str, end: str) -> tuple[int, list[dict[str, Any]]]:
    """GET …/timeline over ``start`` … ``end``: the total and every entry."""
    items: list[dict[str, Any]] = []
    total = 0
    while True:
        got = client.get(
            f"/stations/{SHORT}/timeline",
            params={"from": start, "to": end, "limit": 500, "offset": len(items)},
        )
        got.raise_for_status()
        total = got.json()["total"]
        items += got.json()["items"]
        if len(items) >= total or not got.json()["items"]:
            return total, items


async def _shown_window(page: Any) -> tuple[str, str, str]:
    """The page's window (its ``from`` and ``to``) and its count of entries."""
    start = await page.get_by_test_id("from").get_attribute("datetime")
    end = await page.get_by_test_id("to").get_attribute("datetime")
    count = await page.get_by_test_id("entry-count").text_content()
    return str(start), str(end), str(count)


async def _no_page_scroll_at_phone_width(page: Any) -> None:
    await page.set_viewport_size({"width": 360, "height": 780})
    wide = await page.evaluate(
        "() => { const m = document.querySelector('main'); return m.scrollWidth - m.clientWidth }"
    )
    assert wide <= 0, f"the page is {wide} px wider than a phone"
    await page.set_viewport_size({"width": 1440, "height": 900})


@pytest.mark.asyncio
async def test_manager_sees_the_48_hours_and_its_problems_and_rebuilds(
    station_up: tuple[Up, httpx.Client],
) -> None:
    from playwright.async_api import expect

    up, client = station_up
    expect.set_options(timeout=30_000)
    # an under-filled slot: a show whose smart block matches no track of the library
    block = client.post(
        f"/stations/{SHORT}/smart-blocks",
        json={
            "name": "Polka only",
            "rules": {"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]},
        },
    )
    block.raise_for_status()
    show_start = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    client.post(
        f"/stations/{SHORT}/shows",
        json={
            "name": SHOW,
            "dtstart": show_start.isoformat(),
            "duration_ms": 3_600_000,
            "content": "smart_block",
            "smart_block_id": block.json()["id"],
        },
    ).raise_for_status()

    violations: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(timezone_id=BROWSER_ZONE)
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        # the station's own details (its zone) come late, as on a busy server: no page
        # may be drawn before them (it placed the entries in UTC's hours, so the hour
        # on air, which is open, showed none: a half-hour zone's hours start at :30)
        await page.route(f"**/api/v1/stations/{SHORT}", _late)
        await sign_in(page, up.base, "mia", PASSWORD)
        async with page.expect_response(_is_check, timeout=60_000) as checked:
            await open_page(page, "Timeline", "Timeline")
        report = await (await checked.value).json()
        assert any(SHOW in u["slot"] for u in report["underfilled"]), report["underfilled"]
        # the page counts what GET …/timeline/check answered it
        await expect(page.get_by_test_id("check-summary")).to_have_text(_words(report))
        await page.get_by_test_id("entry-count").wait_for()

        # the page lists what GET …/timeline has for its window, in station time
        start, end, count = await _shown_window(page)
        assert datetime.fromisoformat(end) - datetime.fromisoformat(start) == timedelta(hours=48)
        total, items = _window(client, start, end)
        assert total > 0
        assert count == _plural(total, "entry", "entries")
        rows = page.locator("tr[data-entry]")
        shown = min(5, await rows.count())
        assert shown >= 1, "the hour on air now is open"
        for i, item in enumerate(items[:shown]):
            row = rows.nth(i)
            assert await row.locator("time").text_content() == _local(item["starts_at"])
            assert await row.get_by_role("button").text_content() == _title(item)
        on_air = page.locator("tr.onair")
        if any(i["status"] == "on_air" for i in items):
            await expect(on_air).to_have_count(1)
            await expect(on_air).to_contain_text("on air now")

        # the show's under-fill: summarised at the top, flagged where it airs
        jump = page.locator("section.problems li", has_text=f"'{SHOW}'").get_by_role("button")
        await jump.click()
        marker = page.locator("tr.marker.underfill", has_text=f"'{SHOW}'")
        await expect(marker).to_be_visible()
        await expect(marker).to_be_focused()
        assert await marker.locator("time").text_content() == _local(show_start.isoformat())
        await _no_page_scroll_at_phone_width(page)
        violations += await axe_at_widths(page, "timeline list")

        # an entry's detail: what GET …/timeline/{id} says
        first = items[0]
        await rows.first.get_by_role("button").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_role("heading", level=2)).to_have_text(_title(first))
        await expect(dialog).to_contain_text(str(first["id"]))
        detail = client.get(f"/stations/{SHORT}/timeline/{first['id']}").json()
        await expect(dialog).to_contain_text(str(detail["media_id"]))
        await expect(dialog).to_contain_text(_local(detail["starts_at"]))
        await expect(dialog.get_by_role("alert")).to_have_count(0)
        violations += await axe_at_widths(page, "timeline detail")
        await dialog.get_by_role("button", name="Close").click()
        await expect(dialog).to_be_hidden()

        # a preview of a rebuild of 48 h: the stored 2 h grow, so it adds entries
        await page.get_by_label("Hours to plan").fill("48")
        async with page.expect_response(lambda r: "/timeline/diff" in r.url) as diffed:
            await page.get_by_role("button", name="Preview a rebuild").click()
        diff = await (await diffed.value).json()
        sentence = page.get_by_test_id("diff-sentence")
        await sentence.wait_for(timeout=60_000)
        said = re.search(
            r"would add (\d+) entr\w+, remove (\d+), move (\d+) and change (\d+)\.",
            str(await sentence.text_content()),
        )
        assert said is not None, await sentence.text_content()
        added, removed, moved, changed = (int(n) for n in said.groups())
        # moved: a removed and an added play of the same item, said once
        assert (added + moved, removed + moved, changed) == (
            len(diff["added"]),
            len(diff["removed"]),
            len(diff["changed"]),
        )
        assert added + moved > 0, "the stored 2 hours grow to 48"
        await expect(
            page.get_by_role("heading", name=re.compile(r"^Added \(\d+\)$"))
        ).to_be_visible()
        violations += await axe_at_widths(page, "timeline diff")

        # the rebuild itself, confirmed in a dialog; the list follows
        await page.get_by_role("button", name="Rebuild…").click()
        confirm = page.get_by_role("dialog", name="Rebuild the timeline?")
        await expect(confirm).to_be_visible()
        async with page.expect_response(_is_check, timeout=120_000) as checked:
            await confirm.get_by_role("button", name="Rebuild", exact=True).click()
        report = await (await checked.value).json()
        await expect(page.get_by_role("status")).to_contain_text("Rebuilt from")
        await expect(page.get_by_test_id("check-summary")).to_have_text(_words(report))
        await expect(page.get_by_test_id("entry-count")).not_to_have_text(count, timeout=60_000)
        start, end, count = await _shown_window(page)
        total_after, items_after = _window(client, start, end)
        assert count == _plural(total_after, "entry", "entries")
        assert total_after > total
        reach = max(datetime.fromisoformat(i["ends_at"]) for i in items_after)
        assert reach >= datetime.fromisoformat(end) - timedelta(minutes=5), "48 h are planned"
        # the show is stored now: its entries are filler, and say so
        jump = page.locator("section.problems li", has_text=f"'{SHOW}'").get_by_role("button")
        await jump.click()
        marker = page.locator("tr.marker.underfill", has_text=f"'{SHOW}'")
        await expect(marker).to_be_focused()
        filler = marker.locator("xpath=following-sibling::tr[@data-entry][1]")
        await expect(filler).to_contain_text(f"show {SHOW}")
        await expect(filler).to_contain_text("Under-filled slot: this is filler.")
        await context.close()
        assert problems == []
    assert violations == []


@pytest.mark.asyncio
async def test_a_dj_reads_the_timeline_but_may_not_rebuild(
    station_up: tuple[Up, httpx.Client],
) -> None:
    from playwright.async_api import expect

    up, client = station_up
    expect.set_options(timeout=30_000)
    async with chromium() as browser:
        context = await browser.new_context(timezone_id=BROWSER_ZONE)
        page = await context.new_page()
        await sign_in(page, up.base, "dan", PASSWORD)
        await open_page(page, "Timeline", "Timeline")
        await page.get_by_test_id("check-summary").wait_for(timeout=60_000)
        start, end, count = await _shown_window(page)
        total, _ = _window(client, start, end)
        assert count == _plural(total, "entry", "entries")
        await expect(page.get_by_role("heading", name="Preview a rebuild")).to_be_visible()
        await expect(page.get_by_role("button", name=re.compile("^Rebuild"))).to_have_count(0)
        await expect(page.locator("tr[data-entry]").first).to_be_visible()
        await context.close()
