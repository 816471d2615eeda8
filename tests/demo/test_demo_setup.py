"""``ensure_demo`` against a real migrated SQLite database: the station, library,
programming and admin login appear once, a second run changes nothing, and a
48 h build right after has no gaps and a station ID at every top of the hour."""

from __future__ import annotations

import asyncio
import itertools
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.demo import DemoInfo, ensure_demo
from grimnir.demo._programming import demo_config, ensure_station, slot_plan
from grimnir.demo.setup import _ensure_admin
from grimnir.domain import EntryKind, MediaState, SlotKind, Timing
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.planner.builder import build
from grimnir.services.accounts import create_user, verify_password
from grimnir.services.stations import register_station
from grimnir.store import create_engine, session_factory
from grimnir.store.models import (
    Clock,
    ClockSlot,
    MediaItem,
    Playlist,
    PlaylistItem,
    SmartBlock,
    Station,
    User,
)
from tests._databases import migrated_database

TRACKS, SECONDS = 6, 20.0
COUNTED = (Station, MediaItem, SmartBlock, Playlist, PlaylistItem, Clock, ClockSlot, User)


@dataclass
class Demo:
    settings: Settings
    first: DemoInfo
    second: DemoInfo
    counts: tuple[dict[str, int], dict[str, int]]


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in COUNTED
        }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo-setup")
    with migrated_database("sqlite", folder) as url:
        settings = Settings(data_dir=folder / "data", database_url=url)

        async def run() -> Demo:
            engine = create_engine(url)
            try:
                sessions = session_factory(engine)
                first = await ensure_demo(settings, sessions, tracks=TRACKS, seconds=SECONDS)
                after_first = await counts(sessions)
                second = await ensure_demo(settings, sessions, tracks=TRACKS, seconds=SECONDS)
                return Demo(settings, first, second, (after_first, await counts(sessions)))
            finally:
                await engine.dispose()

        yield asyncio.run(run())


@pytest.fixture
async def sessions(demo: Demo) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(str(demo.settings.database_url))
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def test_the_config_follows_the_example_but_streams_from_the_built_in_server() -> None:
    config = demo_config()
    assert config.station.name == "Grimnir Demo FM"
    assert config.station.resolved_short_name == "demo"
    outputs = [out for mount in config.mounts for out in mount.outputs]
    assert [(o.type, o.format, o.bitrate_kbps) for o in outputs] == [("http", "mp3", 128)]
    assert outputs[0].model_dump()["path"] == "/demo.mp3"
    example = Path(__file__).resolve().parents[2] / "examples" / "station-wgmr.yaml"
    from grimnir.config.station import load_station_config

    wgmr = load_station_config(example)
    assert config.dsp_graph == wgmr.dsp_graph
    assert config.priorities == wgmr.priorities
    assert config.station.timezone == wgmr.station.timezone


def test_a_second_run_finds_everything_and_adds_nothing(demo: Demo) -> None:
    before, after = demo.counts
    assert before == after
    assert before["Station"] == 1
    assert before["MediaItem"] == TRACKS + 4  # music and four station IDs
    assert before["SmartBlock"] == before["Clock"] == before["Playlist"] == 1
    assert before["PlaylistItem"] == 4
    assert before["ClockSlot"] == 4
    assert before["User"] == 1
    assert demo.first == demo.second
    assert demo.first.short_name == "demo"
    assert len(demo.first.files) == TRACKS + 4
    assert all(path.is_file() for path in demo.first.files)
    media = Path(demo.settings.data_dir) / "demo" / "media"
    assert all(path.is_relative_to(media) for path in demo.first.files)


async def test_the_library_is_ready_and_the_ids_are_jingles(
    demo: Demo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        items = list(await session.scalars(select(MediaItem)))
        assert {item.state for item in items} == {MediaState.READY}
        ids = {item.id for item in items if item.genre == "Station ID"}
        assert len(ids) == 4
        playlist = await session.scalar(select(Playlist))
        assert playlist is not None
        assert playlist.jingle
        members = set(await session.scalars(select(PlaylistItem.media_id)))
        assert members == ids
        for item in items:  # analysed: real cue points inside the file
            assert item.cue_in_ms > 0
            assert item.cue_out_ms is not None
            assert item.cue_out_ms < (item.duration_ms or 0)
            assert item.loudness_lufs is not None


async def test_the_clock_has_ids_on_the_hour_and_at_half_past(
    demo: Demo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        slots = list(await session.scalars(select(ClockSlot).order_by(ClockSlot.offset_ms)))
    plan: list[tuple[Any, ...]] = [
        (s.offset_ms, s.kind, s.timing, s.playlist_id is not None) for s in slots
    ]
    assert plan[0] == (0, SlotKind.PLAYLIST, Timing.HARD, True)
    assert plan[2] == (1_800_000, SlotKind.PLAYLIST, Timing.SOFT, True)
    assert {p[1] for p in (plan[1], plan[3])} == {SlotKind.SMART_BLOCK}
    assert [(s.offset_ms, s.duration_ms) for s in slots] == [
        (offset, length) for _, offset, length, _, _ in slot_plan(slots[0].duration_ms)
    ]


def test_the_admin_login_is_kept_in_a_private_file(demo: Demo) -> None:
    file = Path(demo.settings.data_dir) / "demo-admin.txt"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert f"password: {demo.first.admin_password}" in file.read_text()
    assert demo.first.admin_user == "admin"
    assert len(demo.first.admin_password) >= 12


async def test_the_password_works(demo: Demo, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "admin"))
        assert user is not None
        assert user.is_admin
        assert verify_password(user.password_hash, demo.first.admin_password)


async def test_an_admin_whose_password_is_unknown_gets_a_new_one(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                await create_user(session, username="admin", password="not-written-down")
            password = await _ensure_admin(settings, sessions)
            assert password != "not-written-down"
            assert await _ensure_admin(settings, sessions) == password  # read back
            async with sessions() as session:
                user = await session.scalar(select(User).where(User.username == "admin"))
                assert user is not None
                assert verify_password(user.password_hash, password)
            text = (tmp_path / "data" / "demo-admin.txt").read_text()
            assert f"password: {password}" in text
        finally:
            await engine.dispose()


async def test_the_station_ships_fallback_audio_its_engine_plays_with_nothing_queued(
    demo: Demo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    folder = Path(demo.settings.data_dir) / "demo" / "fallback"
    assert len(demo.first.fallback) == 3
    assert all(path.parent == folder and path.is_file() for path in demo.first.fallback)
    async with sessions() as session:
        station = await session.get(Station, demo.first.station_id)
        assert station is not None
        config = StationConfig.model_validate(station.config)
        library = set(await session.scalars(select(MediaItem.path)))
    assert config.failover.fallback_paths == [str(folder)]
    assert not library & {str(path) for path in demo.first.fallback}  # never scheduled
    # The station's own engine, nothing queued: the fallback tracks air from the first frame.
    events: list[EngineEvent] = []
    engine = Engine(VirtualClock(), EngineOptions(failover=config.failover), on_event=events.append)
    try:
        for _ in range(100):
            engine.clock.wait()
            engine.step()
    finally:
        engine.close()
    started = [e for e in events if e.type == "item.started"]
    assert [(e.frame, e.data["layer"], e.data["path"]) for e in started] == [
        (0, "fallback", str(sorted(demo.first.fallback)[0]))
    ]
    changes = [(e.frame, e.data["to"]) for e in events if e.type == "layer.changed"]
    assert changes == [(0, "fallback")]


async def test_a_demo_station_from_before_gets_the_fallback_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fallback"
    with migrated_database("sqlite", tmp_path) as url:
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                await register_station(session, demo_config())  # no fallback audio
                station = await ensure_station(session, folder)
                failover = station.config["failover"]
            assert failover["fallback_paths"] == [str(folder)]
            assert failover["live_timeout_sec"] == 30  # the rest is kept
            async with sessions() as session, session.begin():
                station = await ensure_station(session, tmp_path / "elsewhere")
                assert station.config["failover"]["fallback_paths"] == [str(folder)]
        finally:
            await engine.dispose()


async def test_a_48_hour_build_has_no_gaps_and_an_id_at_every_top_of_hour(
    demo: Demo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    report = await build(sessions, demo.first.station_id, now, 48, now=now, write=False)
    entries = report.entries
    assert report.gaps == []
    assert entries[0].starts_at <= now
    assert entries[-1].ends_at >= now + timedelta(hours=48)
    for before, after in itertools.pairwise(entries):
        assert after.starts_at == before.ends_at, (before, after)  # back to back
    zone = ZoneInfo(demo_config().station.timezone)
    tops = {
        e.starts_at
        for e in entries
        if e.kind == EntryKind.JINGLE and e.timing == Timing.HARD and e.starts_at.minute == 0
    }
    first_top = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    expected = {first_top + timedelta(hours=h) for h in range(47)}
    assert expected <= tops
    for top in tops:
        assert top.astimezone(zone).minute == 0
        assert (top.second, top.microsecond) == (0, 0)
    ids = {e.media_id for e in entries if e.kind == EntryKind.JINGLE}
    music = [e for e in entries if e.kind == EntryKind.TRACK]
    assert music
    assert not ids & {e.media_id for e in music}  # station IDs never air as music


@pytest.mark.slow
async def test_the_default_demo_fills_every_half_hour_with_music_between_two_ids(
    tmp_path: Path,
) -> None:
    """The real demo (twelve tracks of about 150 s): one ID on the hour, one at half
    past, music in between with nothing topped up, for 48 hours."""
    with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            info = await ensure_demo(settings, sessions)
            now = datetime.now(UTC)
            report = await build(sessions, info.station_id, now, 48, now=now)
        finally:
            await engine.dispose()
    assert report.gaps == []
    assert report.underfilled == []
    ids = [e for e in report.entries if e.kind == EntryKind.JINGLE]
    starts = {(e.starts_at.minute, e.starts_at.second, e.starts_at.microsecond) for e in ids}
    assert starts == {(0, 0, 0), (30, 0, 0)}
    assert len(ids) in (96, 97)
