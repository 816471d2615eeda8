"""Smart block fills: separation, quotas, weights, duration, relaxation, fallback."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from grimnir.domain import PlannerError
from grimnir.planner import Fill, PlayHistory, SmartBlockSpec, TrackLibrary, fill
from grimnir.planner._text import fold
from grimnir.store.models import SmartBlock
from tests.planner._library import make_library, track_library

HOUR = 3_600_000
T0 = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # a week across a DST change and midnights


@pytest.fixture(scope="module")
def library() -> TrackLibrary:
    return track_library(make_library(6_000, seed=21))


def spec(rules: dict[str, Any] | None = None, **kw: Any) -> SmartBlockSpec:
    kw.setdefault("target_ms", HOUR)
    kw.setdefault("tolerance_ms", 30_000)
    return SmartBlockSpec.from_rules(kw.pop("id", "b"), kw.pop("name", "music"), rules or {}, **kw)


def week(
    block: SmartBlockSpec, library: TrackLibrary, seed: int = 1, hours: int = 168
) -> tuple[list[Fill], PlayHistory]:
    history, rng = PlayHistory(), random.Random(seed)
    fills = [
        fill(block, library, history, T0 + timedelta(hours=h), None, rng) for h in range(hours)
    ]
    return fills, history


def assert_separated(fills: list[Fill], kind: str, minutes: float) -> int:
    """No two plays of one key closer than ``minutes`` unless the later fill reported
    relaxing that separation; returns how many fills relaxed it."""
    last: dict[str, datetime] = {}
    relaxed = 0
    for f in fills:
        loosened = any(r.startswith(f"{kind}_separation") for r in f.relaxations)
        relaxed += loosened
        for track, at in zip(f.tracks, f.starts, strict=True):
            key = track.key(kind)
            if key is None:
                continue
            if key in last and not loosened:
                assert at - last[key] >= timedelta(minutes=minutes), (kind, key, at, last[key])
            last[key] = at
    return relaxed


def test_week_of_fills_keeps_separation_and_fills_the_hour(library: TrackLibrary) -> None:
    block = spec({"separation": {"artist": 90, "title": 600, "album": 60}})
    fills, history = week(block, library)
    assert assert_separated(fills, "artist", 90) == 0  # a big library never needs relaxing
    assert assert_separated(fills, "title", 600) == 0
    assert assert_separated(fills, "album", 60) == 0
    assert len(history) == sum(len(f.tracks) for f in fills)
    for f in fills:
        assert HOUR - 30_000 <= f.duration_ms <= HOUR + 30_000, f.notes
        assert f.shortfall_ms == 0
        assert not f.relaxations
        assert len({t.id for t in f.tracks}) == len(f.tracks)
        assert f.duration_ms == sum(t.duration_ms for t in f.tracks)  # nothing is cut
        assert f.starts[0] == T0 + timedelta(hours=fills.index(f))


def test_small_library_relaxes_in_order_and_reports_it() -> None:
    rows = make_library(120, seed=3, artists=8)
    small = track_library(rows)
    order = ["artist_separation", "quotas", "album_separation", "title_separation"]
    block = spec({"separation": {"artist": 120, "title": 240}, "relaxation": order})
    fills, _ = week(block, small, hours=24)
    used = [r for f in fills for r in f.relaxations]
    assert used, "8 artists cannot keep 2 h apart"
    first = next(f.relaxations for f in fills if f.relaxations)
    assert first[0] == "artist_separation 120→60 min"
    assert assert_separated(fills, "artist", 120) > 0  # only where reported
    assert_separated(fills, "title", 240)


def test_relaxation_steps_cycle_then_drop() -> None:
    rows = make_library(12, seed=4, artists=1)
    tiny = track_library(rows)
    block = spec(
        {"separation": {"artist": 40, "title": 0, "album": 0}, "relaxation": ["artist_separation"]}
    )
    f = fill(block, tiny, PlayHistory(), T0, HOUR // 2, random.Random(2))
    assert f.relaxations == [
        "artist_separation 40→20 min",
        "artist_separation 20→10 min",
        "artist_separation 10→5 min",
        "artist_separation dropped (was 5 min)",
    ]
    assert f.shortfall_ms == 0


def test_max_quota_per_value_and_min_quota(library: TrackLibrary) -> None:
    rules = {
        "quotas": [{"field": "genre", "max": 2}, {"field": "mood", "value": "Calm", "min": 3}],
    }
    fills, _ = week(spec(rules), library, hours=48)
    for f in fills:
        assert not f.relaxations
        genres = Counter(fold(t.genre) for t in f.tracks if t.genre)
        assert max(genres.values()) <= 2
        assert sum(t.mood == "calm" for t in f.tracks) >= 3


def test_weights_shift_the_mix(library: TrackLibrary) -> None:
    weights = {"weights": {"genre": {"Rock": 6, "JAZZ": 0.2, "Metal": 0}}}
    fills, _ = week(spec(weights), library, hours=120)
    picked = Counter(t.genre for f in fills for t in f.tracks)
    base = Counter(t.genre for t in library)
    total, n = sum(picked.values()), len(library)

    def share(genre: str) -> float:
        return (picked[genre] / total) / (base[genre] / n)

    assert share("Rock") > 3.0
    assert share("Jazz") < 0.5
    assert picked["Metal"] == 0  # weight 0 excludes


def test_same_seed_same_picks_other_seed_other_picks(library: TrackLibrary) -> None:
    block = spec({"quotas": [{"field": "genre", "max": 3}]})
    a = [t.id for f in week(block, library, seed=5, hours=24)[0] for t in f.tracks]
    b = [t.id for f in week(block, library, seed=5, hours=24)[0] for t in f.tracks]
    c = [t.id for f in week(block, library, seed=6, hours=24)[0] for t in f.tracks]
    assert a == b
    assert a != c


def test_fallback_block_when_nothing_matches(library: TrackLibrary) -> None:
    nothing = {"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]}
    rock = {"groups": [[{"field": "genre", "modifier": "is", "value": "rock"}]]}
    primary = spec(nothing, id="p", name="polka", fallback_id="f")
    fallback = spec(rock, id="f", name="rock")
    f = fill(primary, library, PlayHistory(), T0, HOUR, random.Random(1), blocks={"f": fallback})
    assert f.used_block_id == "f"
    assert f.tracks
    assert all(t.genre == "Rock" for t in f.tracks)
    assert set(f.sources) == {"f"}
    assert "'polka' matches no ready track; used 'rock'" in f.notes[0]
    alone = fill(primary, library, PlayHistory(), T0, HOUR, random.Random(1))
    assert not alone.tracks
    assert alone.shortfall_ms == HOUR


def test_fallback_loop_is_refused_not_followed(library: TrackLibrary) -> None:
    nothing = {"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]}
    a = spec(nothing, id="a", name="a", fallback_id="b")
    b = spec(nothing, id="b", name="b", fallback_id="a")
    f = fill(a, library, PlayHistory(), T0, HOUR, random.Random(1), blocks={"a": a, "b": b})
    assert not f.tracks
    assert any("loops back" in n for n in f.notes)


@pytest.mark.parametrize("policy", ["under", "allow_overflow", "trim_last"])
def test_overflow_policies(policy: str) -> None:
    rows = make_library(60, seed=9)
    for row in rows:  # every track 4–5 minutes; a 10-minute target cannot be met exactly
        row["cue_in_ms"], row["cue_out_ms"] = (
            0,
            240_000 + int(row["sha256"][-6:], 16) * 997 % 60_000,
        )
    lib = track_library(rows)
    block = spec({"overflow": policy, "separation": {"artist": 0, "title": 0, "album": 0}})
    f = fill(block, lib, PlayHistory(), T0, 660_000, random.Random(3))
    if policy == "under":
        assert f.duration_ms < 660_000 - 30_000
        assert f.shortfall_ms == 660_000 - f.duration_ms
    else:
        assert f.duration_ms > 660_000
        assert f.shortfall_ms == 0
        before = f.duration_ms - f.tracks[-1].duration_ms
        assert f.trim_last_to_ms == (660_000 - before if policy == "trim_last" else None)


def test_limit_and_sorts(library: TrackLibrary) -> None:
    newest = spec({"sort": "newest", "limit": {"items": 5}}, target_ms=None)
    f = fill(newest, library, PlayHistory(), T0, None, random.Random(1))
    expected = sorted(library, key=lambda t: t.added_at, reverse=True)[:5]
    assert [t.id for t in f.tracks] == [t.id for t in expected]
    lrp = spec({"sort": "least_recently_played", "limit": {"minutes": 20}}, target_ms=None)
    g = fill(lrp, library, PlayHistory(), T0, None, random.Random(1))
    never = {t.id for t in library if t.last_played_at is None}
    assert g.tracks
    assert all(t.id in never for t in g.tracks)
    assert g.duration_ms <= 20 * 60_000 + 30_000


def test_from_row_and_errors() -> None:
    row = SmartBlock(
        station_id=uuid.uuid4(), name="Drive", target_duration_ms=HOUR, tolerance_ms=5_000,
        rules={"groups": [[{"field": "bpm", "modifier": "greater_than", "value": 120}]],
               "separation": {"artist": 30}},
    )  # fmt: skip
    s = SmartBlockSpec.from_row(row)
    assert (s.id, s.name, s.target_ms, s.tolerance_ms) == (str(row.id), "Drive", HOUR, 5_000)
    assert s.separation.artist == 30
    assert s.separation.title == 180
    row.rules = {"groups": [[{"field": "bpm", "modifier": "contains", "value": "1"}]]}
    with pytest.raises(PlannerError, match=r"smart block 'Drive'.*\n.*groups\[0\]\[0\]"):
        SmartBlockSpec.from_row(row)
    row.rules = {"sort": "loudest"}
    with pytest.raises(PlannerError, match="sort"):
        SmartBlockSpec.from_row(row)
    no_target = spec({}, target_ms=None)
    with pytest.raises(PlannerError, match="no target duration and no limit"):
        fill(no_target, track_library(make_library(5)), PlayHistory(), T0, None, random.Random())


def test_least_recently_played_cycles_through_the_library() -> None:
    rows = make_library(150, seed=17)
    for n, row in enumerate(rows):  # 100 never played, 50 played on known days
        row["last_played_at"] = None if n < 100 else T0 - timedelta(days=(n * 37) % 50 + 1)
    small = track_library(rows)
    no_separation = {"artist": 0, "title": 0, "album": 0}
    # by count, so that fitting the hour does not reorder the last picks of each fill
    rules = {"sort": "least_recently_played", "separation": no_separation, "limit": {"items": 13}}
    block = spec(rules, target_ms=None)
    fills, _ = week(block, small, hours=24)
    ids = [t.id for f in fills for t in f.tracks]
    assert len(ids) > 300
    never = {t.id for t in small if t.last_played_at is None}
    assert set(ids[:100]) == never  # the never-played first
    by_age = sorted((t for t in small if t.last_played_at), key=lambda t: t.last_played_at or T0)
    assert ids[100:150] == [t.id for t in by_age]  # then oldest play first
    assert ids[150:300] == ids[:150]  # then the same cycle again
