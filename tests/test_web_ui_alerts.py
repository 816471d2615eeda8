"""The alerts page in a real browser against a real ``grimnir up``: with alerts off a
manager is told so and how to turn them on; once the station's ``eas`` section is
on (a local CAP feed as its source), CAP alerts pushed through the API show in the
month's compliance log with their decisions and reasons (one relayed and aired,
one filtered out of area, the second arriving while the page is open), a row
expands to the alert in full, the sources table shows the feed, the CSV, JSON and
printable exports are the chosen month's, and the weekly test goes out only once
confirmed. A DJ, who may not read the log, has no alerts page. axe-core at phone
and desktop width.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests._browser import (
    PASSWORD,
    WIDTHS,
    axe_at_widths,
    chromium,
    open_page,
    sign_in,
    station_with_people,
)
from tests._onair import SHORT, Api, Up
from tests._require import require_peer
from tests.eas_sources._http import Request, respond
from tests.eas_up._world import EAS, ThreadedServer, cap_now, wait_for

EMPTY_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:feed</id><title>IPAWS-OPEN</title>
<updated>2026-03-01T18:06:00Z</updated></feed>"""


async def _feed(request: Request, writer: asyncio.StreamWriter) -> None:
    if request.path == "/feed":
        await respond(writer, 200, EMPTY_FEED, {"Content-Type": "application/atom+xml"})
    else:
        await respond(writer, 404)


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, Api, str]]:
    require_peer("espeak-ng")  # alerts are read on air
    with (
        ThreadedServer(_feed) as server,
        station_with_people("grimnir-ui-alerts-", tracks=1, track_s=150.0) as (up, _),
    ):
        api = Api(up.base)
        try:
            yield up, api, server.url("/feed")
        finally:
            api.close()


def _enable_alerts(up: Up, api: Api, feed: str) -> None:
    """Store an ``eas`` section (alerts on, the local feed) and wait for its source."""
    config = api.client.get(f"/stations/{SHORT}/config").json()
    config["eas"] = {**EAS, "feeds": [{"url": feed, "poll_seconds": 5}]}
    api.client.put(f"/stations/{SHORT}/config", json=config).raise_for_status()

    def polled() -> bool:
        found = api.client.get(f"/stations/{SHORT}/alerts/sources").json()
        return any(s["last_ok"] for s in found["sources"])

    wait_for("the feed to be polled", polled, 60, up.tail())


def _push(api: Api, body: bytes) -> dict[str, object]:
    reply = api.client.post(f"/stations/{SHORT}/alerts/cap", content=body)
    reply.raise_for_status()
    got: dict[str, object] = reply.json()
    return got


@pytest.mark.asyncio
async def test_a_manager_reads_the_alert_log_and_a_dj_has_no_alerts_page(
    station_up: tuple[Up, Api, str], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    up, api, feed = station_up
    expect.set_options(timeout=30_000)
    month = datetime.now(UTC).strftime("%Y-%m")
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(accept_downloads=True)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "mia", PASSWORD)
        nav = page.get_by_role("navigation", name="Pages")

        # alerts off: the page says so and how to turn them on; nothing to originate
        await open_page(page, "Alerts", "Emergency alerts")
        off = page.get_by_test_id("alerts-off")
        await expect(off).to_contain_text("Emergency alerts are off on this station")
        await expect(off).to_contain_text("enabled: true")
        await expect(page.get_by_role("heading", name="Originate an alert")).to_have_count(0)
        violations += await axe_at_widths(page, "alerts off")

        # alerts on, one alert for our area already logged (relayed, aired)
        _enable_alerts(up, api, feed)
        relayed = _push(api, cap_now("ui-near"))
        assert relayed["decision"] == "relay", relayed
        await nav.get_by_role("link", name="Dashboard").click()
        await open_page(page, "Alerts", "Emergency alerts")
        await page.go_back()  # the browser's history holds the page like any other
        await expect(page.get_by_role("heading", name="On air")).to_be_visible()
        await page.go_forward()
        await expect(page.get_by_role("heading", name="Emergency alerts")).to_be_visible()
        assert page.url.endswith("/alerts")
        await page.reload()  # the address itself is the page (a bookmark, a reload)
        await expect(page.get_by_role("heading", name="Emergency alerts")).to_be_visible()
        await expect(page.get_by_test_id("alerts-off")).to_have_count(0)
        assert await page.get_by_label("Month", exact=True).input_value() == month
        rows = page.get_by_test_id("alert-row")
        await expect(rows).to_have_count(1)
        near = rows.filter(has_text="ZCZC-WXR-TOR-048453")
        await expect(near).to_contain_text("relayed")
        await expect(near).to_contain_text(str(relayed["reason"]))

        # a second alert, out of area, arrives while the page is open (the event stream)
        filtered = _push(api, cap_now("ui-far", area="006037"))
        assert filtered["decision"] == "filter", filtered
        await expect(rows).to_have_count(2)
        far = rows.filter(has_text="filtered")
        await expect(far).to_contain_text("no area matches 006037")
        await expect(far).to_contain_text("not aired")
        await expect(near).to_contain_text("latency", timeout=60_000)  # once alert.aired came

        # one row in full
        details = near.get_by_role("button", name="Details", exact=False)
        await details.click()
        await expect(details).to_have_attribute("aria-expanded", "true")
        full = page.locator(f"#alert-{relayed['alert_id']}")
        await expect(full).to_contain_text("ui-near-")
        await expect(full).to_contain_text("w-nws.webmaster@noaa.gov")
        await full.get_by_text("The message as received").click()
        await expect(full.locator("pre")).to_contain_text("<identifier>ui-near-")

        # the sources' health
        sources = page.get_by_test_id("alert-sources")
        source = sources.get_by_role("row", name=feed, exact=False)
        await expect(source).to_contain_text("running")
        await expect(source).to_contain_text("CAP feed")

        # the exports: this month's, fetched with the token
        for kind in ("csv", "json"):
            async with (
                page.expect_request(lambda r, k=kind: f"/alerts/export.{k}" in r.url) as asked,
                page.expect_download() as downloading,
            ):
                await page.get_by_role("button", name=f"Export {kind.upper()}").click()
            assert f"month={month}" in (await asked.value).url
            download = await downloading.value
            assert download.suggested_filename == f"alerts-{SHORT}-{month}.{kind}"
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            text = saved.read_text(encoding="utf-8")
            if kind == "json":
                exported = json.loads(text)
                assert exported["month"] == month
                assert sorted(a["decision"] for a in exported["alerts"]) == ["filter", "relay"]
            else:
                assert "no area matches 006037" in text
        async with (
            page.expect_request(lambda r: "/alerts/log/" in r.url) as asked,
            page.expect_popup() as opening,
        ):
            await page.get_by_role("button", name="Printable log").click()
        assert (await asked.value).url.endswith(f"/alerts/log/{month}")
        printable = await opening.value
        await printable.wait_for_url("blob:**")
        await expect(printable.locator("body")).to_contain_text("Emergency alert log")
        await expect(printable.locator("body")).to_contain_text("no area matches 006037")
        await printable.close()
        violations += await axe_at_widths(page, "alert log with a row open")
        for name, (width, height) in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            await page.screenshot(path=str(tmp_path / f"alerts-{name}.png"), full_page=True)

        # the weekly test: nothing goes out until it is confirmed
        originate = page.get_by_role("region", name="Originate an alert")
        await originate.get_by_role("button", name="Send the weekly test…").click()
        dialog = page.get_by_role("dialog", name="Send the weekly test?")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_be_hidden()
        assert api.client.get(f"/stations/{SHORT}/alerts").json()["total"] == 2
        await originate.get_by_role("button", name="Send the weekly test…").click()
        await dialog.get_by_role("button", name="Send the test").click()
        await expect(originate.get_by_role("status")).to_contain_text("Weekly test relayed")
        await expect(rows).to_have_count(3)
        await expect(rows.first).to_contain_text("ZCZC-EAS-RWT-048453")
        assert problems == []

        # a DJ may not read the log: no alerts page
        dj = await browser.new_page()
        await sign_in(dj, up.base, "dan", PASSWORD)
        bar = dj.get_by_role("navigation", name="Pages")
        await expect(bar.get_by_role("link", name="As-run")).to_be_visible()
        assert await bar.get_by_role("link", name="Alerts").count() == 0
    assert violations == []
