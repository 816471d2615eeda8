# ruff: noqa: S608 - the SQL is LibreTime's query, built from the fixture's own criteria
"""LibreTime smart block criteria select the same tracks here as there.

LibreTime's side runs on the fixture's own PostgreSQL database: ``libretime_sql``
builds the WHERE clause the way ``Block.php`` (``getListofFilesMeetCriteria``) and
Propel 1's ``Criteria::addAnd``/``addOr`` do, written from reading them. Our side
loads the same tracks (as the reader gives them) into a migrated Grimnir database
and selects with ``services.library.rules_clause`` on the rules ``rules_of`` gives.
Each block of the fixture and each of its criteria alone are compared; where
``rules_of`` reports a difference, the test checks it is exactly that difference.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from grimnir.domain import MediaState
from grimnir.importers.criteria import rules_of
from grimnir.importers.libretime import read_dump
from grimnir.importers.model import Criterion, Snapshot
from grimnir.importers.model import SmartBlock as LtBlock
from grimnir.planner import SmartBlockSpec
from grimnir.services.library import rules_clause
from grimnir.store import create_engine, session_factory
from grimnir.store.models import MediaItem, Station
from tests._databases import migrated_database
from tests.importers.libretime._backup import Backup, backup

__all__ = ["backup"]

pytestmark = pytest.mark.postgres
NOW = datetime.now(UTC)

# -- LibreTime's selection, as Block.php builds it -------------------------------

_ILIKE = {"contains", "does not contain", "starts with", "ends with"}
_OPS = {
    "contains": "ILIKE",
    "does not contain": "NOT ILIKE",
    "is": "=",
    "is not": "<>",
    "starts with": "ILIKE",
    "ends with": "ILIKE",
    "is greater than": ">",
    "is less than": "<",
}


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _condition(c: Criterion) -> tuple[str, str]:
    """(Propel's map key, the SQL of one criterion) as Block.php writes it."""
    column, modifier, value, extra = c.field, c.modifier, c.value, c.extra
    if column in ("bit_rate", "sample_rate"):  # stored in bit/s, typed in kbit/s
        value = _times_1000(value)
        extra = None if extra is None else _times_1000(extra)
    elif column in ("length", "cuein", "cueout") and modifier == "is":
        modifier, column = "starts with", f"{column}::text"
    elif modifier in _ILIKE:
        value = value.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%")
    if column == "track_type_id":  # the reader names the type by its code
        value = f"(SELECT id FROM cc_track_types WHERE code = {_lit(value)})"
    key = {"owner_id": "subj.login"}.get(column, f".{column}")
    sql_column = {
        "owner_id": "subj.login",
        "filepath": "reverse(split_part(reverse(filepath), '/', 1))",
    }.get(column, f"cc_files.{column}")
    if modifier == "starts with":
        value = f"{value}%"
    elif modifier == "ends with":
        value = f"%{value}"
    elif modifier in ("contains", "does not contain"):
        value = f"%{value}%"
    if modifier == "is in the range":
        return key, f"{sql_column} >= {_lit(value)} AND {sql_column} <= {_lit(extra)}"
    if modifier in ("before", "after", "between"):
        ago = _ago(value)
        col = f"COALESCE({sql_column}, '-infinity'::timestamp)"
        if modifier == "before":
            return key, f"{col} <= {_lit(ago)}"
        if modifier == "after":
            return key, f"{col} >= {_lit(ago)}"
        return key, f"{col} >= {_lit(ago)} AND {col} <= {_lit(_ago(extra or ''))}"
    rhs = value if column == "track_type_id" else _lit(value)
    return key, f"{sql_column} {_OPS[modifier]} {rhs}"


def _times_1000(value: str) -> str:
    """PHP's ``'128' * 1000`` (an integer when it is one)."""
    product = float(value) * 1000
    return str(int(product)) if product.is_integer() else str(product)


def _ago(value: str) -> str:
    count, unit, _ = value.split()
    return (NOW - timedelta(**{f"{unit}s": int(count)})).strftime("%Y-%m-%d %H:%M:%S.%f")


def libretime_sql(criteria: list[Criterion]) -> str:
    """The query LibreTime runs for a block with ``criteria``."""
    entries: dict[str, str] = {}  # Propel's map: column key → criterion (with its clauses)
    by_field: dict[str, list[Criterion]] = {}
    for c in criteria:
        by_field.setdefault(c.field, []).append(c)
    for field in sorted(by_field):
        previous = None
        for i, c in enumerate(sorted(by_field[field], key=lambda c: c.group)):
            key, sql = _condition(c)
            if i > 0 and previous == c.group:  # addOr: onto this column's, else the last
                target = key if key in entries else list(entries)[-1]
                entries[target] = f"({entries[target]} OR {sql})"
            elif key in entries:  # addAnd onto this column's criterion
                entries[key] = f"({entries[key]} AND {sql})"
            else:
                entries[key] = f"({sql})"
            if i == 0 and c.modifier in ("is not", "does not contain"):
                column = _condition(c)[1].split(" ")[0]
                entries[key] = f"({entries[key]} OR {column} IS NULL)"
            previous = c.group
    where = " AND ".join([*entries.values(), "file_exists = true", "hidden = false"])
    return (
        "SELECT cc_files.id::text FROM cc_files LEFT JOIN cc_subjs subj "
        f"ON cc_files.owner_id = subj.id WHERE {where}"
    )


# -- the same tracks here ---------------------------------------------------------


@pytest.fixture(scope="module")
def snap(backup: Backup) -> Snapshot:
    return read_dump(backup.dump, backup.storage, config=backup.config)


@pytest.fixture(scope="module")
def grimnir_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database("postgresql", tmp_path_factory.mktemp("grimnir")) as url:
        yield url


def _row(m: Any, station_id: uuid.UUID) -> MediaItem:
    return MediaItem(
        station_id=station_id,
        sha256=hashlib.sha256(m.key.encode()).hexdigest(),
        path=m.key,
        size_bytes=1,
        title=m.title,
        artist=m.artist,
        album=m.album,
        genre=m.genre,
        mood=m.mood,
        year=m.year,
        bpm=m.bpm,
        isrc=m.isrc,
        label=m.label,
        language=m.language,
        composer=m.composer,
        custom_tags=dict(m.custom),
        duration_ms=m.duration_ms,
        cue_in_ms=m.cue_in_ms or 0,
        cue_out_ms=m.cue_out_ms,
        created_at=m.added_at,
        last_played_at=m.last_played_at,
        state=MediaState.READY,
    )


async def _ours(url: str, snap: Snapshot, rules: dict[str, Any]) -> set[str]:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            station = await session.scalar(select(Station).where(Station.short_name == "lt-crit"))
            if station is None:
                station = Station(short_name="lt-crit", name="LibreTime criteria", timezone="UTC")
                session.add(station)
                await session.flush()
                session.add_all(_row(m, station.id) for m in snap.media if m.file is not None)
                await session.flush()
            clause = rules_clause(json.dumps({"groups": rules["groups"]}), NOW)
            paths = await session.scalars(
                select(MediaItem.path).where(MediaItem.station_id == station.id, clause)
            )
            return set(paths)
    finally:
        await engine.dispose()


async def _theirs(url: str, criteria: list[Criterion]) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {r[0] for r in await conn.fetch(libretime_sql(criteria))}
    finally:
        await conn.close()


_FIELD = {"genre": "genre", "mood": "mood", "album_title": "album", "artist_name": "artist"}


def _by_key(snap: Snapshot, key: str) -> Any:
    return next(m for m in snap.media if m.key == key)


def _never_played(snap: Snapshot) -> set[str]:
    return {m.key for m in snap.media if m.last_played_at is None}


async def _compare(
    backup: Backup, url: str, snap: Snapshot, block: LtBlock
) -> tuple[set[str], set[str], list[str]]:
    settings, findings = rules_of(block)
    SmartBlockSpec.from_rules("x", block.name, settings["rules"])  # a valid rules document
    return (
        await _theirs(backup.url, block.criteria),
        await _ours(url, snap, settings["rules"]),
        [f.reason for f in findings],
    )


def _check(theirs: set[str], ours: set[str], reasons: list[str], snap: Snapshot) -> None:
    if any("left out and the block may choose from more tracks" in r for r in reasons):
        assert ours >= theirs
    elif any("chose tracks never played" in r for r in reasons):
        assert ours == theirs - _never_played(snap)
        assert theirs & _never_played(snap)  # the difference is real in the fixture
    elif missing := [r for r in reasons if "also matches tracks without a" in r]:
        field = missing[0].split("without a ")[1].split(" ")[0]
        extra = ours - theirs
        assert theirs <= ours
        assert all(getattr(_by_key(snap, k), _FIELD[field]) is None for k in extra)
    else:
        assert ours == theirs


async def test_each_block_selects_the_same_tracks(
    backup: Backup, grimnir_url: str, snap: Snapshot
) -> None:
    seen = {}
    for block in snap.smart_blocks:
        theirs, ours, reasons = await _compare(backup, grimnir_url, snap, block)
        _check(theirs, ours, reasons, snap)
        seen[block.name] = theirs
    # the fixture's blocks are not trivial: each selects some tracks and not all
    everything = {m.key for m in snap.media if m.file is not None}
    for name in ("Rock Block", "Evening Jazz", "Quirky Groups", "Recent Currents"):
        assert seen[name], name
        assert seen[name] != everything, name
    assert seen["Rock Block"] == {"3", "5"}
    assert seen["Quirky Groups"] == {"1", "3", "4", "8", "9", "10"}  # ((Rock∨Jazz)∧¬Blues)∨tron


async def test_each_criterion_alone_selects_the_same_tracks(
    backup: Backup, grimnir_url: str, snap: Snapshot
) -> None:
    compared = 0
    for block in snap.smart_blocks:
        for c in block.criteria:
            alone = LtBlock(key="x", name=f"{block.name}: {c.field}", criteria=[c])
            theirs, ours, reasons = await _compare(backup, grimnir_url, snap, alone)
            _check(theirs, ours, reasons, snap)
            compared += 1
    assert compared == sum(len(b.criteria) for b in snap.smart_blocks) == 23


async def test_a_later_negative_row_differs_only_on_missing_values(
    backup: Backup, grimnir_url: str, snap: Snapshot
) -> None:
    """``genre is not Pop`` (group 0), ``genre is not Blues`` (group 1): LibreTime's
    second row has no ``OR genre IS NULL``, so an untagged track fails it there; ours
    matches it, and ``rules_of`` says so."""
    block = LtBlock(
        key="x",
        name="second negative",
        criteria=[
            Criterion("genre", "is not", "Pop", None, 0),
            Criterion("genre", "is not", "Blues", None, 1),
        ],
    )
    theirs, ours, reasons = await _compare(backup, grimnir_url, snap, block)
    assert ours - theirs == {"7"}  # the jingle, without a genre
    assert any(
        "'genre is not Blues': here it also matches tracks without a genre" in r for r in reasons
    )
    _check(theirs, ours, reasons, snap)


def test_settings_map_limit_sort_overflow_and_repeat(snap: Snapshot) -> None:
    blocks = {b.name: b for b in snap.smart_blocks}
    rock, _ = rules_of(blocks["Rock Block"])
    assert rock["rules"]["limit"] == {"items": 3}
    assert rock["target_duration_ms"] is None
    assert (rock["rules"]["sort"], rock["rules"]["overflow"]) == ("random", "under")
    assert rock["rules"]["separation"] == {"artist": 0, "title": 0, "album": 0}
    jazz, notes = rules_of(blocks["Evening Jazz"])
    assert jazz["rules"]["limit"] == {"minutes": 30.0}
    assert jazz["target_duration_ms"] == 1_800_000
    assert (jazz["rules"]["sort"], jazz["rules"]["overflow"]) == ("newest", "allow_overflow")
    assert any("repeat a track" in f.reason and not f.skipped for f in notes)
    hour, _ = rules_of(blocks["Not Jazz"])
    assert hour["rules"]["limit"] == {"minutes": 60.0}
    assert hour["target_duration_ms"] == 3_600_000
    assert hour["rules"]["sort"] == "least_recently_played"
    rest, notes = rules_of(blocks["Unmappable"])
    assert "limit" not in rest["rules"]
    assert rest["target_duration_ms"] == 3_600_000
    assert rest["rules"]["groups"] == []
    assert rest["rules"]["sort"] == "random"
    assert [f.reason.split(":")[0] for f in notes] == [
        "'bit_rate is greater than 100'",
        "'filepath contains Fjord'",
        "sort 'most_played' (most recently played first) has no equivalent; random order",
    ]
    for block in snap.smart_blocks:
        settings, _ = rules_of(block)
        SmartBlockSpec.from_rules(block.key, block.name, settings["rules"])


def test_old_style_values(tmp_path: Path) -> None:
    """Relative months, ranges of dates and an exact length as LibreTime stores them."""
    block = LtBlock(
        key="x",
        name="values",
        criteria=[
            Criterion("utime", "between", "2 month ago", "1 week ago", 0),
            Criterion("length", "is", "00:03:25", None, 1),
            Criterion("mtime", "is greater than", "2024-01-01 00:00:00", None, 2),
            Criterion("lptime", "is in the range", "2024-01-01 00:00:00", "2024-02-01 00:00:00", 3),
        ],
    )
    settings, notes = rules_of(block)
    assert settings["rules"]["groups"] == [
        [{"field": "duration", "modifier": "in_range", "value": [205.0, 205.999]}],
        [{"field": "last_played", "modifier": "in_range",
          "value": ["2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"]}],
        [{"field": "added", "modifier": "in_range", "value": ["60 days ago", "1 weeks ago"]}],
    ]  # fmt: skip
    reasons = " | ".join(f.reason for f in notes)
    assert "a month is counted as 30 days" in reasons
    assert "'mtime'" in reasons
    SmartBlockSpec.from_rules("x", "values", settings["rules"])
