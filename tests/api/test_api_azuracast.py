"""AzuraCast compatibility held against AzuraCast's own schema (its OpenAPI
document, tests/api/azuracast/openapi-subset.json), in every station state we can
set up: automation playing, nothing on air, a live DJ, several mounts with HLS.
Also the routes AzuraCast's players call besides now playing: the static JSON,
pictures, playlist files, the station list and schedule, and the SSE feed."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import lameenc
import numpy as np
import pytest
from mutagen.id3 import APIC, TIT2, TPE1
from sqlalchemy import update

from grimnir.bus import ITEM_STARTED, Event
from grimnir.config.station import StationConfig
from grimnir.domain import EntryKind, EntryStatus
from grimnir.engine.client import EngineClient
from grimnir.executor.station import StationExecutor
from grimnir.services.stations import register_station
from grimnir.store import repos
from grimnir.store.models import AsRun, LiveSession, Show, ShowContent, Station, TimelineEntry, User
from grimnir.up import StationSlot
from tests._api import ApiWorld, example_config
from tests._azuracast import schema_errors
from tests._tagging import id3_frame, id3_tags
from tests.api.test_api_events import serving

NP_ROUTES = ("/api/nowplaying/{station}", "/api/nowplaying_static/{station}.json")
MULTI_ID = uuid.UUID("00000000-0000-4000-8000-00000000a2ca")


@dataclass
class Streams:
    """The on-air view of ``grimnir up`` for tests: stations' listen URLs as it makes
    them (``/listen/<short name>`` + the real slot's stream paths), no engines."""

    slots: dict[uuid.UUID, StationSlot] = field(default_factory=dict)

    def add(self, station: Station, config: StationConfig, folder: Path) -> None:
        self.slots[station.id] = StationSlot(station, config, "127.0.0.1:0", "127.0.0.1", 0, folder)

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        return None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        return None

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        slot = self.slots.get(station_id)
        if slot is None:
            return []
        prefix = f"{base or 'http://127.0.0.1:8080'}/listen/{slot.station.short_name}"
        return [prefix + path for path in slot.stream_paths()]

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        return None


async def _check(world: ApiWorld, station: str) -> dict[str, Any]:
    """Every AzuraCast-shaped answer about ``station`` holds against AzuraCast's
    schema; returns its now playing."""
    anon = world.client()
    answers: dict[str, Any] = {}
    for route in (*NP_ROUTES, "/api/station/{station}", "/api/station/{station}/schedule"):
        response = await anon.get(route.format(station=station))
        assert response.status_code == 200, (route, response.text)
        answers[route] = response.json()
        assert schema_errors(route, answers[route]) == [], route
    for route in ("/api/nowplaying", "/api/stations"):
        response = await anon.get(route)
        assert response.status_code == 200, response.text
        assert schema_errors(route, response.json()) == [], route
    np: dict[str, Any] = answers[NP_ROUTES[0]]
    assert answers[NP_ROUTES[1]] == np  # the static file is the same answer
    assert answers["/api/station/{station}"] == np["station"]
    _never_empty(np)
    return np


def _never_empty(np: dict[str, Any]) -> None:
    """The URLs players follow are real URLs, never empty strings."""
    station = np["station"]
    short = station["shortcode"]
    assert station["public_player_url"] == f"http://testserver/public/{short}"
    assert station["playlist_pls_url"] == f"http://testserver/public/{short}/playlist.pls"
    assert station["playlist_m3u_url"] == f"http://testserver/public/{short}/playlist.m3u"
    assert station["requests_enabled"] is False
    songs = [np["now_playing"]["song"], *(h["song"] for h in np["song_history"])]
    if np["playing_next"] is not None:
        songs.append(np["playing_next"]["song"])
    for song in songs:
        assert song["art"].startswith(f"http://testserver/api/station/{short}/art"), song
        assert song["custom_fields"] == []


async def _air(
    world: ApiWorld,
    title: str,
    *,
    ago_s: float,
    length_s: float,
    ended: bool = False,
    media_id: uuid.UUID | None = None,
    station: str = "wgmr",
) -> None:
    """A timeline entry and its as-run row, started ``ago_s`` seconds ago."""
    start = datetime.now(UTC) - timedelta(seconds=ago_s)
    station_id = world.stations[station]
    async with world.ctx.sessions() as session:
        entry = TimelineEntry(
            station_id=station_id,
            seq=await repos.allocate_timeline_seq(session, station_id),
            starts_at=start,
            ends_at=start + timedelta(seconds=length_s),
            kind=EntryKind.TRACK,
            status=EntryStatus.AIRED if ended else EntryStatus.ON_AIR,
            title=title,
            artist="The Band",
            media_id=media_id,
        )
        session.add(entry)
        await session.flush()
        session.add(
            AsRun(
                station_id=station_id,
                timeline_entry_id=entry.id,
                media_id=media_id,
                title=title,
                artist="The Band",
                album="The Album",
                started_at=start,
                ended_at=start + timedelta(seconds=length_s) if ended else None,
            )
        )
        await session.commit()


async def _plan(world: ApiWorld, title: str, in_s: float, station: str = "wgmr") -> None:
    start = datetime.now(UTC) + timedelta(seconds=in_s)
    station_id = world.stations[station]
    async with world.ctx.sessions() as session:
        session.add(
            TimelineEntry(
                station_id=station_id,
                seq=await repos.allocate_timeline_seq(session, station_id),
                starts_at=start,
                ends_at=start + timedelta(seconds=200),
                kind=EntryKind.TRACK,
                title=title,
                artist="Next Artist",
            )
        )
        await session.commit()


async def _shows(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        for name, content, hour in (
            ("Morning Drive", ShowContent.CLOCK, 6),
            ("Live Hour", ShowContent.LIVE, 9),
        ):
            session.add(
                Show(
                    station_id=world.stations["wgmr"],
                    name=name,
                    rrule="FREQ=DAILY",
                    dtstart=datetime(2024, 1, 1, hour, tzinfo=UTC),
                    duration_ms=3600 * 1000,
                    content=content,
                )
            )
        await session.commit()


# -- the states ------------------------------------------------------------------------------


async def test_nothing_on_air_holds(world: ApiWorld) -> None:
    np = await _check(world, "wgmr")
    assert np["now_playing"]["sh_id"] == 0
    assert np["now_playing"]["song"]["title"] == "WGMR FM"
    assert np["now_playing"]["song"]["art"] == "http://testserver/api/station/wgmr/art"
    assert np["playing_next"] is None
    assert np["song_history"] == []
    assert np["is_online"] is False
    assert np["live"] == {
        "is_live": False, "streamer_name": "", "broadcast_start": None, "art": None
    }  # fmt: skip


async def test_automation_playing_holds(world: ApiWorld) -> None:
    await _shows(world)
    await _air(world, "Old Song", ago_s=400, length_s=200, ended=True)
    await _air(world, "Current Song", ago_s=20, length_s=100)
    await _plan(world, "Next Song", in_s=80)
    np = await _check(world, "wgmr")
    now = np["now_playing"]
    assert now["song"]["title"] == "Current Song"
    assert now["elapsed"] + now["remaining"] == now["duration"] == 100
    assert np["playing_next"]["song"]["title"] == "Next Song"
    assert [h["song"]["title"] for h in np["song_history"]] == ["Old Song"]
    assert np["is_online"] is True
    schedule = (await world.client().get("/api/station/wgmr/schedule?rows=3")).json()
    assert len(schedule) == 3
    assert {s["name"] for s in schedule} == {"Morning Drive", "Live Hour"}
    assert {s["type"] for s in schedule} == {"playlist", "streamer"}
    assert all(s["end_timestamp"] - s["start_timestamp"] == 3600 for s in schedule)


async def test_a_live_dj_holds_and_is_named(world: ApiWorld) -> None:
    started = datetime.now(UTC) - timedelta(seconds=90)
    async with world.ctx.sessions() as session:
        dj = await session.get(User, world.users["dj"])
        assert dj is not None
        dj.display_name = "DJ Jazzy Jeff"
        session.add(
            LiveSession(
                station_id=world.stations["wgmr"],
                user_id=dj.id,
                mount="/live",
                connected_at=started,
            )
        )
        session.add(
            AsRun(
                station_id=world.stations["wgmr"],
                title="Live on /live",
                started_at=started,
                layer="live",
            )
        )
        await session.commit()
    np = await _check(world, "wgmr")
    assert np["live"]["is_live"] is True
    assert np["live"]["streamer_name"] == "DJ Jazzy Jeff"
    assert np["live"]["broadcast_start"] == int(started.timestamp())
    assert np["now_playing"]["streamer"] == "DJ Jazzy Jeff"
    assert np["now_playing"]["song"]["art"] == "http://testserver/api/station/wgmr/art"


async def test_several_mounts_and_hls_hold(world: ApiWorld, tmp_path: Path) -> None:
    raw = example_config(id=str(MULTI_ID), name="Multi Mount Radio", short_name="multi")
    raw["mounts"] = [
        {
            "id": "hi",
            "name": "High",
            "outputs": [
                {"type": "http", "path": "/multi.mp3", "format": "mp3", "bitrate_kbps": 192},
                {"type": "hls", "path": str(tmp_path / "hls"), "segment_duration_sec": 4},
            ],
        },
        {
            "id": "lo",
            "name": "Low",
            "outputs": [
                {"type": "http", "path": "/multi-low.aac", "format": "aac", "bitrate_kbps": 64},
                {
                    "type": "icecast",
                    "url": "icecast://source:s3cret@icecast.example:8000/multi-ice",
                    "format": "mp3",
                    "bitrate_kbps": 128,
                },
            ],
        },
    ]
    config = StationConfig.model_validate(raw)
    streams = Streams()
    async with world.ctx.sessions() as session:
        station, _ = await register_station(session, config)
        await session.commit()
    world.stations["multi"] = station.id
    streams.add(station, config, tmp_path)
    world.ctx.on_air = streams
    await _air(world, "Multi Song", ago_s=5, length_s=60, station="multi")
    np = await _check(world, "multi")
    listen = "http://testserver/listen/multi"
    mounts = np["station"]["mounts"]
    assert [(m["path"], m["url"], m["format"], m["bitrate"], m["is_default"]) for m in mounts] == [
        ("/multi.mp3", f"{listen}/multi.mp3", "mp3", 192, True),
        ("/multi-low.aac", f"{listen}/multi-low.aac", "aac", 64, False),
        ("/multi-ice", "http://icecast.example:8000/multi-ice", "mp3", 128, False),
    ]
    assert [m["id"] for m in mounts] == [1, 2, 3]
    assert np["station"]["listen_url"] == f"{listen}/multi.mp3"
    assert np["station"]["hls_enabled"] is True
    assert np["station"]["hls_url"] == f"{listen}/hls/hi/index.m3u8"
    assert "s3cret" not in json.dumps(np)
    # the playlists list the same streams
    anon = world.client()
    pls = await anon.get("/public/multi/playlist.pls")
    assert pls.status_code == 200
    assert pls.headers["content-type"].startswith("audio/x-scpls")
    lines = pls.text.split("\r\n")
    assert lines[0] == "[playlist]"
    assert lines[1:4] == [f"File1={listen}/multi.mp3", "Title1=Multi Mount Radio", "Length1=-1"]
    assert "NumberOfEntries=3" in lines
    assert "Version=2" in lines
    m3u = await anon.get("/public/multi/playlist.m3u")
    assert m3u.headers["content-type"].startswith("audio/x-mpegurl")
    assert m3u.text.split("\r\n")[:3] == [
        "#EXTM3U", "#EXTINF:-1,Multi Mount Radio", f"{listen}/multi.mp3"
    ]  # fmt: skip
    assert [u for u in m3u.text.split("\r\n") if u.startswith("http")] == [m["url"] for m in mounts]


async def test_a_station_without_mounts_a_listener_opens_has_no_playlist(world: ApiWorld) -> None:
    # wgmr's only listener output is Icecast (its example file): that is the stream
    anon = world.client()
    pls = await anon.get("/public/wgmr/playlist.pls")
    assert pls.status_code == 200
    assert "File1=http://localhost:8000/stream" in pls.text
    assert (await anon.get("/public/none-such/playlist.m3u")).status_code == 404


# -- pictures --------------------------------------------------------------------------------


def _jpeg() -> bytes:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, :, 2] = np.arange(64, dtype=np.uint8)[None, :] * 4
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuvj420p")
    out = io.BytesIO()
    with av.open(out, "w", format="mjpeg") as container:
        stream = container.add_stream("mjpeg")
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for packet in (*stream.encode(frame), *stream.encode(None)):
            container.mux(packet)
    return out.getvalue()


def _mp3_with_cover(path: Path) -> bytes:
    """Two seconds of tone as MP3 (lameenc), tagged with a front cover (mutagen)."""
    t = np.arange(44100 * 2) / 44100
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(44100)
    encoder.set_channels(1)
    path.write_bytes(bytes(encoder.encode(pcm) + encoder.flush()))
    id3_tags(
        id3_frame(TIT2, encoding=3, text="Covered"),
        id3_frame(TPE1, encoding=3, text="The Band"),
        id3_frame(APIC, encoding=3, mime="image/jpeg", type=3, desc="front", data=_jpeg()),
    ).save(path)
    return path.read_bytes()


async def test_track_art_comes_from_the_media_file(world: ApiWorld, tmp_path: Path) -> None:
    data = _mp3_with_cover(tmp_path / "covered.mp3")
    async with world.client("manager") as manager:
        upload = await manager.post(
            "/api/v1/stations/wgmr/media", files={"file": ("covered.mp3", data, "audio/mpeg")}
        )
    assert upload.status_code == 201, upload.text
    media_id = uuid.UUID(upload.json()["id"])
    await _air(world, "Covered", ago_s=1, length_s=2, media_id=media_id)
    np = await _check(world, "wgmr")
    art = np["now_playing"]["song"]["art"]
    assert art == f"http://testserver/api/station/wgmr/art/{media_id}"
    anon = world.client()
    picture = await anon.get(art)
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:3] == b"\xff\xd8\xff"
    assert "max-age" in picture.headers["cache-control"]
    again = await anon.get(art, headers={"If-None-Match": picture.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["etag"] == picture.headers["etag"]
    current = await anon.get("/api/nowplaying/wgmr/art")
    assert current.status_code == 302
    assert current.headers["location"] == art


async def test_the_station_picture_is_made_from_its_name(world: ApiWorld) -> None:
    anon = world.client()
    # a browser's <img> takes SVG: the initials on the station's colour
    browser = {"Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"}
    svg = await anon.get("/api/station/wgmr/art", headers=browser)
    assert svg.status_code == 200
    assert "Accept" in svg.headers["vary"]
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg ")
    assert ">WF</text>" in svg.text  # WGMR FM
    assert "max-age" in svg.headers["cache-control"]
    again = await anon.get("/api/station/wgmr/art", headers=browser)
    assert again.content == svg.content  # stable
    other = await anon.get("/api/station/other/art", headers=browser)
    assert other.headers["etag"] != svg.headers["etag"]
    cached = await anon.get(
        "/api/station/wgmr/art", headers={**browser, "If-None-Match": svg.headers["etag"]}
    )
    assert cached.status_code == 304
    # an app that does not say it takes SVG gets a bitmap: a PNG of the same colour
    png = await anon.get("/api/station/wgmr/art", headers={"Accept": "image/*"})
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert "Accept" in png.headers["vary"]
    with av.open(io.BytesIO(png.content), mode="r") as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (600, 600)
    pixels = frame.to_ndarray(format="rgb24")
    assert tuple(pixels[5, 5]) != (255, 255, 255)
    assert tuple(pixels[300, 300]) == (255, 255, 255)
    assert (await anon.get("/api/station/wgmr/art")).content == png.content  # */*: the PNG
    assert (await anon.get("/api/station/other/art")).content != png.content
    # nothing on air, or a track without a cover: the station's picture
    current = await anon.get("/api/nowplaying/wgmr/art")
    assert current.status_code == 302
    assert current.headers["location"] == "http://testserver/api/station/wgmr/art"
    missing = await anon.get(f"/api/station/wgmr/art/{uuid.uuid4()}")
    assert missing.status_code == 302
    assert missing.headers["location"] == "http://testserver/api/station/wgmr/art"
    assert (await anon.get("/api/station/none-such/art")).status_code == 404


# -- the live feed ---------------------------------------------------------------------------


async def _sse_messages(lines: Any, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith("data: "):
                out.append(json.loads(line[len("data: ") :]))
                if len(out) == count:
                    return out
    return out


async def test_the_sse_feed_speaks_centrifugo_and_follows_the_bus(world: ApiWorld) -> None:
    await _air(world, "First", ago_s=5, length_s=100)
    connect = json.dumps({"subs": {"station:wgmr": {"recover": True}}})
    async with serving(world.app) as address, httpx.AsyncClient(timeout=10) as client:
        url = f"http://{address}/api/live/nowplaying/sse"
        async with client.stream("GET", url, params={"cf_connect": connect}) as feed:
            assert feed.status_code == 200
            assert feed.headers["content-type"].startswith("text/event-stream")
            lines = feed.aiter_lines()
            [hello] = await _sse_messages(lines, 1)
            assert set(hello) == {"connect"}
            assert isinstance(hello["connect"]["time"], int)
            [first] = hello["connect"]["subs"]["station:wgmr"]["publications"]
            assert first["data"]["np"]["now_playing"]["song"]["title"] == "First"
            assert schema_errors("/api/nowplaying/{station}", first["data"]["np"]) == []
            assert (
                f"http://{address}/public/wgmr"
                == first["data"]["np"]["station"]["public_player_url"]
            )
            # the next item starts: the executor writes its row and says so on the bus
            await _end_all(world)
            await _air(world, "Second", ago_s=0, length_s=100)
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, str(world.stations["wgmr"])))
            [change] = await _sse_messages(lines, 1)
            assert change["channel"] == "station:wgmr"
            data = change["pub"]["data"]
            assert data["np"]["now_playing"]["song"]["title"] == "Second"
            assert data["triggers"] == ["song_changed"]
            player = data["np"]["station"]["public_player_url"]
            assert player == f"http://{address}/public/wgmr"  # every message: the caller's base
            assert isinstance(data["current_time"], int)
            assert schema_errors("/api/nowplaying/{station}", data["np"]) == []
            # another station's change is not this reader's
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, str(world.stations["other"])))
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, str(world.stations["wgmr"])))
            [only] = await _sse_messages(lines, 1)
            assert only["channel"] == "station:wgmr"


async def _end_all(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        await session.execute(
            update(AsRun).where(AsRun.ended_at.is_(None)).values(ended_at=datetime.now(UTC))
        )
        await session.commit()


@pytest.mark.parametrize(
    ("cf_connect", "status"),
    [("not json", 400), ('{"subs": []}', 400), ('{"subs": {"station:none-such": {}}}', 404)],
)
async def test_the_sse_feed_refuses_what_names_nothing(
    world: ApiWorld, cf_connect: str, status: int
) -> None:
    response = await world.client().get(
        "/api/live/nowplaying/sse", params={"cf_connect": cf_connect}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_contract_finds_what_was_wrong(world: ApiWorld) -> None:
    """The schema check is not vacuous: the faults it was brought in for fail it."""
    await _air(world, "Old Song", ago_s=400, length_s=200, ended=True)
    np = await _check(world, "wgmr")
    broken = json.loads(json.dumps(np))
    broken["song_history"][0]["song"]["custom_fields"] = {}
    broken["song_history"][0]["song"]["art"] = None
    del broken["station"]["requests_enabled"]
    broken["station"]["mounts"][0]["bitrate"] = "128"
    broken["now_playing"]["elapsed"] = None
    errors = "\n".join(schema_errors("/api/nowplaying/{station}", broken))
    assert "song_history/0/song/custom_fields: {} is not of type" in errors
    assert "strict song_history/0/song/art: null is not of type" in errors
    assert '"requests_enabled" is a required property' in errors
    assert "station/mounts/0/bitrate" in errors
    assert "\nnow_playing: " in errors  # not a CurrentSong (its elapsed is no integer)
    assert schema_errors("/api/nowplaying", [np, broken]) != []
    assert schema_errors("/api/nowplaying", [np, np]) == []


async def test_the_public_player_url_is_a_player(world: ApiWorld) -> None:
    np = await _check(world, "wgmr")
    anon = world.client()
    page = await anon.get(np["station"]["public_player_url"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "media-src 'self' http: https:" in page.headers["content-security-policy"]
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == ["/static/player.js"]
    script = await anon.get(scripts[0])
    assert script.status_code == 200
    assert "/api/live/nowplaying/sse?cf_connect=" in script.text
    assert (await anon.get("/static/player.css")).status_code == 200
    assert (await anon.get("/public/none-such")).status_code == 404
