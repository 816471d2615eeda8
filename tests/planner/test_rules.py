"""Smart block rules: SQL and in-memory evaluation select the same tracks."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import PlannerError
from grimnir.planner import RuleSet, TrackLibrary
from grimnir.planner._text import fold
from grimnir.planner.rules import MODIFIERS, Rule, field_kind
from grimnir.store.models import MediaItem
from tests.planner import _library
from tests.planner._library import GENRES, make_library, store_library, track_library

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Oslo"))  # the night DST starts
TEXT = ("title", "artist", "album", "genre", "mood", "label", "language", "isrc")
CUSTOM = ("custom.tempo", "custom.rating", "custom.missing")
NUMBERS = ("year", "bpm", "duration", "loudness", "play_count")
DATES = ("added", "last_played")
_SPECIAL = ["%", "_", "\\", "100%", "a_b", "ÅSA", "straße", "ΣΟΦΙΑ", "ЖАННА", "🎸", "'", "é"]

# the database fixtures, per backend
library_db, sessions, station_id = _library.library_db, _library.sessions, _library.station_id


def _text_value(rng: random.Random, column: list[str | None], raw: list[Any]) -> str:
    values = [v for v in raw if isinstance(v, str)]
    pick = rng.random()
    if pick < 0.25 or not values:
        return rng.choice(_SPECIAL)
    value = rng.choice(values)
    if pick < 0.5:
        value = value.upper() if rng.random() < 0.5 else value.swapcase()
    elif pick < 0.8:
        a = rng.randrange(len(value))
        value = value[a : a + rng.randint(1, 4)]
    return value


def _number_value(rng: random.Random, name: str, library: TrackLibrary) -> Any:
    column = library.number(name)
    known = column[~np.isnan(column)]
    value = float(rng.choice(known))
    if name == "duration":
        value = value / 1000  # rules take seconds
        return rng.choice([value, round(value), f"{int(value // 60)}:{int(value % 60):02d}"])
    if name in ("year", "play_count"):
        return int(value)
    return value


def _date_value(rng: random.Random, library: TrackLibrary, name: str) -> str:
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(["now", "today", "30 days ago", "2 weeks ago", "36 hours ago", "1 day"])
    column = library.number(name)
    us = float(rng.choice(column[~np.isnan(column)]))
    moment = datetime.fromtimestamp(us / 1e6, NOW.tzinfo)
    if pick < 0.7:
        return moment.date().isoformat()
    if pick < 0.85:
        return moment.isoformat()  # an exact stored instant
    return moment.replace(tzinfo=None, microsecond=0).isoformat()  # naive: station time


def _value(rng: random.Random, name: str, mod: str, library: TrackLibrary) -> Any:
    kind = field_kind(name)
    if kind == "text":
        raw = [t.value(name) for t in library.tracks[:2000]]
        return _text_value(rng, library.text(name), raw)
    if mod in ("between", "in_range"):
        if kind == "date" and mod == "in_range" and rng.random() < 0.5:
            return rng.choice(["30 days", "2 weeks", "400 days", "12 hours"])
        pair = sorted(
            [_number_value(rng, name, library) for _ in range(2)]
            if kind == "number"
            else [_date_value(rng, library, name) for _ in range(2)],
            key=lambda v: _sort_key(v, name),
        )
        return pair
    if kind == "number":
        return _number_value(rng, name, library)
    return _date_value(rng, library, name)


def _sort_key(value: Any, name: str) -> float:
    rule = Rule(field=name, modifier="is", value=value)
    return float(rule.bounds(NOW)[0])


def generate_rules(library: TrackLibrary, seed: int = 7) -> list[RuleSet]:
    """Every field × modifier a few times, then random groups of them."""
    rng = random.Random(seed)
    singles: list[Rule] = []
    for name in (*TEXT, *CUSTOM, *NUMBERS, *DATES):
        mods = MODIFIERS[field_kind(name)]
        for mod in sorted(mods):
            for _ in range(3 if name in CUSTOM else 4):
                singles.append(
                    Rule(field=name, modifier=mod, value=_value(rng, name, mod, library))
                )
    sets = [RuleSet(groups=[[r]]) for r in singles]
    for _ in range(120):
        groups = [rng.sample(singles, rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        sets.append(RuleSet(groups=groups))
    sets.append(RuleSet())
    return sets


async def test_sql_selection_equals_python_selection(
    sessions: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> None:
    rows = make_library(3_000, seed=3)
    async with sessions() as session, session.begin():
        await store_library(session, station_id, rows)
    async with sessions() as session:
        library = await TrackLibrary.load(session, station_id)
    assert len(library) == 3_000
    rule_sets = generate_rules(library)
    assert len(rule_sets) > 400
    by_sha = {row["sha256"]: str(row["id"]) for row in rows}
    checked = nonempty = 0
    async with sessions() as session:
        for rules in rule_sets:
            mask = rules.mask(library, NOW)
            in_python = {library[int(i)].id for i in np.flatnonzero(mask)}
            # NOTE: fetch the smaller side (the rows matching, or not matching)
            inverted = mask.sum() > len(library) / 2
            clause = rules.clause(NOW)
            query = select(MediaItem.sha256).where(
                MediaItem.station_id == station_id, ~clause if inverted else clause
            )
            fetched = {by_sha[sha] for sha in (await session.scalars(query)).all()}
            in_sql = set(by_sha.values()) - fetched if inverted else fetched
            assert in_sql == in_python, (
                f"{rules.model_dump(mode='json')}: SQL only "
                f"{[library.get(i) for i in list(in_sql - in_python)[:3]]}, Python only "
                f"{[library.get(i) for i in list(in_python - in_sql)[:3]]}"
            )
            checked += 1
            nonempty += 0 < len(in_sql) < len(library)
    # the rules must discriminate, or the equality proves little
    assert nonempty > checked * 0.6


def test_mask_equals_per_track_predicate() -> None:
    library = track_library(make_library(1_500, seed=5))
    for rules in generate_rules(library, seed=11):
        mask = rules.mask(library, NOW)
        each = np.fromiter((rules.matches(t, NOW) for t in library), np.bool_, len(library))
        assert np.array_equal(mask, each), rules.model_dump(mode="json")


def test_missing_values_match_only_negative_modifiers() -> None:
    library = track_library(make_library(2_000, seed=9))
    no_genre = {t.id for t in library if t.genre is None}
    assert no_genre
    chosen = {
        mod: {library[int(i)].id for i in np.flatnonzero(
            RuleSet(groups=[[Rule(field="genre", modifier=mod, value="rock")]]).mask(library, NOW)
        )}
        for mod in ("is", "is_not", "contains", "not_contains")
    }  # fmt: skip
    assert no_genre <= chosen["is_not"]
    assert no_genre <= chosen["not_contains"]
    assert not no_genre & chosen["is"]
    assert not no_genre & chosen["contains"]
    assert chosen["is"] | chosen["is_not"] == {t.id for t in library}


def test_text_is_case_insensitive_and_wildcards_are_literal() -> None:
    rows = make_library(3_000, seed=2)
    library = track_library(rows)

    def ids(field: str, mod: str, value: str) -> set[str]:
        mask = RuleSet(groups=[[Rule(field=field, modifier=mod, value=value)]]).mask(library, NOW)
        return {library[int(i)].id for i in np.flatnonzero(mask)}

    assert ids("genre", "is", "ROCK") == {t.id for t in library if t.genre == "Rock"}
    assert ids("genre", "contains", "%") == {t.id for t in library if "%" in (t.genre or "")}
    assert ids("genre", "starts_with", "hip_") == {t.id for t in library if t.genre == "Hip_Hop"}
    assert ids("artist", "contains", "ΣΟΦΙΑ") == ids("artist", "contains", "σοφια")
    assert fold("ΣΟΦΙΑΣ") == "σοφιασ"  # simple per-letter case, as the databases do
    assert set(GENRES) >= {t.genre for t in library if t.genre}


def test_relative_dates_follow_the_evaluation_time() -> None:
    library = track_library(make_library(2_000, seed=4))
    rules = RuleSet(groups=[[Rule(field="added", modifier="in_range", value="30 days")]])
    assert rules.relative
    for now in (NOW, NOW - timedelta(days=400), NOW - timedelta(days=1500)):
        lo = now - timedelta(days=30)
        expect = {t.id for t in library if lo <= t.added_at <= now}
        got = {library[int(i)].id for i in np.flatnonzero(rules.mask(library, now))}
        assert got == expect


def test_date_only_values_are_whole_days_in_the_evaluation_zone() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    rule = Rule(field="added", modifier="is", value="2026-03-29")
    lo, hi = rule.bounds(NOW)
    assert hi - lo == 23 * 3_600_000_000  # the DST day is 23 hours long in Oslo
    assert datetime.fromtimestamp(lo / 1e6, oslo).hour == 0


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "genre", "modifier": "between", "value": ["a", "b"]}, "is a text field"),
        ({"field": "colour", "modifier": "is", "value": "red"}, "unknown field 'colour'"),
        ({"field": "year", "modifier": "is", "value": "1999ish"}, "is not a number"),
        ({"field": "year", "modifier": "between", "value": [2000]}, "give a pair"),
        ({"field": "year", "modifier": "between", "value": [2000, 1990]}, "low 2000 > high"),
        ({"field": "added", "modifier": "before", "value": "last tuesday"}, "is not a date"),
        ({"field": "genre", "modifier": "is", "value": ""}, "non-empty text"),
        ({"field": "custom.a b", "modifier": "is", "value": "x"}, "letters, digits"),
        ({"field": "duration", "modifier": "less_than", "value": "3m"}, "m:ss"),
    ],
)
def test_invalid_rules_say_which_and_how_to_fix(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PlannerError) as caught:
        RuleSet.parse({"groups": [[{"field": "genre", "modifier": "is", "value": "x"}], [rule]]})
    text = str(caught.value)
    assert "groups[1][0]" in text
    assert message in text


def test_empty_group_is_refused() -> None:
    with pytest.raises(PlannerError, match="group 0 is empty"):
        RuleSet.parse({"groups": [[]]})
