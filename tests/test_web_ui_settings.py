"""The station settings page and the live page's web streams and priority, in a
real browser against a real ``grimnir up``.

A manager changes the crossfade in the settings form and saves it (the API then
holds it); in the YAML tab a wrong type shows the very line ``grimnir config
check`` prints for the same text, selecting it puts the cursor on that line,
and Save stores nothing; fixed, it is saved. On the live page the manager adds
a web stream (the station's own listen URL) and sees its health, resets it, and
puts a harbor mount on air by override and releases it, each confirmed in a
dialog, with the API following. A DJ has no settings page and sees both live
sections without a control that edits. axe-core finds no serious or critical
violation at phone and desktop width in each state; nothing of the pages is
wider than a phone.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest

from grimnir.api.routes.ui import UI_DIR_ENV
from tests import _browser, _onair
from tests._browser import PASSWORD, axe_at_widths, chromium, open_page, sign_in
from tests._onair import SHORT, Api, Station, Up

STREAM = "Loopback relay"
GRIMNIR = Path(sys.executable).with_name("grimnir")
_OVERFLOW = """() => { const main = document.querySelector('main');
    return main.scrollWidth - main.clientWidth; }"""


@contextlib.contextmanager
def _ui_dir_passed_on() -> Iterator[None]:
    """``make_station`` drops every ``GRIMNIR_*`` variable from the station's
    environment; pass ``GRIMNIR_UI_DIR`` on so ``grimnir up`` serves the UI under test."""
    ui_dir = os.environ.get(UI_DIR_ENV)
    if not ui_dir:
        yield
        return
    make = _onair.make_station

    def make_with_ui(*args: Any, **kwargs: Any) -> Station:
        station = make(*args, **kwargs)
        station.env[UI_DIR_ENV] = ui_dir
        return station

    with mock.patch("tests._browser.make_station", make_with_ui):
        yield


@pytest.fixture(scope="module")
def station_up() -> Iterator[tuple[Up, httpx.Client]]:
    with _ui_dir_passed_on(), _browser.station_with_people("grimnir-ui-settings-") as (up, _):
        api = Api(up.base)
        try:
            yield up, api.client
        finally:
            api.close()


def _config(api: httpx.Client) -> dict[str, Any]:
    reply = api.get(f"/stations/{SHORT}/config")
    reply.raise_for_status()
    data: dict[str, Any] = reply.json()
    return data


def _config_check(folder: Path, text: str) -> list[str]:
    """What ``grimnir config check station.yaml`` says of ``text``, run as a user would."""
    (folder / "station.yaml").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(GRIMNIR), "config", "check", "station.yaml", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    problems: list[str] = json.loads(done.stdout)["problems"]
    return problems


async def _wide(page: Any, where: str) -> list[str]:
    """The page's content (not the shared bar) wider than a phone, at phone width
    (a wide table scrolls in its own region, which is fine)."""
    await page.set_viewport_size({"width": 360, "height": 780})
    over: int = await page.evaluate(_OVERFLOW)
    await page.set_viewport_size({"width": 1440, "height": 900})
    return [f"{where}: {over} px wider than the phone"] if over > 0 else []


@pytest.mark.asyncio
async def test_a_manager_edits_the_settings_and_the_live_sections(
    station_up: tuple[Up, httpx.Client], tmp_path: Path
) -> None:
    up, api = station_up
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(page, up.base, "mia", PASSWORD)
        await open_page(page, "Settings", "Station settings")

        # the form: crossfade, saved through the server's checks
        fade = page.get_by_label("Crossfade between sources (ms)")
        await fade.wait_for()
        assert await fade.input_value() == str(_config(api)["failover"]["layer_fade_ms"])
        violations += await axe_at_widths(page, "settings form")
        violations += await _wide(page, "settings form")
        await fade.fill("1200")
        await page.get_by_role("button", name="Save settings").click()
        await page.get_by_role("status").filter(has_text="saved").wait_for()
        assert _config(api)["failover"]["layer_fade_ms"] == 1200

        # the YAML: the same line-exact problem as the CLI, and nothing stored
        await page.get_by_role("tab", name="YAML").click()
        editor = page.get_by_label("Station config (YAML)")
        await page.wait_for_function(
            "() => document.querySelector('#config-yaml').value.includes('layer_fade_ms: 1200')"
        )
        text = await editor.input_value()
        lines = text.splitlines()
        line = next(n for n, row in enumerate(lines, 1) if "layer_fade_ms:" in row)
        bad = text.replace("layer_fade_ms: 1200", "layer_fade_ms: soon")
        await editor.fill(bad)
        await page.get_by_role("button", name="Check", exact=True).click()
        await page.get_by_role("alert").filter(has_text="1 problem").wait_for()
        expected = _config_check(tmp_path, bad)
        assert expected == [
            f"station.yaml:{line} failover.layer_fade_ms: must be a whole number (got 'soon')"
        ]
        shown = page.get_by_role("button", name=f"Line {line}")
        assert (await shown.locator(".text").text_content()) == expected[0]
        violations += await axe_at_widths(page, "settings yaml with errors")
        violations += await _wide(page, "settings yaml with errors")
        await shown.click()  # the cursor goes to the line
        at = await page.evaluate(
            "() => { const t = document.activeElement; return t.id === 'config-yaml' && "
            "t.value.slice(0, t.selectionStart).split('\\n').length; }"
        )
        assert at == line
        before = _config(api)
        await page.get_by_role("button", name="Save", exact=True).click()
        await page.get_by_role("alert").filter(has_text="Not saved").wait_for()
        assert _config(api) == before
        await editor.fill(bad.replace("layer_fade_ms: soon", "layer_fade_ms: 900"))
        await page.get_by_role("button", name="Save", exact=True).click()
        await page.get_by_role("status").filter(has_text="saved").wait_for()
        assert _config(api)["failover"]["layer_fade_ms"] == 900
        await page.get_by_role("tab", name="Form").click()
        assert await fade.input_value() == "900"  # the form follows

        # the live page: a web stream with its health
        await open_page(page, "Live", "Live")
        streams = page.get_by_role("region", name="Web streams", exact=True)
        await streams.get_by_role("button", name="New web stream").click()
        listen = api.get(f"/stations/{SHORT}").json()["listen_urls"][0]
        await page.get_by_label("Stream name").fill(STREAM)
        await page.get_by_label("Stream URLs, one per line").fill(listen)
        await page.get_by_role("button", name="Add web stream").click()
        await page.get_by_role("status").filter(has_text=f"{STREAM} was added").wait_for()
        row = streams.get_by_test_id("webstream-row").filter(has_text=STREAM)
        await row.get_by_test_id("webstream-health").filter(has_text="unknown").wait_for()
        assert listen in (await row.text_content() or "")
        listed = api.get(f"/stations/{SHORT}/webstreams").json()["items"]
        assert [(s["name"], s["urls"]) for s in listed] == [(STREAM, [listen])]
        await row.get_by_role("button", name=f"Reset {STREAM}").click()
        dialog = page.get_by_role("dialog", name="Reset web stream")
        await dialog.get_by_role("button", name="Reset").click()
        await page.get_by_role("status").filter(has_text=f"{STREAM} was reset").wait_for()

        # priority: override, then release, each confirmed; the API follows
        priority = page.get_by_role("region", name="Priority", exact=True)
        await priority.get_by_label("Override mount").select_option("/live")
        await priority.get_by_role("button", name="Override", exact=True).click()
        await (
            page.get_by_role("dialog", name="Live override")
            .get_by_role("button", name="Override")
            .click()
        )
        await priority.get_by_role("status").filter(has_text="Override on /live").wait_for()
        claims = api.get(f"/stations/{SHORT}/priority").json()["sources"]
        assert ("live_override", "/live") in [(c["kind"], c["ref"]) for c in claims]
        claim = priority.get_by_test_id("priority-claim").filter(has_text="Live override")
        await claim.wait_for()
        violations += await axe_at_widths(page, "live sections")
        violations += await _wide(page, "live sections")
        await claim.get_by_role("button", name="Release Live override /live").click()
        await (
            page.get_by_role("dialog", name="Release").get_by_role("button", name="Release").click()
        )
        await priority.get_by_role("status").filter(has_text="Released").wait_for()
        claims = api.get(f"/stations/{SHORT}/priority").json()["sources"]
        assert "live_override" not in [c["kind"] for c in claims]
        await claim.wait_for(state="detached")
        assert problems == []
    assert violations == []


@pytest.mark.asyncio
async def test_a_dj_sees_the_live_sections_without_controls_and_no_settings(
    station_up: tuple[Up, httpx.Client],
) -> None:
    up, api = station_up
    if not api.get(f"/stations/{SHORT}/webstreams").json()["items"]:
        api.post(
            f"/stations/{SHORT}/webstreams", json={"name": STREAM, "urls": ["http://127.0.0.1:9/x"]}
        ).raise_for_status()
    violations: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, up.base, "dan", PASSWORD)
        bar = page.get_by_role("navigation", name="Pages")
        assert await bar.get_by_role("link", name="Settings").count() == 0
        await open_page(page, "Live", "Live")
        streams = page.get_by_role("region", name="Web streams", exact=True)
        await streams.get_by_test_id("webstream-row").filter(has_text=STREAM).wait_for()
        priority = page.get_by_role("region", name="Priority", exact=True)
        await priority.get_by_test_id("priority-on-air").filter(has_text="Automation").wait_for()
        assert await streams.get_by_role("button").count() == 0
        assert await priority.get_by_role("button").count() == 0
        assert await priority.get_by_role("combobox").count() == 0
        violations += await axe_at_widths(page, "live sections (DJ)")
    assert violations == []
