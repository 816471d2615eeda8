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
import cProfile
import gzip
import hashlib
import io
import os
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Table, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.api import ApiContext, create_app
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.bus import MemoryBus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.domain import MediaState
from grimnir.services.accounts import create_user
from grimnir.services.stations import register_station
from grimnir.store import create_engine, mask_url, session_factory, upgrade
from grimnir.store.models import MediaItem

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    from tests._onair import ADMIN, SHORT

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


def run_weight(args: argparse.Namespace) -> None:
    """Parts 1 and 2 on a station started as a user does."""
    from tests._onair import SHORT, Up, make_station  # the repository's helpers

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


# ---------------------------------------------------------------------------
# 3. The library page with 100k tracks (server time, in process)
# ---------------------------------------------------------------------------

GOAL_MS = 100.0
PASSWORD = "correct horse battery"  # noqa: S105 — a user of a throwaway database
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION = "wgmr"
SORTS = ("artist", "title", "created_at", "duration")
SCROLLS = (50, 100, 150, 200, 250)
DEEP = (10_000, 50_000, 99_950)
WORD = "Lighthouse"
"""In ~1 % of titles and nowhere else: the ``q=`` search."""
_PG_ADMIN = ("GRIMNIR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_VOCAB = (  # noqa: SIM905 — words, not a list of 230 lines
    "love night heart fire rain summer blue road home light dream river moon gold "
    "shadow city wild echo ghost silver storm winter morning ocean dance time sky "
    "stone glass paper honey velvet thunder neon electric broken lost sweet cold "
    "burning falling running hidden secret golden empty endless quiet little last "
    "first long slow high deep open lonely bright dark young old northern southern "
    "eastern western midnight sunrise sunset highway garden window mirror letter "
    "song story island desert forest mountain valley harbor station radio signal "
    "wire machine engine kingdom empire castle tower bridge street avenue canyon "
    "prairie meadow orchard harvest autumn spring thunderbird hurricane tornado "
    "feather diamond crystal copper iron steel cotton satin leather denim whiskey "
    "wine coffee sugar cherry lemon orange violet scarlet crimson amber emerald "
    "sapphire jade ivory ebony pearl ruby tiger wolf fox raven eagle sparrow dove "
    "horse lion bear snake spider butterfly dragon angel devil saint sinner king "
    "queen prince princess soldier sailor pilot driver dancer singer stranger "
    "lover friend brother sister mother father daughter son baby darling honey "
    "paradise heaven hell fever magic miracle wonder promise prayer memory "
    "yesterday tomorrow forever never always nowhere somewhere everywhere "
    "été façade señor mañana über straße fjord øya ålesund kärlek café naïve "
    "ciudad noche corazón amor sueño vida liebe nacht herz traum"
).split()
_GENRES = (  # noqa: SIM905
    "Rock Pop Jazz Blues Country Folk Soul Funk Disco House Techno Trance Ambient "
    "Classical Baroque Opera Reggae Ska Punk Metal Grunge Indie Alternative Hip-Hop "
    "R&B Gospel Bluegrass Americana Latin Salsa Tango Bossa-Nova Samba Afrobeat "
    "Highlife Electro Dubstep Drum&Bass Garage Grime Lo-Fi Synthwave Shoegaze "
    "Post-Rock Emo Hardcore Swing Bebop Fusion Chanson Schlager Fado Flamenco K-Pop "
    "J-Pop Cumbia Zydeco Cajun Celtic Bhangra Qawwali Rai Soca Calypso Dancehall"
).split()


def _name(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_VOCAB).capitalize() for _ in range(words))


def media_rows(station_id: uuid.UUID, count: int, waveforms: bool) -> Iterator[dict[str, Any]]:
    """``count`` realistic rows for ``media_items``: ~3,000 artists with ~9,000
    albums, ~70 genres, varied titles (1 % with ``WORD``), 95 % ready (with
    analysis and, if ``waveforms``, a waveform of 2 bytes per 100 ms), 2 %
    pending, 0.5 % analysing, 2.5 % failed; 1 % without tags."""
    rng = random.Random(18)
    pool = rng.randbytes(64 * 1024)
    artists = [
        (f"The {_name(rng, 1)}s" if rng.random() < 0.2 else _name(rng, rng.randint(1, 3)))
        for _ in range(3_000)
    ]
    albums = [(rng.randrange(len(artists)), _name(rng, rng.randint(1, 4))) for _ in range(9_000)]
    genres = [*_GENRES]
    moods = ["happy", "sad", "energetic", "calm", "dark", "romantic", None]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span_s = 3 * 365 * 86_400
    for i in range(count):
        artist_ix, album = albums[rng.randrange(len(albums))]
        artist: str | None = artists[artist_ix]
        words = [rng.choice(_VOCAB).capitalize() for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.01:
            words.insert(rng.randrange(len(words) + 1), WORD)
        title: str | None = " ".join(words)
        if rng.random() < 0.01:
            artist = title = None
        roll = rng.random()
        state = (
            MediaState.READY
            if roll < 0.95
            else MediaState.PENDING
            if roll < 0.97
            else MediaState.ANALYZING
            if roll < 0.975
            else MediaState.FAILED
        )
        ready = state is MediaState.READY
        duration = int(rng.lognormvariate(12.35, 0.35)) if ready else None  # ~4 min median
        bitrate = rng.choice((128, 192, 256, 320))
        created = start + timedelta(seconds=span_s * i / count + rng.random() * 60)
        track = rng.randint(1, 14)
        wave: bytes | None = None
        if ready and waveforms and duration is not None:
            size = min(2 * -(-duration // 100), len(pool))
            at = rng.randrange(len(pool) - size + 1)
            wave = pool[at : at + size]
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "station_id": station_id,
            "sha256": hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
            "path": f"/srv/music/{artists[artist_ix]}/{album}/{track:02d} {i:06d}.mp3",
            "size_bytes": (duration or 200_000) * bitrate // 8,
            "format": "mp3",
            "sample_rate_hz": 44_100,
            "channels": 2,
            "bitrate_kbps": bitrate,
            "title": title,
            "artist": artist,
            "album": album if artist else None,
            "album_artist": artist,
            "genre": rng.choice(genres) if rng.random() < 0.9 else None,
            "mood": rng.choice(moods),
            "year": rng.randint(1955, 2026) if rng.random() < 0.8 else None,
            "bpm": round(rng.uniform(60, 180), 1) if ready else None,
            "isrc": None,
            "label": None,
            "composer": None,
            "language": None,
            "track_number": track,
            "disc_number": 1,
            "explicit": rng.random() < 0.05,
            "comment": None,
            "replaygain_track_gain_db": None,
            "replaygain_track_peak": None,
            "replaygain_album_gain_db": None,
            "replaygain_album_peak": None,
            "custom_tags": {},
            "artwork_path": None,
            "duration_ms": duration,
            "loudness_lufs": round(rng.uniform(-20, -7), 2) if ready else None,
            "loudness_range_lu": round(rng.uniform(2, 15), 2) if ready else None,
            "true_peak_dbtp": round(rng.uniform(-3, 0.5), 2) if ready else None,
            "gain_db": round(rng.uniform(-9, 4), 2) if ready else None,
            "cue_in_ms": 0,
            "cue_out_ms": duration,
            "intro_end_ms": None,
            "segue_ms": duration - 4_000 if duration and duration > 8_000 else None,
            "waveform": wave,
            "state": state,
            "failed_reason": (
                "no audio stream found (ffprobe: Invalid data found when processing input)"
                if state is MediaState.FAILED
                else None
            ),
            "analysis_attempts": 0 if state is MediaState.PENDING else 1,
            "analysis_started_at": created if state is MediaState.ANALYZING else None,
            "play_count": rng.randint(0, 200) if ready else 0,
            "last_played_at": created + timedelta(days=rng.randint(1, 300)) if ready else None,
            "created_at": created,
            "updated_at": created,
        }


class SqlClock:
    """Time spent in SQL statements (execute and fetch), and the last statements."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.seconds = 0.0
        self.statements: list[tuple[str, Any, float]] = []
        self._started = 0.0
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        took = time.perf_counter() - self._started
        self.seconds += took
        self.statements.append((statement, params, took))
        del self.statements[:-100]


@dataclass
class Case:
    label: str
    params: dict[str, str | int]
    total: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    matched: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.total)

    @property
    def p95(self) -> float:
        return p95(self.total)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class Library:
    client: httpx.AsyncClient
    clock: SqlClock
    engine: AsyncEngine
    backend: str
    baseline: Case = field(default_factory=lambda: Case("station", {}))

    async def get(self, path: str, params: dict[str, str | int]) -> tuple[float, float, Any]:
        before = self.clock.seconds
        started = time.perf_counter()
        answer = await self.client.get(path, params=params)
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {answer.status_code} {answer.text[:300]}")
        return took * 1000, (self.clock.seconds - before) * 1000, answer.json()

    async def measure(self, case: Case, repeats: int, budget_s: float) -> Case:
        """``case`` ``repeats`` times (at least 3, fewer if over ``budget_s``), each
        followed by the baseline request, so noise hits both alike."""
        await self.get(MEDIA_PATH, case.params)  # warm-up (plans, caches)
        deadline = time.perf_counter() + budget_s
        while len(case.total) < repeats and (len(case.total) < 3 or time.perf_counter() < deadline):
            total, sql, body = await self.get(MEDIA_PATH, case.params)
            case.total.append(total)
            case.sql.append(sql)
            case.matched = body["total"]
            base, base_sql, _ = await self.get(STATION_PATH, {})
            self.baseline.total.append(base)
            self.baseline.sql.append(base_sql)
        return case


MEDIA_PATH = f"/api/v1/stations/{STATION}/media"
STATION_PATH = f"/api/v1/stations/{STATION}"


def page(sort: str, order: str, offset: int, **extra: str) -> dict[str, str | int]:
    return {"limit": 50, "offset": offset, "sort": sort, "order": order, **extra}


def postgres_admin_url() -> str:
    return os.environ.get(_PG_ADMIN[0], _PG_ADMIN[1])


async def _pg_admin(admin_url: str, *statements: str) -> None:
    engine = create_engine(admin_url)
    try:
        admin = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with asyncio.timeout(10), admin.connect() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def populate(url: str, tracks: int, waveforms: bool) -> tuple[float, int]:
    """Migrate ``url``, register the station and the admin, bulk insert ``tracks``
    items: (seconds the insert took, waveform bytes)."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
            raw["station"]["short_name"] = STATION
            station, _ = await register_station(session, StationConfig.model_validate(raw))
            await create_user(session, username="admin", password=PASSWORD, is_admin=True)
            await session.commit()
            station_id = station.id
        table = MediaItem.__table__
        assert isinstance(table, Table)
        started = time.perf_counter()
        wave_bytes = 0
        async with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in media_rows(station_id, tracks, waveforms):
                wave_bytes += len(row["waveform"] or b"")
                batch.append(row)
                if len(batch) == 5_000:
                    await conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                await conn.execute(table.insert(), batch)
        took = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # NOTE: autovacuum vacuums and analyses a table this changed within a minute
            # or so (its insert threshold): the visibility map lets index-only scans
            # skip the rows
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM ANALYZE media_items")
    finally:
        await engine.dispose()
    return took, wave_bytes


@asynccontextmanager
async def library_app(url: str, folder: Path) -> AsyncIterator[Library]:
    engine = create_engine(url)
    bus = MemoryBus()
    await bus.connect()
    off = Limit(0, 0)
    ctx = ApiContext(
        settings=Settings(data_dir=folder, database_url=url),
        sessions=session_factory(engine),
        bus=bus,
        secret=b"k" * 64,
        limits=Limits(login=RateLimiter(off), harbor=RateLimiter(off), public=RateLimiter(off)),
    )
    app = create_app(ctx)
    clock = SqlClock(engine)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
            answer = await anon.post(
                "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
            )
            answer.raise_for_status()
            token = answer.json()["access_token"]
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as client:
            yield Library(client, clock, engine, engine.dialect.name)
    finally:
        await bus.close()
        await engine.dispose()


async def explain(lib: Library, statement: str, params: Any) -> list[str]:
    """The database's plan of ``statement`` (PostgreSQL: run, with times)."""
    args = tuple(params) if isinstance(params, list | tuple) else params
    async with lib.engine.connect() as conn:
        if lib.backend == "sqlite":
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, args)).all()
            return [str(row[-1]) for row in rows]
        rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, args)).all()
        return [str(row[0]) for row in rows]


def _kind(statement: str) -> str:
    """Which of the library route's statements this is: count, page or other."""
    flat = " ".join(statement.split()).lower()
    if "from media_items" not in flat:
        return "other"
    return "count" if flat.startswith("select count(") else "page"


def _short(statement: str) -> str:
    flat = " ".join(statement.split())
    return re.sub(
        r"^SELECT (media_items\.\w+, ){5,}media_items\.\w+ FROM",
        "SELECT <all 49 columns> FROM",
        flat,
    )


def index_advice(backend: str, case: Case, plan: list[str]) -> str:
    """What the plan of the page query says about indexes."""
    params = case.params
    column = {"duration": "duration_ms"}.get(str(params.get("sort")), str(params.get("sort")))
    keys = ", ".join(dict.fromkeys((column, "title", "id")))
    text = "\n".join(plan)
    if "q" in params:
        return (
            "no index: lower(column) LIKE '%word%' cannot use a B-tree; every row of the "
            "station is read and folded (on SQLite by the Python lower() the store "
            "registers). A fix is not an index on these columns but a folded search column "
            "with a trigram index (PostgreSQL pg_trgm GIN) or an FTS5 table (SQLite)"
        )
    sorted_all = "USE TEMP B-TREE FOR ORDER BY" in text or (
        "Sort Key" in text
        and "Index Scan" not in text.split("Sort Key")[0]
        and "Presorted Key" not in text
    )
    if "state" in params and sorted_all and "state" in text:
        return "the state index finds the rows; sorting the few of them is cheap"
    if sorted_all:
        return (
            f"index missing for this order: no index yields ({keys}), so every "
            f"row of the station is read and sorted for each page; an index on media_items"
            f"(station_id, {keys}) would serve it (in SQLite's and PostgreSQL's "
            f"index order for {params.get('order')} NULLS LAST: see the README)"
        )
    return "the order comes from an index; the cost is the rows skipped by OFFSET"


async def profile(lib: Library, case: Case, requests: int = 5) -> None:
    """cProfile of ``requests`` requests of ``case``, its SQL statements' times and plans."""
    # NOTE: cProfile sees this thread only; aiosqlite runs SQLite on a thread of its
    # own (that time shows here as waiting in the event loop's poll)
    profiler = cProfile.Profile()
    took: list[float] = []
    lib.clock.statements.clear()
    profiler.enable()
    for _ in range(requests):
        total, _sql, _ = await lib.get(MEDIA_PATH, case.params)
        took.append(total)
    profiler.disable()
    median = statistics.median(took)
    print(f"   -- profile of {case.label} ({requests} requests, median {median:.1f} ms)")
    by_kind: dict[str, list[float]] = {}
    last: dict[str, tuple[str, Any]] = {}
    for statement, params, seconds in lib.clock.statements:
        kind = _kind(statement)
        by_kind.setdefault(kind, []).append(seconds * 1000)
        last[kind] = (statement, params)
    per_request = {
        kind: sum(values) / len(lib.clock.statements) / requests for kind, values in by_kind.items()
    }
    print(
        "      SQL per request: "
        + ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in sorted(per_request.items()))
        + f"; the rest {median - sum(per_request.values()):.1f} ms (Python, and on SQLite "
        "the rows' fetch: the cursor steps the sort then, on aiosqlite's thread = epoll below)"
    )
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(10)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("      top 10 by own time (cProfile of this thread):")
    for line in lines[start : start + 11]:
        print("      " + line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")[:140])
    for kind in ("count", "page"):
        if kind not in last:
            continue
        statement, params = last[kind]
        plan = await explain(lib, statement, params)
        print(f"      plan of the {kind} query ({lib.backend}): {_short(statement)[:300]}")
        for line in plan:
            print("        | " + line)
        if kind == "page":
            print("      => " + index_advice(lib.backend, case, plan))


async def library_part(backend: str, url: str, folder: Path, args: argparse.Namespace) -> bool:
    """Measure and print part 3 on one database; True when both goals are met."""
    took, wave_bytes = await populate(url, args.tracks, not args.no_waveforms)
    print(f"3) library page, {args.tracks:,} tracks, {backend} (in process: server time)")
    print(
        f"   insert: {args.tracks:,} rows in {took:.1f} s ({args.tracks / took:,.0f} rows/s; "
        f"waveforms {wave_bytes / 2**20:.0f} MiB; not a goal)"
    )
    async with library_app(url, folder) as lib:
        for _ in range(5):
            await lib.get(STATION_PATH, {})
        rows: list[tuple[str, Case, list[Case], list[Case]]] = []
        for sort in SORTS:
            for order in ("asc", "desc"):
                first = await lib.measure(
                    Case(f"sort={sort}&order={order} offset 0", page(sort, order, 0)),
                    args.repeats,
                    args.budget,
                )
                scroll = [
                    await lib.measure(
                        Case(f"sort={sort}&order={order} offset {o}", page(sort, order, o)),
                        max(3, args.repeats // 2),
                        args.budget / 2,
                    )
                    for o in SCROLLS
                ]
                deep = [
                    await lib.measure(
                        Case(f"sort={sort}&order={order} offset {o}", page(sort, order, o)),
                        max(3, args.repeats // 2),
                        args.budget / 2,
                    )
                    for o in DEEP
                ]
                rows.append((f"{sort} {order}", first, scroll, deep))
        search = await lib.measure(
            Case(f"q={WORD.lower()} offset 0", page("artist", "asc", 0, q=WORD.lower())),
            args.repeats,
            args.budget,
        )
        search_next = await lib.measure(
            Case(f"q={WORD.lower()} offset 50", page("artist", "asc", 50, q=WORD.lower())),
            max(3, args.repeats // 2),
            args.budget / 2,
        )
        failed = await lib.measure(
            Case("state=failed offset 0", page("artist", "asc", 0, state="failed")),
            args.repeats,
            args.budget,
        )
        base = lib.baseline
        b = base.median
        print(
            f"   baseline GET /stations/{STATION}: median {b:.1f} ms, p95 {base.p95:.1f} ms "
            f"(n={len(base.total)}, SQL {statistics.median(base.sql):.1f} ms)"
        )
        print("   ms: median/p95 (SQL execute median); scroll: offsets 50–250, worst median")
        header = f"   {'sort':16}{'first page':>22}{'scroll 50–250':>22}"
        header += "".join(f"{'@' + format(o, ','):>11}" for o in DEEP)
        print(header + f"{'first/base':>11}")
        for label, first, scroll, deep in rows:
            worst = max(scroll, key=lambda c: c.median)
            line = f"   {label:16}"
            line += f"{first.median:8.1f}/{first.p95:6.1f} ({statistics.median(first.sql):5.1f})"
            line += f"{worst.median:8.1f}/{worst.p95:6.1f} ({statistics.median(worst.sql):5.1f})"
            line += "".join(f"{c.median:11.1f}" for c in deep)
            print(line + f"{first.median / b:10.1f}x")
        for case in (search, search_next, failed):
            share = 100 * case.matched / args.tracks
            print(
                f"   {case.label:24}{case.median:8.1f}/{case.p95:6.1f} "
                f"({statistics.median(case.sql):5.1f})  {case.median / b:6.1f}x  "
                f"matches {case.matched:,} ({share:.1f} %)"
            )
        firsts = [first for _, first, _, _ in rows] + [search, failed]
        scrolls = [c for _, _, s, d in rows for c in (*s, *d)] + [search_next]
        worst_first = max(firsts, key=lambda c: c.median)
        worst_scroll = max(scrolls, key=lambda c: c.median)
        ok = True
        for what, worst in (("first page", worst_first), ("scroll pages", worst_scroll)):
            met = worst.median <= GOAL_MS
            ok = ok and met
            print(
                f"   goal <= {GOAL_MS:.0f} ms, {what} (worst median: {worst.label}, "
                f"{worst.median:.1f} ms): {'met' if met else 'NOT met'}"
            )
        slow = sorted(
            (c for c in (*firsts, *scrolls) if c.median > GOAL_MS), key=lambda c: -c.median
        )
        if slow:
            print(
                f"   {len(slow)} of {len(firsts) + len(scrolls)} figures over the goal; profiles:"
            )
            seen: set[str] = set()
            picks: list[Case] = []
            for case in slow:  # the worst of each kind: sort+order, search, filter
                kind = case.label.split(" offset")[0]
                if kind not in seen and len(picks) < args.profiles:
                    seen.add(kind)
                    picks.append(case)
            for case in picks:
                await profile(lib, case)
    return ok


def run_library(args: argparse.Namespace) -> None:
    """Part 3 on SQLite, then on PostgreSQL when a server answers."""
    with tempfile.TemporaryDirectory(prefix="grimnir-bench-library-") as temp:
        folder = Path(temp)
        asyncio.run(library_part("sqlite", f"sqlite:///{folder / 'library.db'}", folder, args))
        if args.no_postgres:
            return
        admin = postgres_admin_url()
        try:
            asyncio.run(_pg_admin(admin, "SELECT 1"))
        except Exception as e:  # any failure: no usable server; the part is optional
            cause = getattr(e, "orig", None) or e
            print(f"3) PostgreSQL: skipped, not reachable at {mask_url(admin)} ({cause})")
            return
        name = f"grimnir_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(admin, f"CREATE DATABASE {name} ENCODING 'UTF8'"))
        try:
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            asyncio.run(library_part("postgresql", url, folder, args))
        finally:
            asyncio.run(_pg_admin(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=("all", "browser", "library"),
        default="all",
        help="browser: parts 1-2; library: part 3 (no browser, no station process)",
    )
    parser.add_argument("--skip-browser", action="store_true", help="the same as --only library")
    parser.add_argument("--runs", type=int, default=10, help="part 2: navigations")
    parser.add_argument("--tracks", type=int, default=100_000, help="part 3: library size")
    parser.add_argument("--repeats", type=int, default=15, help="part 3: requests per first page")
    parser.add_argument("--budget", type=float, default=2.0, help="part 3: seconds per case")
    parser.add_argument("--profiles", type=int, default=4, help="part 3: slow cases profiled")
    parser.add_argument("--no-waveforms", action="store_true", help="part 3: items without")
    parser.add_argument("--no-postgres", action="store_true", help="part 3: SQLite only")
    args = parser.parse_args()
    only = "library" if args.skip_browser else args.only
    if only in ("all", "browser"):
        run_weight(args)
    if only in ("all", "library"):
        run_library(args)


if __name__ == "__main__":
    main()
