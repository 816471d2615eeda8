"""The in-memory track library and the play history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import EntryKind, EntryStatus, MediaState
from grimnir.planner import PlayHistory, Track, TrackLibrary
from grimnir.planner._text import album_key, artist_key, title_key
from grimnir.store.models import AsRun, TimelineEntry
from tests.planner import _library
from tests.planner._library import make_library, store_library, track_library

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)

# the database fixtures, per backend
library_db, sessions, station_id = _library.library_db, _library.sessions, _library.station_id


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("The Beatles", "beatles"),
        ("the beatles feat. Billy Preston", "beatles"),
        ("BEATLES ft. Someone", "beatles"),
        ("Åsa & The Waves", "åsa the waves"),
        ("The The", "the"),
        ("", None),
        (None, None),
    ],
)
def test_artist_key(raw: str | None, key: str | None) -> None:
    assert artist_key(raw) == key


def test_title_and_album_keys_drop_versions() -> None:
    assert title_key("Hey Jude (Remastered 2015)") == title_key("hey jude")
    assert title_key("Song - Radio Edit") == "song"
    assert title_key("Dancing with Myself") == "dancing with myself"
    assert title_key("Song (feat. X)") == "song"
    assert album_key("Abbey Road (Deluxe Edition)") == "abbey road"
    assert title_key("(Intro)") == "intro"  # nothing left after stripping: keep the whole


async def test_load_reads_ready_items_only(
    sessions: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> None:
    rows = make_library(300, seed=8)
    for row in rows[:20]:
        row["state"] = MediaState.PENDING
    for row in rows[20:30]:
        row["state"] = MediaState.FAILED
    async with sessions() as session, session.begin():
        await store_library(session, station_id, rows)
    async with sessions() as session:
        library = await TrackLibrary.load(session, station_id)
    expected = track_library(rows)
    assert len(library) == 270
    assert [t.id for t in library] == [t.id for t in expected]  # sorted by id, stable
    for loaded, built in zip(library, expected, strict=True):
        assert loaded == built
        assert loaded.added_at.tzinfo is not None
        assert loaded.duration_ms == loaded.cue_out_ms - loaded.cue_in_ms > 0


def test_columns_hold_missing_values_as_nan_and_none() -> None:
    rows = make_library(500, seed=6)
    library = track_library(rows)
    years = library.number("year")
    assert np.isnan(years).sum() == sum(t.year is None for t in library)
    assert library.text("genre").count(None) == sum(t.genre is None for t in library)
    first = library[0]
    assert library.get(first.id) is first
    assert library.index_of(first.id) == 0
    index = library.key_index("artist")
    some = next(k for k, v in index.items() if len(v) > 1)
    assert all(library[int(i)].artist_key == some for i in index[some])


def _track(n: int, artist: str = "A", title: str | None = None) -> Track:
    return Track(id=f"t{n}", artist=artist, title=title or f"song {n}", album=f"album {n}")


def test_history_answers_last_and_next_per_key() -> None:
    history = PlayHistory()
    history.add(_track(1, "The Band"), T0)
    history.add(_track(2, "Band feat. X"), T0 + timedelta(minutes=30))
    history.add(_track(3, "Other"), T0 + timedelta(minutes=10))
    key = artist_key("band")
    assert history.last_artist(key, T0 + timedelta(minutes=31)) == T0 + timedelta(minutes=30)
    assert history.last_artist(key, T0 + timedelta(minutes=30)) == T0  # strictly before
    assert history.last_artist(key, T0) is None
    assert history.next("artist", key, T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=30)
    assert history.last_track("t3", T0 + timedelta(hours=1)) == T0 + timedelta(minutes=10)
    assert history.too_close("artist", key, T0 + timedelta(minutes=50), timedelta(minutes=21))
    assert not history.too_close("artist", key, T0 + timedelta(minutes=51), timedelta(minutes=21))
    # a planned play after the moment counts too
    assert history.too_close("artist", key, T0 + timedelta(minutes=15), timedelta(minutes=16))
    assert history.keys_near("artist", T0 + timedelta(minutes=5), timedelta(minutes=6)) == {
        "band",
        "other",
    }
    assert [p.track_id for p in history.plays()] == ["t1", "t3", "t2"]


def test_unknown_artist_is_never_separated() -> None:
    history = PlayHistory()
    history.add(Track(id="x"), T0)
    assert history.last_artist(None, T0 + timedelta(minutes=1)) is None
    assert not history.too_close("artist", None, T0, timedelta(hours=1))


def test_fork_is_independent_both_ways() -> None:
    history = PlayHistory()
    history.add(_track(1, "A"), T0)
    fork = history.fork()
    fork.add(_track(2, "B"), T0 + timedelta(minutes=5))
    history.add(_track(3, "C"), T0 + timedelta(minutes=6))
    later = T0 + timedelta(hours=1)
    assert fork.last_artist("b", later) is not None
    assert history.last_artist("b", later) is None
    assert history.last_artist("c", later) is not None
    assert fork.last_artist("c", later) is None
    assert fork.last_artist("a", later) == history.last_artist("a", later) == T0
    for n in range(20):  # many forks compact into one layer and stay correct
        history = history.fork()
        history.add(_track(10 + n, f"X{n}"), T0 + timedelta(minutes=10 + n))
    assert len(history) == 22
    assert history.last_artist("x0", later) == T0 + timedelta(minutes=10)


def test_songs_between_skips_jingles() -> None:
    history = PlayHistory()
    history.add(_track(1), T0)
    history.add(Track(id="j", now_playing=False), T0 + timedelta(minutes=1), "jingles")
    history.add(_track(2), T0 + timedelta(minutes=2))
    assert history.songs_between(T0, T0 + timedelta(minutes=3)) == 2
    assert history.last("source", "jingles", T0 + timedelta(hours=1)) == T0 + timedelta(minutes=1)


async def test_load_from_as_run_and_timeline(
    sessions: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> None:
    rows = make_library(3, seed=12)
    rows[0]["artist"], rows[1]["artist"], rows[2]["artist"] = "Aired", "Planned", "Skipped"
    async with sessions() as session, session.begin():
        await store_library(session, station_id, rows)
    ids = [r["id"] for r in rows]
    async with sessions() as session, session.begin():
        aired_entry = TimelineEntry(
            station_id=station_id, seq=1, starts_at=T0, ends_at=T0 + timedelta(minutes=3),
            kind=EntryKind.TRACK, status=EntryStatus.AIRED, media_id=ids[0], artist="Aired",
        )  # fmt: skip
        session.add(aired_entry)
        await session.flush()  # no ORM relationship orders these inserts
        session.add_all(
            [
                AsRun(
                    station_id=station_id,
                    timeline_entry_id=aired_entry.id,
                    media_id=ids[0],
                    artist="Aired",
                    title="a",
                    album="Alb",
                    started_at=T0 + timedelta(seconds=2),
                ),
                AsRun(
                    station_id=station_id,
                    media_id=None,
                    artist="Old",
                    title="o",
                    started_at=T0 - timedelta(days=2),
                ),
                TimelineEntry(
                    station_id=station_id,
                    seq=2,
                    starts_at=T0 + timedelta(hours=1),
                    ends_at=T0 + timedelta(hours=1, minutes=3),
                    kind=EntryKind.TRACK,
                    media_id=ids[1],
                    artist="Planned",
                    title="p",
                ),
                TimelineEntry(
                    station_id=station_id,
                    seq=3,
                    starts_at=T0 + timedelta(hours=2),
                    ends_at=T0 + timedelta(hours=2, minutes=3),
                    kind=EntryKind.TRACK,
                    status=EntryStatus.SKIPPED,
                    media_id=ids[2],
                    artist="Skipped",
                ),
            ]
        )
    async with sessions() as session:
        history = await PlayHistory.load(session, station_id, since=T0 - timedelta(hours=1))
    plays = history.plays()
    assert [p.artist_key for p in plays] == ["aired", "planned"]  # once each; no skipped, no old
    assert plays[0].start == T0 + timedelta(seconds=2)  # as it aired, not as planned
    assert plays[0].album_key == "alb"
    assert plays[1].album_key == album_key(rows[1]["album"])  # from the media item
