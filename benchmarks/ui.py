"""The web UI's weight and speed (issue 18), against baselines of the same run.

1. What a first visit downloads: the page and every JS and CSS file it loads,
   gzip-compressed (what a server or proxy with compression sends). Goal:
   JS + CSS ≤ 200 KB. Baseline: the public player page's own files.
2. Time from navigation to a usable dashboard on loopback (Debian's chromium,
   Playwright): signed in already (tokens in the tab), from ``goto`` until the
   item on air is shown. Baseline: the same browser loading the public player
   page until its title shows what plays. Median of ``--runs``.

Starts a station as a user does (``tests/_onair.py``: ``grimnir station add``,
a scanned library of tones, ``grimnir up`` on free loopback ports).
(The library page's 100k-track figures come with the library page.)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests._onair import ADMIN, SHORT, Up, make_station  # noqa: E402 — the repository's helpers

GOAL_KB = 200.0


def first_load(base: str, page: str) -> tuple[float, float, list[str]]:
    """(gzip KB of JS + CSS, gzip KB of the HTML, files) that ``page`` loads."""
    with httpx.Client(base_url=base, timeout=10) as client:
        html = client.get(page).text
        files = re.findall(r'(?:src|href)="(/(?:assets|static)/[^"]+\.(?:js|css))"', html)
        size = sum(len(gzip.compress(client.get(f).content, 6)) for f in files)
    return size / 1024, len(gzip.compress(html.encode(), 6)) / 1024, files


async def timings(base: str, runs: int) -> tuple[list[float], list[float]]:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    ui: list[float] = []
    player: list[float] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(base + "/")
            await page.get_by_label("Username").fill(ADMIN[0])
            await page.get_by_label("Password").fill(ADMIN[1])
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_test_id("now").filter(has_text="track").wait_for(timeout=30_000)
            for _ in range(runs):
                started = time.perf_counter()
                await page.goto(base + "/")
                await page.get_by_test_id("now").filter(has_text="track").wait_for()
                ui.append(time.perf_counter() - started)
                other = await browser.new_page()
                started = time.perf_counter()
                await other.goto(f"{base}/public/{SHORT}")
                await other.locator("#song").filter(has_text="track").wait_for()
                player.append(time.perf_counter() - started)
                await other.close()
        finally:
            await browser.close()
    return ui, player


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grimnir-bench-ui-") as temp:
        station = make_station(Path(temp), tracks=3, track_s=120.0, emergency=False)
        up = Up(station)
        try:
            up.wait_ready(120)
            ui_kb, ui_html, ui_files = first_load(up.base, "/")
            pl_kb, pl_html, pl_files = first_load(up.base, f"/public/{SHORT}")
            print("1) first load, gzip-compressed")
            for label, kb, html, files in (
                ("web UI     ", ui_kb, ui_html, ui_files),
                ("player page", pl_kb, pl_html, pl_files),
            ):
                extra = "; baseline" if label.startswith("player") else ""
                print(
                    f"   {label} JS+CSS {kb:7.1f} KB"
                    f"  (+ page {html:.1f} KB; {len(files)} files{extra})"
                )
            print(f"   ratio web UI / player: {ui_kb / max(pl_kb, 1e-9):.1f}")
            verdict = "met" if ui_kb <= GOAL_KB else "NOT met"
            print(f"   goal JS+CSS <= {GOAL_KB:.0f} KB: {verdict}")
            ui, player = asyncio.run(timings(up.base, args.runs))
            u, p = statistics.median(ui) * 1000, statistics.median(player) * 1000
            print(f"2) navigation to usable, loopback, median of {args.runs}")
            print(f"   dashboard (signed in)   {u:7.1f} ms  (max {max(ui) * 1000:.1f})")
            print(f"   public player (baseline) {p:7.1f} ms  (max {max(player) * 1000:.1f})")
            print(f"   ratio dashboard / player: {u / p:.2f}")
        finally:
            up.stop()


if __name__ == "__main__":
    main()
