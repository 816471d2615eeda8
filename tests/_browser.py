"""What the web UI's browser tests share (issue 18): a station up with a
manager and a DJ beside the administrator, Debian's chromium driven by
Playwright, sign-in, and axe-core's serious and critical violations.

Each test module starts its own ``grimnir up`` (module scope) and signs in a
few times only: the login rate limit allows a burst of five per address.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from tests._onair import SHORT, Api, Up, make_station
from tests._require import require_peer, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "web-ui-test-pw-1"
WIDTHS = {"phone": (360, 780), "desktop": (1440, 900)}
PEOPLE = (("mia", "manager"), ("dan", "dj"))
"""Accounts made beside the administrator, with their role on the station."""


@contextlib.contextmanager
def station_with_people(
    prefix: str, *, tracks: int = 4, track_s: float = 40.0, timezone: str = "UTC"
) -> Iterator[tuple[Up, Path]]:
    """A real ``grimnir up`` on a temporary data dir with :data:`PEOPLE` as members
    (``GRIMNIR_UI_DIR``, when set, reaches it: the UI under test)."""
    require_peer("ffmpeg")
    with tempfile.TemporaryDirectory(prefix=prefix) as temp:
        root = Path(temp)
        station = make_station(
            root, tracks=tracks, track_s=track_s, emergency=False, timezone=timezone
        )
        up = Up(station)
        try:
            up.wait_ready(120)
            api = Api(up.base)
            try:
                for name, role in PEOPLE:
                    made = api.client.post("/users", json={"username": name, "password": PASSWORD})
                    made.raise_for_status()
                    api.client.put(
                        f"/stations/{SHORT}/members/{made.json()['id']}", json={"role": role}
                    ).raise_for_status()
            finally:
                api.close()
            yield up, root
        finally:
            up.stop()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's chromium under Playwright (it cannot download its own here)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=require_peer("chromium"), args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def axe(page: Any, where: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not AXE.exists():
        skip_or_fail(f"needs axe-core from the UI's packages ({AXE}): run make install")
    # NOTE: evaluated through the DevTools protocol, which the page's Content
    # Security Policy does not govern (a <script> tag it would refuse, rightly)
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = await page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def axe_at_widths(page: Any, where: str) -> list[str]:
    """:func:`axe` at phone and desktop width (the page is left at desktop width)."""
    found: list[str] = []
    for width_name, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        found += await axe(page, f"{where} {width_name}")
    return found


async def sign_in(page: Any, base: str, user: str, password: str) -> None:
    """Sign in from the start page and wait for the dashboard."""
    await page.goto(base + "/")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="On air").wait_for(timeout=20_000)


async def open_page(page: Any, label: str, heading: str) -> None:
    """Go to a page by its link in the bar and wait for its heading."""
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name=label).click()
    await page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=20_000)
