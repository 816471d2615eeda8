"""Playlists: order kept across fills, shuffle decks, rotation rules, jingles, overrides."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import PlannerError
from grimnir.planner import (
    PlayHistory,
    PlaylistSpec,
    PlaylistState,
    Track,
    TrackLibrary,
    load_playlists,
    playlist_fill,
)
from grimnir.store.models import Playlist, PlaylistItem
from tests.planner import _library
from tests.planner._library import make_library, store_library

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
MIN = 60_000

# the database fixtures, per backend
library_db, sessions, station_id = _library.library_db, _library.sessions, _library.station_id


def fixed_library(n: int, length_ms: int = 4 * MIN) -> TrackLibrary:
    """``n`` tracks of exactly ``length_ms`` (ids ``m00``, ``m01`` …)."""
    return TrackLibrary(
        Track(id=f"m{i:02d}", artist=f"A{i}", title=f"T{i}", cue_out_ms=length_ms,
              duration_ms=length_ms)
        for i in range(n)
    )  # fmt: skip


def playlist(n: int, **kw: Any) -> PlaylistSpec:
    overrides = kw.pop("overrides", {})
    items = [(f"m{i:02d}", i, overrides.get(i, {})) for i in range(n)]
    return PlaylistSpec.from_parts(kw.pop("id", "pl"), kw.pop("name", "list"), items, **kw)


def test_ordered_playlist_continues_across_fills_and_wraps() -> None:
    lib, spec, state, history = fixed_library(10), playlist(10), PlaylistState(), PlayHistory()
    rng = random.Random(1)
    first = playlist_fill(spec, lib, history, T0, 16 * MIN, rng, state)
    second = playlist_fill(spec, lib, history, T0 + timedelta(hours=1), 16 * MIN, rng, state)
    third = playlist_fill(spec, lib, history, T0 + timedelta(hours=2), 12 * MIN, rng, state)
    assert [t.id for t in first.tracks] == ["m00", "m01", "m02", "m03"]
    assert [t.id for t in second.tracks] == ["m04", "m05", "m06", "m07"]
    assert [t.id for t in third.tracks] == ["m08", "m09", "m00"]
    assert first.duration_ms == 16 * MIN
    assert first.shortfall_ms == 0
    assert first.starts[1] - first.starts[0] == timedelta(minutes=4)
    assert len(history) == 11
    assert set(first.sources) == {"pl"}


def test_last_item_only_when_it_ends_nearer_the_target() -> None:
    lib, spec = fixed_library(10), playlist(10)
    short = playlist_fill(spec, lib, PlayHistory(), T0, 9 * MIN, random.Random(), PlaylistState())
    assert short.duration_ms == 8 * MIN
    assert short.shortfall_ms == MIN
    over = playlist_fill(spec, lib, PlayHistory(), T0, 11 * MIN, random.Random(), PlaylistState())
    assert over.duration_ms == 12 * MIN
    assert over.shortfall_ms == 0
    whole = playlist_fill(spec, lib, PlayHistory(), T0, None, random.Random(), PlaylistState())
    assert len(whole.tracks) == 10  # no target: one pass


def test_shuffle_plays_every_item_once_per_deck_and_is_deterministic() -> None:
    lib, spec = fixed_library(8), playlist(8, shuffle=True)

    def run(seed: int) -> list[str]:
        state, rng, history = PlaylistState(), random.Random(seed), PlayHistory()
        ids = []
        for h in range(6):
            f = playlist_fill(spec, lib, history, T0 + timedelta(hours=h), 16 * MIN, rng, state)
            ids += [t.id for t in f.tracks]
        return ids

    ids = run(4)
    assert len(ids) == 24
    for deck in range(3):
        assert sorted(ids[deck * 8 : deck * 8 + 8]) == [f"m{i:02d}" for i in range(8)]
    assert all(a != b for a, b in itertools.pairwise(ids))  # no repeat at reshuffles
    assert ids == run(4)
    assert ids != run(5)
    assert ids[:8] != sorted(ids[:8])


def test_shuffle_weights_bring_heavy_items_earlier() -> None:
    lib = fixed_library(10)
    spec = playlist(10, shuffle=True, overrides={3: {"weight": 50}})
    firsts = []
    for seed in range(200):
        state = PlaylistState()
        f = playlist_fill(spec, lib, PlayHistory(), T0, 4 * MIN, random.Random(seed), state)
        firsts.append(f.tracks[0].id)
    assert firsts.count("m03") > 100  # ≈ 50/59 of the time, 1/10 without the weight


def _songs(history: PlayHistory, start: datetime, count: int) -> None:
    for i in range(count):
        history.add(Track(id=f"s{start.minute}-{i}", artist=f"S{i}"), start + timedelta(minutes=i))


def test_once_per_n_songs() -> None:
    lib = fixed_library(3, length_ms=10_000)
    spec = playlist(3, rotation={"type": "once_per_n_songs", "n": 3}, jingle=True)
    history, state, rng = PlayHistory(), PlaylistState(), random.Random()
    first = playlist_fill(spec, lib, history, T0, 5 * MIN, rng, state)
    assert len(first.tracks) == 1
    assert first.shortfall_ms == 5 * MIN - 10_000
    _songs(history, T0 + timedelta(minutes=1), 2)
    rest = playlist_fill(spec, lib, history, T0 + timedelta(minutes=5), 5 * MIN, rng, state)
    assert not rest.tracks
    assert "2 songs since its last item, needs 3" in rest.notes[0]
    _songs(history, T0 + timedelta(minutes=6), 1)
    again = playlist_fill(spec, lib, history, T0 + timedelta(minutes=8), 5 * MIN, rng, state)
    assert [t.id for t in again.tracks] == ["m01"]


def test_once_per_n_minutes_and_once_per_hour() -> None:
    lib = fixed_library(3, length_ms=10_000)
    every15 = playlist(3, id="ids", rotation={"type": "once_per_n_minutes", "n": 15})
    hourly = playlist(3, id="top", rotation={"type": "once_per_hour"})
    history, state, rng = PlayHistory(), PlaylistState(), random.Random()

    def aired(spec: PlaylistSpec, minutes: int) -> bool:
        at = T0 + timedelta(minutes=minutes)
        return bool(playlist_fill(spec, lib, history, at, MIN, rng, state).tracks)

    assert [aired(every15, m) for m in (0, 10, 14, 15, 29, 31)] == [
        True, False, False, True, False, True,
    ]  # fmt: skip
    # the clock hour of the station's zone: 10:50 and 11:05 Berlin are different hours
    assert [aired(hourly, m) for m in (50, 59, 65, 119, 120)] == [True, False, True, False, True]


def test_jingles_carry_no_now_playing_and_do_not_count_as_songs() -> None:
    lib = fixed_library(2, length_ms=8_000)
    spec = playlist(2, jingle=True)
    history = PlayHistory()
    f = playlist_fill(spec, lib, history, T0, 16_000, random.Random(), PlaylistState())
    assert f.jingle
    assert all(not t.now_playing for t in f.tracks)
    assert history.songs_between(T0, T0 + timedelta(hours=1)) == 0
    music = playlist_fill(playlist(2), lib, history, T0, 16_000, random.Random(), PlaylistState())
    assert not music.jingle
    assert all(t.now_playing for t in music.tracks)


def test_overrides_change_cues_and_fades() -> None:
    lib = fixed_library(2)
    spec = playlist(
        2, overrides={0: {"cue_in_ms": 5_000, "cue_out_ms": 65_000, "fade_out_ms": 3_000}}
    )
    f = playlist_fill(spec, lib, PlayHistory(), T0, None, random.Random(), PlaylistState())
    first, second = f.tracks
    assert (first.cue_in_ms, first.cue_out_ms, first.duration_ms) == (5_000, 65_000, 60_000)
    assert (first.fade_in_ms, first.fade_out_ms) == (None, 3_000)
    assert second.duration_ms == 4 * MIN
    assert second.fade_out_ms is None
    original = lib.get("m00")
    assert original is not None
    assert original.duration_ms == 4 * MIN  # the library's track is unchanged


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"overrides": {1: {"cue_in_ms": 9, "cue_out_ms": 5}}}, "position 1: cue_out_ms"),
        ({"overrides": {2: {"volume": 3}}}, "position 2: invalid overrides"),
        ({"rotation": {"type": "once_per_n_songs"}}, "needs 'n'"),
        ({"rotation": {"type": "sometimes"}}, "invalid rotation"),
    ],
)
def test_bad_playlists_say_what_to_fix(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(PlannerError, match=message):
        playlist(3, **kw)


def test_missing_items_are_skipped_with_a_note() -> None:
    lib = fixed_library(2)
    spec = PlaylistSpec.from_parts("p", "gone", [("m00", 0, {}), ("nope", 1, {}), ("m01", 2, {})])
    f = playlist_fill(spec, lib, PlayHistory(), T0, None, random.Random(), PlaylistState())
    assert [t.id for t in f.tracks] == ["m00", "m01"]
    assert "1 item(s) not ready" in f.notes[0]
    empty = PlaylistSpec.from_parts("e", "empty", [("nope", 0, {})])
    g = playlist_fill(empty, lib, PlayHistory(), T0, MIN, random.Random(), PlaylistState())
    assert not g.tracks
    assert g.shortfall_ms == MIN


async def test_load_playlists_from_the_store(
    sessions: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> None:
    rows = make_library(4, seed=14)
    async with sessions() as session, session.begin():
        await store_library(session, station_id, rows)
    async with sessions() as session, session.begin():
        row = Playlist(
            station_id=station_id, name=f"ids-{uuid.uuid4().hex[:6]}", shuffle=True, jingle=True,
            rotation={"type": "once_per_n_minutes", "n": 20},
        )  # fmt: skip
        session.add(row)
        await session.flush()
        session.add_all(
            PlaylistItem(playlist_id=row.id, position=p, media_id=rows[i]["id"],
                         overrides={"fade_in_ms": 100} if p == 0 else {})
            for p, i in enumerate([2, 0, 3])
        )  # fmt: skip
    async with sessions() as session:
        specs = await load_playlists(session, station_id)
        library = await TrackLibrary.load(session, station_id)
    spec = specs[str(row.id)]
    assert [i.media_id for i in spec.items] == [str(rows[i]["id"]) for i in (2, 0, 3)]
    assert spec.shuffle
    assert spec.jingle
    assert spec.rotation.n == 20
    assert spec.items[0].overrides.fade_in_ms == 100
    f = playlist_fill(
        spec, library, PlayHistory(), T0.astimezone(UTC), MIN, random.Random(), PlaylistState()
    )
    assert len(f.tracks) == 1
    assert f.jingle
