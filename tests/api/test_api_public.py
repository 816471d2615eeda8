"""Public routes: now playing from the as-run log, AzuraCast shape, schedule and
iCal, CORS, caching, rate limit."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api._nowplaying import NowPlaying, Track
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.api.routes._public_azuracast import azuracast
from grimnir.api.routes._public_ical import calendar, escape_text, fold
from grimnir.bus import ITEM_STARTED, Event
from grimnir.domain import EntryKind, EntryStatus
from grimnir.store import repos
from grimnir.store.models import AsRun, Show, ShowContent, Station, TimelineEntry
from tests._api import ApiWorld, api_world


async def _air(
    world: ApiWorld,
    title: str,
    artist: str = "The Band",
    *,
    ago_s: float = 30.0,
    length_s: float = 180.0,
    ended: bool = False,
    station: str = "wgmr",
) -> uuid.UUID:
    """A timeline entry and its as-run row, started ``ago_s`` seconds ago."""
    now = datetime.now(UTC)
    start = now - timedelta(seconds=ago_s)
    station_id = world.stations[station]
    async with world.ctx.sessions() as session:
        seq = await _next_seq(session, station_id)
        entry = TimelineEntry(
            station_id=station_id,
            seq=seq,
            starts_at=start,
            ends_at=start + timedelta(seconds=length_s),
            kind=EntryKind.TRACK,
            status=EntryStatus.AIRED if ended else EntryStatus.ON_AIR,
            title=title,
            artist=artist,
        )
        session.add(entry)
        await session.flush()
        row = AsRun(
            station_id=station_id,
            timeline_entry_id=entry.id,
            title=title,
            artist=artist,
            album="The Album",
            started_at=start,
            ended_at=start + timedelta(seconds=length_s) if ended else None,
        )
        session.add(row)
        await session.commit()
        return row.id


async def _plan(world: ApiWorld, title: str, in_s: float, length_s: float = 200.0) -> None:
    start = datetime.now(UTC) + timedelta(seconds=in_s)
    station_id = world.stations["wgmr"]
    async with world.ctx.sessions() as session:
        session.add(
            TimelineEntry(
                station_id=station_id,
                seq=await _next_seq(session, station_id),
                starts_at=start,
                ends_at=start + timedelta(seconds=length_s),
                kind=EntryKind.TRACK,
                title=title,
                artist="Next Artist",
            )
        )
        await session.commit()


async def _next_seq(session: AsyncSession, station_id: uuid.UUID) -> int:
    return await repos.allocate_timeline_seq(session, station_id)


async def test_now_playing_comes_from_the_open_as_run_row(world: ApiWorld) -> None:
    await _air(world, "Old Song", ago_s=400, length_s=200, ended=True)
    before = datetime.now(UTC)
    await _air(world, "Current Song", ago_s=30, length_s=180)
    await _plan(world, "Next Song", in_s=150)
    anon = world.client()
    response = await anon.get("/api/v1/public/stations/wgmr/now-playing")
    waited_ms = (datetime.now(UTC) - before) / timedelta(milliseconds=1)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=5"
    body = response.json()
    assert body["station"]["short_name"] == "wgmr"
    assert body["current"]["title"] == "Current Song"
    assert body["current"]["artist"] == "The Band"
    assert body["current"]["duration_ms"] == 180_000
    # from the row's start (30 s before it was written) to the answer, however long
    # this machine took between the two
    assert 30_000 - 1 <= body["current"]["elapsed_ms"] <= 30_000 + waited_ms + 1
    assert [s["title"] for s in body["next"]] == ["Next Song"]
    assert [s["title"] for s in body["history"]] == ["Old Song"]
    assert body["listeners"] is None  # not on air in this process
    by_id = await anon.get(f"/api/v1/public/stations/{world.stations['wgmr']}/now-playing")
    assert by_id.json()["current"]["title"] == "Current Song"


async def test_unknown_and_disabled_stations_are_404(world: ApiWorld) -> None:
    anon = world.client()
    missing = await anon.get("/api/v1/public/stations/nope/now-playing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "public/stations" in missing.json()["detail"]
    async with world.ctx.sessions() as session:
        await session.execute(
            update(Station).where(Station.short_name == "other").values(enabled=False)
        )
        await session.commit()
    assert (await anon.get("/api/v1/public/stations/other/now-playing")).status_code == 404
    listed = await anon.get("/api/v1/public/stations")
    assert [s["short_name"] for s in listed.json()] == ["wgmr"]


async def test_answer_is_cached_until_item_started(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTE: the cache's clock stands still, so its 5 s lifetime never runs out here
    # however slow the machine is: only the bus event may end the cached answer.
    cache = world.app.state.public_cache
    now = cache.clock()
    monkeypatch.setattr(cache, "clock", lambda: now)
    await _air(world, "First", ago_s=10)
    anon = world.client()
    url = "/api/v1/public/stations/wgmr/now-playing"
    assert (await anon.get(url)).json()["current"]["title"] == "First"
    await asyncio.sleep(0.05)  # let the cache's bus subscription start
    async with world.ctx.sessions() as session:
        await session.execute(update(AsRun).values(ended_at=datetime.now(UTC)))
        await session.commit()
    await _air(world, "Second", ago_s=0)
    # the database changed but nobody said so: the cached answer stands (for 5 s)
    assert (await anon.get(url)).json()["current"]["title"] == "First"
    await world.ctx.bus.publish(Event.now(ITEM_STARTED, str(world.stations["wgmr"])))
    await asyncio.sleep(0.05)
    assert (await anon.get(url)).json()["current"]["title"] == "Second"


async def test_azuracast_shape(world: ApiWorld) -> None:
    await _air(world, "Old Song", ago_s=400, length_s=200, ended=True)
    before = datetime.now(UTC)
    await _air(world, "Current Song", artist="Artist A", ago_s=20, length_s=100)
    await _plan(world, "Next Song", in_s=80)
    anon = world.client()
    response = await anon.get("/api/nowplaying/wgmr")
    waited_s = (datetime.now(UTC) - before).total_seconds()
    assert response.status_code == 200, response.text
    np = response.json()
    assert set(np) >= {
        "station",
        "listeners",
        "live",
        "now_playing",
        "playing_next",
        "song_history",
        "is_online",
        "cache",
    }
    station = np["station"]
    assert set(station) >= {"id", "name", "shortcode", "listen_url", "mounts", "timezone"}
    assert station["shortcode"] == "wgmr"
    assert isinstance(station["id"], int)
    assert set(np["listeners"]) == {"total", "unique", "current"}
    assert set(np["live"]) >= {"is_live", "streamer_name"}
    now = np["now_playing"]
    assert set(now) >= {"sh_id", "played_at", "duration", "elapsed", "remaining", "song"}
    assert set(now["song"]) >= {"id", "text", "artist", "title", "album", "art"}
    assert now["song"]["text"] == "Artist A - Current Song"
    assert now["duration"] == 100
    assert 20 - 1 <= now["elapsed"] <= 20 + waited_s + 1  # whole seconds since its start
    assert now["elapsed"] + now["remaining"] == now["duration"]
    assert np["playing_next"]["song"]["title"] == "Next Song"
    assert [h["song"]["title"] for h in np["song_history"]] == ["Old Song"]
    # the same station by UUID and by AzuraCast number
    for ref in (str(world.stations["wgmr"]), str(station["id"])):
        again = await anon.get(f"/api/nowplaying/{ref}")
        assert again.json()["station"]["shortcode"] == "wgmr"
    every = (await anon.get("/api/nowplaying")).json()
    assert sorted(s["station"]["shortcode"] for s in every) == ["other", "wgmr"]
    assert (await anon.get("/api/nowplaying/none-such")).status_code == 404


async def test_schedule_json_and_ical(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        session.add(
            Show(
                station_id=world.stations["wgmr"],
                name="Morning, News; and \\ Views",
                description="Line one\nline two, with a very long description " * 3,
                rrule="FREQ=DAILY",
                dtstart=datetime(2024, 1, 1, 6, 0, tzinfo=UTC),
                duration_ms=2 * 3600 * 1000,
                content=ShowContent.CLOCK,
            )
        )
        await session.commit()
    await _plan(world, "Planned", in_s=600)
    anon = world.client()
    start = datetime.now(UTC).replace(microsecond=0)
    params = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat()}
    response = await anon.get("/api/v1/public/stations/wgmr/schedule", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"from", "to", "shows", "items", "station"} <= set(body)
    assert len(body["shows"]) in (2, 3)
    assert all(s["name"].startswith("Morning") for s in body["shows"])
    assert [i["title"] for i in body["items"]] == ["Planned"]

    ics = await anon.get("/api/v1/public/stations/wgmr/schedule.ics", params={"items": "true"})
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    raw = ics.content.decode("utf-8")
    assert raw.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert raw.endswith("END:VCALENDAR\r\n")
    assert "\n" not in raw.replace("\r\n", "")  # every line ends in CRLF
    physical = raw.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in physical)
    # unfold (RFC 5545 §3.1) and check the structure
    lines = raw.replace("\r\n ", "").split("\r\n")[:-1]
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") >= 8
    for line in lines:
        assert re.match(r"^[A-Z-]+[;:]", line), line
    summaries = [x for x in lines if x.startswith("SUMMARY:")]
    assert "SUMMARY:Morning\\, News\\; and \\\\ Views" in summaries
    assert "SUMMARY:Next Artist - Planned" in summaries
    assert any(x.startswith("DESCRIPTION:Line one\\nline two\\,") for x in lines)
    events = raw.replace("\r\n ", "").split("BEGIN:VEVENT")[1:]
    for event in events:
        for prop in ("UID:", "DTSTAMP:", "DTSTART:", "DTEND:", "SUMMARY:"):
            assert f"\r\n{prop}" in event
        assert re.search(r"DTSTART:\d{8}T\d{6}Z", event)


def test_azuracast_elapsed_and_remaining_add_up_to_the_duration() -> None:
    """Rounded once: 100.4 s long, 20.6 s in → 100 = 21 + 79 (not 21 + 80)."""
    started = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    track = Track(
        id=str(uuid.uuid4()), title="T", artist="A", album="", started_at=started,
        duration_ms=100_400,
    )  # fmt: skip
    for into_ms in (0, 20_600, 50_500, 100_400, 130_000):
        np = NowPlaying(
            station=Station(
                id=uuid.uuid4(), name="X", short_name="x", timezone="UTC", description=""
            ),
            at=started + timedelta(milliseconds=into_ms),
            current=track,
            next=[],
            history=[],
            listeners=None,
            is_online=True,
        )
        now = azuracast(np).now_playing
        assert now.duration == 100
        assert now.elapsed + now.remaining == 100, into_ms
        assert 0 <= now.remaining <= 100


def test_a_calendar_with_no_events_still_has_a_component() -> None:
    """RFC 5545 §3.6: a VCALENDAR holds at least one component."""
    raw = calendar("Empty FM", "Europe/Oslo", [], now=datetime(2030, 1, 1, tzinfo=UTC))
    lines = raw.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    inner = lines[1:-1]
    begins = [x for x in inner if x.startswith("BEGIN:")]
    assert begins[0] == "BEGIN:VTIMEZONE"
    assert inner.count("BEGIN:VTIMEZONE") == inner.count("END:VTIMEZONE") == 1
    assert "BEGIN:VEVENT" not in inner


async def test_the_calendar_window_is_documented_as_it_is(world: ApiWorld) -> None:
    spec = (await world.client().get("/api/v1/openapi.json")).json()
    ics = spec["paths"]["/api/v1/public/stations/{station}/schedule.ics"]["get"]
    to = next(p for p in ics["parameters"] if p["name"] == "to")
    assert "+7 days" in to["description"]


def test_ical_folding_never_splits_a_character() -> None:
    line = "SUMMARY:" + escape_text("Björk, Sigur Rós; ") * 10
    folded = fold(line)
    pieces = folded.split("\r\n ")
    assert "".join(pieces) == line
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)
    assert all(len(p.encode("utf-8")) <= 74 for p in pieces[1:])


async def test_schedule_rejects_bad_windows(world: ApiWorld) -> None:
    anon = world.client()
    url = "/api/v1/public/stations/wgmr/schedule"
    cases = [
        {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        {"from": "2030-01-01T00:00:00Z", "to": "2030-06-01T00:00:00Z"},
        {"from": "0001-01-01T00:00:00Z"},
        {"from": "9999-12-31T23:59:59-23:59"},
        {"from": "not a time"},
    ]
    for params in cases:
        response = await anon.get(url, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_cors_on_public_routes_only(world: ApiWorld) -> None:
    anon = world.client(headers={"Origin": "https://player.example"})
    for url in ("/api/v1/public/stations", "/api/nowplaying", "/api/nowplaying/wgmr"):
        response = await anon.get(url)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
    preflight = await anon.options(
        "/api/v1/public/stations/wgmr/now-playing",
        headers={"Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    private = await world.client("admin", headers={"Origin": "https://evil.example"}).get(
        "/api/v1/stations"
    )
    assert private.status_code == 200
    assert "access-control-allow-origin" not in private.headers


async def test_public_routes_are_rate_limited(tmp_path: Path) -> None:
    off = Limit(0, 0)
    limits = Limits(
        login=RateLimiter(off), harbor=RateLimiter(off), public=RateLimiter(Limit(0.01, 3))
    )
    async with api_world(tmp_path, limits=limits) as world:
        anon = world.client()
        codes = [(await anon.get("/api/v1/public/stations")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        limited = await anon.get("/api/nowplaying")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
