"""AzuraCast's once-per playlists in the imported ``default`` clock: the slot
layout (pure), then a real import whose clock holds the slots and an hour the
planner plans from it, where each once-per playlist airs as often as its slots
let it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.importers import apply, plan
from grimnir.importers._mapping import (
    ClockLayout,
    clock_findings,
    clock_layout,
    general_rotation,
    once_slot_minutes,
    playlist_findings,
)
from grimnir.importers.model import Media, Playlist, PlaylistEntry, Schedule, Snapshot
from grimnir.planner._entries import EARLY
from grimnir.planner.builder import simulate
from grimnir.store.models import Clock, ClockSlot, Station
from grimnir.store.models import Playlist as PlaylistRow
from tests._databases import migrated_database
from tests.importers.test_import_core import tone

MIN = 60_000


def media(key: str, seconds: float | None) -> Media:
    return Media(
        key=key,
        file=None,
        original_path=f"{key}.mp3",
        duration_ms=None if seconds is None else int(seconds * 1000),
    )


def station(playlists: list[Playlist], tracks: list[Media]) -> Snapshot:
    return Snapshot(
        product="azuracast",
        source="backup.zip",
        schema_version="Version20240101000000",
        key="1",
        short_name="clocked",
        name="Clocked",
        timezone="UTC",
        media=tracks,
        playlists=playlists,
    )


def music(key: str = "m", weight: int = 3, keys: tuple[str, ...] = ("s1", "s2")) -> Playlist:
    return Playlist(
        key, key.upper(), "default", weight=weight, entries=[PlaylistEntry(k) for k in keys]
    )


def once(key: str, kind: str, every: int | None, *items: str, **extra: object) -> Playlist:
    return Playlist(
        key,
        key.upper(),
        kind,  # type: ignore[arg-type]
        every=every,
        entries=[PlaylistEntry(i) for i in items],
        **extra,  # type: ignore[arg-type]
    )


SONGS = [media("s1", 180), media("s2", 180), media("jingle", 12), media("feature", 200)]


def slots(layout: ClockLayout) -> list[tuple[str, int, int]]:
    return [(s.playlist.name, s.offset_ms // MIN, s.duration_ms // MIN) for s in layout.slots]


def well_formed(layout: ClockLayout, *, covers: bool) -> None:
    """No overlap, inside the hour, and (with a general rotation) the whole hour."""
    at = 0
    for slot in layout.slots:
        assert slot.duration_ms > 0
        assert slot.offset_ms >= at, slots(layout)
        at = slot.offset_ms + slot.duration_ms
    assert at <= 60 * MIN
    if covers:
        assert sum(s.duration_ms for s in layout.slots) == 60 * MIN


def test_once_per_hour_splits_the_shares_around_its_minute() -> None:
    snap = station(
        [music("rock", 5), music("pop", 1), once("top", "once_per_hour", 5, "jingle")], SONGS
    )
    layout = clock_layout(general_rotation(snap))
    assert slots(layout) == [
        ("ROCK", 0, 5),
        ("TOP", 5, 1),
        ("ROCK", 6, 44),
        ("POP", 50, 10),
    ]
    well_formed(layout, covers=True)
    assert [s.once for s in layout.slots] == [False, True, False, False]
    messages = [str(f) for f in clock_findings(general_rotation(snap))]
    assert any("'TOP'" in m and "1-min slot at :05" in m for m in messages), messages
    assert any("ROCK 49 min (weight 5), POP 10 min (weight 1)" in m for m in messages)
    assert layout.summary() == "ROCK 49 min, TOP (1 min) at :05, POP 10 min"


def test_once_per_n_minutes_every_n_and_longer_than_an_hour() -> None:
    snap = station(
        [
            music(),
            once("q15", "once_per_n_minutes", 15, "jingle"),
            once("q25", "once_per_n_minutes", 25, "feature"),
            once("q90", "once_per_n_minutes", 90, "jingle"),
        ],
        SONGS,
    )
    layout = clock_layout(general_rotation(snap))
    well_formed(layout, covers=True)
    starts: dict[str, list[int]] = {}
    for name, at, length in slots(layout):
        starts.setdefault(name, []).append(at)
        if name == "Q25":
            assert length == 4  # 200 s rounded up
    # all three ask for minute 0: they queue up in order, the next free minute
    assert starts["Q15"] == [0, 15, 30, 45]
    assert starts["Q25"] == [1, 30 + 1]
    assert starts["Q90"] == [5]
    assert sum(d for n, _, d in slots(layout) if n == "M") == 60 - 4 - 8 - 1
    messages = [str(f) for f in clock_findings(general_rotation(snap))]
    assert any("'Q90'" in m and "a slot every hour, resting as needed" in m for m in messages)
    assert not [m for m in messages if "add it" in m]


def test_once_per_n_songs_spacing_from_the_rotation_lengths() -> None:
    known = station([music(), once("ids", "once_per_n_songs", 4, "jingle")], SONGS)
    layout = clock_layout(general_rotation(known))
    assert [at for n, at, _ in slots(layout) if n == "IDS"] == [0, 12, 24, 36, 48]
    [finding] = [f for f in clock_findings(general_rotation(known)) if f.name == "IDS"]
    assert not finding.skipped
    assert "about every 12 min: 4 songs × the mean length of the general rotation's tracks " in (
        finding.reason
    )
    assert "(3.0 min)" in finding.reason
    # lengths unknown: 3.5 min a song, 14 min apart → 4 evenly in an hour
    unknown = station(
        [music(), once("ids", "once_per_n_songs", 4, "jingle")],
        [media("s1", None), media("s2", None), media("jingle", None)],
    )
    layout = clock_layout(general_rotation(unknown))
    assert [(at, d) for n, at, d in slots(layout) if n == "IDS"] == [
        (0, 1),
        (15, 1),
        (30, 1),
        (45, 1),
    ]
    [finding] = [f for f in clock_findings(general_rotation(unknown)) if f.name == "IDS"]
    assert "about every 14 min" in finding.reason
    assert "lengths are unknown" in finding.reason
    # more songs than an hour holds: one slot an hour
    rare = station([music(), once("ids", "once_per_n_songs", 30, "jingle")], SONGS)
    assert [at for n, at, _ in slots(clock_layout(general_rotation(rare))) if n == "IDS"] == [0]


def test_collisions_queue_up_and_what_finds_no_room_is_reported() -> None:
    tops = [once(f"t{i}", "once_per_hour", 59, "feature") for i in range(16)]
    snap = station([music(), *tops], SONGS)
    layout = clock_layout(general_rotation(snap))
    well_formed(layout, covers=True)
    once_slots = [(n, at, d) for n, at, d in slots(layout) if n.startswith("T")]
    # 4-min slots: the first fits at :56, the others the nearest free before it
    assert once_slots[-1] == ("T0", 56, 4)
    assert len(once_slots) == 15
    assert [p.name for p in layout.unplaced] == ["T15"]
    [lost] = [f for f in layout.findings if f.name == "T15"]
    assert "no room was left" in lost.reason
    assert "add it to a clock by hand" in lost.reason
    # the once-per slots fill the hour: nothing is left to share
    assert not [n for n, _, _ in slots(layout) if n == "M"]


def test_no_general_rotation_keeps_only_the_once_per_slots() -> None:
    snap = station(
        [
            once("top", "once_per_hour", 30, "jingle"),
            once("q", "once_per_n_minutes", 20, "feature"),
        ],
        SONGS,
    )
    rotation = general_rotation(snap)
    layout = clock_layout(rotation)
    well_formed(layout, covers=False)
    assert slots(layout) == [("Q", 0, 4), ("Q", 20, 4), ("TOP", 30, 1), ("Q", 40, 4)]
    messages = [str(f) for f in clock_findings(rotation)]
    assert any(m.startswith("clock row 'default': there is no general-rotation") for m in messages)


def test_slot_length_is_the_longest_item_within_a_minute_of_the_shortest() -> None:
    assert once_slot_minutes([]) == 1
    assert once_slot_minutes([10_000]) == 1
    assert once_slot_minutes([180_000, 230_000]) == 4
    assert once_slot_minutes([10_000, 300_000]) == 1
    assert once_slot_minutes([61_000]) == 2


def test_findings_say_add_by_hand_only_for_what_is_not_placed() -> None:
    placed = once("ids", "once_per_n_songs", 4, "jingle")
    assert playlist_findings(placed) == []
    scheduled = once(
        "late", "once_per_hour", 0, "jingle", schedules=[Schedule("1", time(22), time(2))]
    )
    disabled = once("off", "once_per_n_minutes", 10, "jingle", enabled=False)
    for playlist in (scheduled, disabled):
        reasons = [f.reason for f in playlist_findings(playlist)]
        assert any("add it to the 'default' clock" in r for r in reasons), reasons
    snap = station([music(), placed, scheduled, disabled], SONGS)
    assert [p.key for p in general_rotation(snap)] == ["m", "ids"]


# --- through a real import, then the planner -----------------------------------


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with migrated_database("sqlite", tmp_path / "db") as url:
        yield url


def real_station(folder: Path) -> Snapshot:
    """Eight one-minute songs in the general rotation, a station ID once an hour at
    :05 and a promo once per 25 minutes (at :00 and :30)."""
    tracks = [
        Media(
            key=f"s{i}",
            file=tone(folder / f"s{i}.mp3", 300 + 40 * i, 60.0),
            original_path=f"s{i}.mp3",
            title=f"Song {i}",
            artist=f"Artist {i}",
            duration_ms=60_000,
        )
        for i in range(8)
    ]
    tracks.append(
        Media(
            key="id",
            file=tone(folder / "id.mp3", 1200, 8.0),
            original_path="id.mp3",
            title="Station ID",
            duration_ms=8_000,
        )
    )
    tracks.append(
        Media(
            key="promo",
            file=tone(folder / "promo.mp3", 900, 20.0),
            original_path="promo.mp3",
            title="Promo",
            duration_ms=20_000,
        )
    )
    snap = station(
        [
            Playlist("1", "Music", "default", entries=[PlaylistEntry(f"s{i}") for i in range(8)]),
            Playlist("2", "Station ID", "once_per_hour", every=5, entries=[PlaylistEntry("id")]),
            Playlist(
                "3", "Promo", "once_per_n_minutes", every=25, entries=[PlaylistEntry("promo")]
            ),
        ],
        tracks,
    )
    snap.timezone = "Europe/Oslo"
    return snap


async def test_import_puts_once_per_playlists_in_the_clock_and_they_air(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = real_station(tmp_path / "backup")
    async with sessions() as session:
        planned = await plan(snapshot, session)
    [clock_row] = [r for r in planned.rows if r.part == "clock"]
    # the dry run says what the clock will hold, minute by minute
    assert (clock_row.action, clock_row.detail) == (
        "create",
        "Promo (1 min) at :00 :30, Music 57 min, Station ID (1 min) at :05",
    )
    messages = [str(f) for f in planned.findings]
    assert not [m for m in messages if "add it to the 'default' clock" in m], messages
    assert any(m.startswith("playlist row 'Station ID'") and "at :05" in m for m in messages)

    report = await apply(
        snapshot, sessions, media_dir=tmp_path / "media", artwork_dir=tmp_path / "art", workers=1
    )
    assert report.state == "done", report.parts
    [done] = [r for r in report.rows if r.part == "clock"]
    assert done.detail == "Promo (1 min) at :00 :30, Music 57 min, Station ID (1 min) at :05"
    async with sessions() as session:
        station_row = await session.scalar(select(Station))
        assert station_row is not None
        lists = {p.name: p.id for p in await session.scalars(select(PlaylistRow))}
        clock = await session.scalar(select(Clock).where(Clock.name == "default"))
        assert clock is not None
        stored = list(
            await session.scalars(
                select(ClockSlot)
                .where(ClockSlot.clock_id == clock.id)
                .order_by(ClockSlot.offset_ms)
            )
        )
        names = {v: k for k, v in lists.items()}
        assert [
            (names[s.playlist_id], s.offset_ms // MIN, s.duration_ms // MIN, s.timing.value)
            for s in stored
            if s.playlist_id is not None
        ] == [
            ("Promo", 0, 1, "soft"),
            ("Music", 1, 4, "soft"),
            ("Station ID", 5, 1, "soft"),
            ("Music", 6, 24, "soft"),
            ("Promo", 30, 1, "soft"),
            ("Music", 31, 29, "soft"),
        ]
        station_id = station_row.id

    start = datetime(2026, 3, 2, 11, tzinfo=UTC)  # 12:00 in Oslo
    built = await simulate(sessions, station_id, start, 2, now=start)
    # NOTE: the window's last seconds may stay open: the slot after it is not planned
    assert [g for g in built.gaps if g.start < start + timedelta(hours=2) - EARLY] == []
    for hour in (start, start + timedelta(hours=1)):
        # by the slot's hour: a soft slot may start up to a minute early
        entries = [
            e
            for e in built.entries
            if hour <= datetime.fromisoformat(e.meta["slot_start"]) < hour + timedelta(hours=1)
        ]
        aired = [e.playlist_id for e in entries]
        assert aired.count(lists["Station ID"]) == 1, hour
        assert aired.count(lists["Promo"]) == 2, hour
        [ident] = [e for e in entries if e.playlist_id == lists["Station ID"]]
        assert ident.meta["slot"].startswith("'Station ID'")
        assert abs((ident.starts_at - hour) - timedelta(minutes=5)) <= EARLY
