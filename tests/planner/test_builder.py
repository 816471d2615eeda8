"""The rolling timeline on real databases: timing, separation, determinism, rebuilds, reports."""

# ruff: noqa: F811 — the fixtures imported from _library are parameters here

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import EntryKind, EntryStatus, ShowExceptionKind, SlotKind, Timing
from grimnir.observability import metrics as observed
from grimnir.planner._text import artist_key
from grimnir.planner.builder import build, simulate
from grimnir.planner.reports import PlannedEntry, diff
from grimnir.store.models import (
    Clock,
    ClockSlot,
    Playlist,
    PlaylistItem,
    Show,
    ShowContent,
    ShowException,
    SmartBlock,
    Station,
    TimelineEntry,
    Webstream,
)
from tests.planner._library import (  # noqa: F401 — fixtures
    library_db,
    make_library,
    sessions,
    station_id,
    store_library,
)

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 3, 27, 9, 17, tzinfo=UTC)  # mid-hour, two days before Berlin's DST change
MIN = 60_000


async def setup(
    sessions: Sessions, station_id: uuid.UUID, n: int = 600, **station: Any
) -> list[dict[str, Any]]:
    # fresh ids: the database is shared by the module's tests
    rows = [{**row, "id": uuid.uuid4()} for row in make_library(n, seed=7)]
    jingle = {
        **rows[0],
        "id": uuid.uuid4(),
        "sha256": "f" * 64,
        "title": "Station ID",
        "artist": "WGMR",
        "duration_ms": 8_000,
        "cue_in_ms": 0,
        "cue_out_ms": 8_000,
        "segue_ms": None,
        "intro_end_ms": None,
    }
    rows.append(jingle)
    async with sessions() as session, session.begin():
        await store_library(session, station_id, rows)
        await session.execute(
            update(Station)
            .where(Station.id == station_id)
            .values(timezone="Europe/Berlin", **station)
        )
    return rows


async def stored(sessions: Sessions, station_id: uuid.UUID) -> list[TimelineEntry]:
    async with sessions() as session:
        result = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.station_id == station_id)
            .order_by(TimelineEntry.seq)
        )
        return list(result)


def assert_contiguous(entries: list[PlannedEntry]) -> None:
    for a, b in itertools.pairwise(entries):
        assert a.ends_at == b.starts_at, (a.label(), a.ends_at, b.label(), b.starts_at)


async def test_default_rotation_fills_a_station_without_clocks(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    await setup(sessions, station_id)
    report = await build(sessions, station_id, T0, 24, now=T0)
    entries = report.entries
    assert report.written
    assert entries[0].starts_at <= T0 < entries[0].ends_at  # the item playing at the start
    assert entries[-1].ends_at >= T0 + timedelta(hours=24)
    assert_contiguous(entries)
    assert {e.kind for e in entries} == {EntryKind.TRACK}
    assert report.gaps == []
    assert report.errors == []
    assert all(e.meta["slot"].startswith("'default rotation'") for e in entries)
    rows = await stored(sessions, station_id)
    assert [PlannedEntry.from_row(r) for r in rows] == entries
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + len(rows)))
    assert all(len(r.seed or "") == 64 for r in rows)


async def make_clock(
    sessions: Sessions, station_id: uuid.UUID, rows: list[dict[str, Any]], *, name: str = "default"
) -> dict[str, uuid.UUID]:
    ids = {
        "block": uuid.uuid4(),
        "ads": uuid.uuid4(),
        "clock": uuid.uuid4(),
        "jingle": rows[-1]["id"],
    }
    async with sessions() as session, session.begin():
        session.add(
            SmartBlock(
                id=ids["block"],
                station_id=station_id,
                name=f"Music {name}",
                rules={"separation": {"artist": 60}},
                target_duration_ms=None,
            )
        )
        session.add(
            Playlist(
                id=ids["ads"],
                station_id=station_id,
                name=f"Ads {name}",
                shuffle=True,
                rotation={},
                jingle=True,
            )
        )
        await session.flush()
        for pos, row in enumerate(rows[1:4]):
            session.add(
                PlaylistItem(
                    playlist_id=ids["ads"],
                    position=pos,
                    media_id=row["id"],
                    overrides={"cue_out_ms": row["cue_in_ms"] + 30_000},
                )
            )
        session.add(Clock(id=ids["clock"], station_id=station_id, name=name))
        await session.flush()
        slots = [
            (0, MIN // 2, SlotKind.HARD_ITEM, Timing.HARD, {"media_id": ids["jingle"]}),
            (
                MIN // 2,
                27 * MIN + MIN // 2,
                SlotKind.SMART_BLOCK,
                Timing.SOFT,
                {"smart_block_id": ids["block"]},
            ),
            (28 * MIN, 2 * MIN, SlotKind.STOPSET, Timing.SOFT, {"playlist_id": ids["ads"]}),
            (
                30 * MIN,
                30 * MIN,
                SlotKind.SMART_BLOCK,
                Timing.SOFT,
                {"smart_block_id": ids["block"]},
            ),
        ]
        for pos, (offset, length, kind, timing, ref) in enumerate(slots):
            session.add(
                ClockSlot(
                    clock_id=ids["clock"],
                    position=pos,
                    offset_ms=offset,
                    duration_ms=length,
                    kind=kind,
                    timing=timing,
                    params={"jingle": True} if pos == 0 else {},
                    **ref,
                )
            )
    return ids


async def test_hard_slots_start_on_the_boundary_and_soft_slots_never_cut(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id)
    ids = await make_clock(sessions, station_id, rows)
    lengths = {r["id"]: r["cue_out_ms"] - r["cue_in_ms"] for r in rows}
    lengths.update({r["id"]: 30_000 for r in rows[1:4]})  # the stopset's cue_out override
    report = await build(sessions, station_id, T0, 24, now=T0)
    entries = report.entries
    assert_contiguous(entries)
    tops = [e for e in entries if e.media_id == ids["jingle"]]
    assert len(tops) == 24
    for e in tops:
        assert (e.starts_at.minute, e.starts_at.second, e.starts_at.microsecond) == (0, 0, 0)
        assert e.timing == Timing.HARD
        assert e.kind == EntryKind.JINGLE
    boundaries = {e.starts_at for e in tops}
    cut = [e for e in entries if e.duration_ms < lengths[e.media_id]]
    assert cut, "a day of soft content should run into some top of hour"
    for e in cut:
        assert e.ends_at in boundaries, (
            e,
            lengths[e.media_id],
        )  # only a hard boundary cuts a track…
        assert e.fade_out_ms == min(3_000, e.duration_ms)  # …and it fades out to it
        assert e.cue_out_ms == e.cue_in_ms + e.duration_ms
        assert e.meta["trimmed_ms"] > 0
    stopsets = [e for e in entries if e.kind == EntryKind.STOPSET]
    assert stopsets
    assert all(e.playlist_id == ids["ads"] for e in stopsets)
    assert all(e.duration_ms == 30_000 for e in stopsets)  # the items' cue_out override


async def test_the_default_rotation_never_plays_station_ids_or_adverts(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    """A block that matches nothing is topped up from the rotation: music only."""
    rows = await setup(sessions, station_id, n=12)  # small: the rotation cycles through all
    ids = await make_clock(sessions, station_id, rows)
    async with sessions() as session, session.begin():
        block = await session.get(SmartBlock, ids["block"])
        assert block is not None
        block.rules = {"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]}
    report = await build(sessions, station_id, T0, 6, now=T0)
    assert report.underfilled  # the block could not fill: the rotation did
    not_music = {ids["jingle"], *(uuid.UUID(str(r["id"])) for r in rows[1:4])}
    for entry in report.entries:
        if entry.media_id in not_music:
            in_stopset = entry.kind == EntryKind.STOPSET
            on_the_hour = (entry.starts_at.minute, entry.starts_at.second) == (0, 0)
            assert in_stopset or on_the_hour or entry.kind == EntryKind.JINGLE, entry


async def test_separation_holds_over_a_generated_week(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id, n=1500)
    await make_clock(sessions, station_id, rows)
    report = await simulate(sessions, station_id, T0, 24 * 7, now=T0)
    tracks = [
        e for e in report.entries if e.kind == EntryKind.TRACK and e.media_id != rows[-1]["id"]
    ]
    assert len(tracks) > 7 * 24 * 10
    last: dict[str, datetime] = {}
    relaxed = {r.start for r in report.relaxations}
    for e in tracks:
        key = artist_key(e.artist)
        if key is None:
            continue
        if key in last and e.starts_at - last[key] < timedelta(minutes=60):
            slot_start = datetime.fromisoformat(e.meta["slot_start"])
            assert slot_start in relaxed, (
                f"{e.artist} twice within 60 min at {e.starts_at} unreported"
            )
        last[key] = e.starts_at
    assert report.relaxations == []  # 150 artists are plenty for 60 minutes


async def test_two_builds_of_the_same_week_are_equal_entry_by_entry(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id)
    await make_clock(sessions, station_id, rows)
    first = await build(sessions, station_id, T0, 24 * 7, now=T0 - timedelta(hours=1))
    second = await simulate(sessions, station_id, T0, 24 * 7, now=T0 - timedelta(hours=1))
    assert len(first.entries) == len(second.entries) > 1000
    for a, b in zip(first.entries, second.entries, strict=True):
        assert a.same_as(b), (a, b)
    assert diff(first.entries, second.entries).unchanged
    again = await build(sessions, station_id, T0, 24 * 7, now=T0 - timedelta(hours=1))
    stored_now = [PlannedEntry.from_row(r) for r in await stored(sessions, station_id)]
    assert stored_now == first.entries == again.entries
    assert again.removed == len(first.entries)


async def test_aired_entries_stay_and_a_rebuild_yields_the_same_plan(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id)
    await make_clock(sessions, station_id, rows)
    first = await build(sessions, station_id, T0, 12, now=T0)
    before = await stored(sessions, station_id)
    aired, on_air = before[0], before[1]
    async with sessions() as session, session.begin():
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.id == aired.id)
            .values(status=EntryStatus.AIRED, title="as it aired")
        )
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.id == on_air.id)
            .values(status=EntryStatus.ON_AIR)
        )
    later = on_air.starts_at + timedelta(seconds=10)
    second = await build(sessions, station_id, T0, 12, now=later)
    after = {r.id: r for r in await stored(sessions, station_id)}
    assert after[aired.id].title == "as it aired"
    assert after[aired.id].status == EntryStatus.AIRED
    assert after[on_air.id].status == EntryStatus.ON_AIR
    assert second.kept >= 2
    # everything planned after the kept entries is what the first build planned
    old = {e.starts_at: e for e in first.entries}
    assert second.entries
    for e in second.entries:
        assert e.starts_at >= later
        assert old[e.starts_at].same_as(e)
    timeline = sorted(after.values(), key=lambda r: r.starts_at)
    assert_contiguous([PlannedEntry.from_row(r) for r in timeline])


async def test_shows_conflicts_under_fill_and_webstreams_are_reported(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    await setup(sessions, station_id)
    block, stream = uuid.uuid4(), uuid.uuid4()
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        session.add(
            SmartBlock(
                id=block,
                station_id=station_id,
                name="Nothing matches",
                rules={"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]},
                target_duration_ms=3_600_000,
            )
        )
        session.add(Webstream(id=stream, station_id=station_id, name="Relay", urls=["http://x/y"]))
        await session.flush()
        common = {"station_id": station_id, "rrule": "FREQ=DAILY", "duration_ms": 2 * 3_600_000}
        session.add(
            Show(
                name="Morning live",
                content=ShowContent.LIVE,
                dtstart=start + timedelta(hours=2),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                **common,
            )
        )
        session.add(
            Show(
                name="Relay",
                content=ShowContent.WEBSTREAM,
                webstream_id=stream,
                dtstart=start + timedelta(hours=3),
                created_at=datetime(2026, 2, 1, tzinfo=UTC),
                **common,
            )
        )
        session.add(
            Show(
                name="Empty block",
                content=ShowContent.SMART_BLOCK,
                smart_block_id=block,
                dtstart=start + timedelta(hours=6),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                **common,
            )
        )
    report = await simulate(sessions, station_id, start, 24, now=start)
    entries = report.entries
    assert_contiguous(entries)
    live = [e for e in entries if e.kind == EntryKind.LIVE]
    relay = [e for e in entries if e.kind == EntryKind.WEBSTREAM]
    assert [(e.starts_at.hour, e.ends_at.hour) for e in live] == [(10, 11)]  # the relay won 11–12
    assert [(e.starts_at.hour, e.ends_at.hour, e.webstream_id) for e in relay] == [(11, 13, stream)]
    assert live[0].timing == Timing.HARD
    before_live = entries[entries.index(live[0]) - 1]
    assert before_live.ends_at == live[0].starts_at
    # cut short at the hard start, it fades out (a track that fits exactly needs no cut:
    # the tracks the station's seed picks can do so)
    assert before_live.fade_out_ms > 0 or "trimmed_ms" not in before_live.meta, before_live
    assert len(report.conflicts) == 1
    assert "'Relay' airs" in report.conflicts[0]
    assert any("Nothing matches" in " ".join(u.notes) for u in report.underfilled)
    block_hours = [
        e
        for e in entries
        if datetime(2026, 6, 1, 14, tzinfo=UTC)
        <= e.starts_at
        < datetime(2026, 6, 1, 16, tzinfo=UTC)
    ]
    assert block_hours
    assert all(e.meta.get("filler") == "default rotation" for e in block_hours)
    assert report.errors == report.conflicts  # no dead air
    assert await stored(sessions, station_id) == []  # simulate writes nothing


async def test_an_empty_library_is_reported_as_gaps(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    report = await build(sessions, station_id, T0, 3, now=T0)
    assert report.entries == []
    assert report.gaps
    assert "add music" in report.gaps[0].reason
    assert report.errors


async def test_a_rebroadcast_replays_an_earlier_occurrence(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id)
    show_id = uuid.uuid4()
    day1 = datetime(2026, 6, 1, 18, tzinfo=UTC)
    async with sessions() as session, session.begin():
        session.add(
            Show(
                id=show_id,
                station_id=station_id,
                name="Evening",
                rrule="FREQ=DAILY",
                dtstart=day1,
                duration_ms=3_600_000,
                content=ShowContent.CLOCK,
                clock_id=None,
            )
        )
        session.add(
            ShowException(
                show_id=show_id,
                occurrence_start=day1 + timedelta(days=1),
                kind=ShowExceptionKind.SUBSTITUTE,
                substitute={"rebroadcast_of": day1.isoformat()},
            )
        )
    await build(sessions, station_id, day1 - timedelta(hours=1), 48, now=day1 - timedelta(hours=2))
    entries = [PlannedEntry.from_row(r) for r in await stored(sessions, station_id)]
    first = [e.media_id for e in entries if day1 <= e.starts_at < day1 + timedelta(hours=1)]
    second = [
        e.media_id
        for e in entries
        if e.show_id == show_id and e.starts_at >= day1 + timedelta(days=1)
    ]
    assert len(first) > 5
    assert second[: len(first)] == first
    assert len(rows) > 0


def test_diff_names_what_changed() -> None:
    at = datetime(2026, 6, 1, 8, tzinfo=UTC)
    a = PlannedEntry(
        at, at + timedelta(minutes=3), EntryKind.TRACK, media_id=uuid.uuid4(), title="A", artist="X"
    )
    b = PlannedEntry(
        a.ends_at,
        a.ends_at + timedelta(minutes=4),
        EntryKind.TRACK,
        media_id=uuid.uuid4(),
        title="B",
        artist="Y",
    )
    c = b.moved(media_id=uuid.uuid4(), title="C", fade_out_ms=3000)
    d = PlannedEntry(b.ends_at, b.ends_at + timedelta(minutes=1), EntryKind.JINGLE)
    result = diff([a, b], [c, d])
    assert result.removed == [a]
    assert result.added == [d]
    assert len(result.changed) == 1
    reasons = result.changed[0].reasons
    assert reasons[0] == "item Y – B → Y – C"
    assert "fade_out_ms 0 → 3000" in reasons
    assert diff([a, b], [a, b]).unchanged


@pytest.mark.parametrize("hours", [0, -1])
async def test_bad_windows_are_refused(
    sessions: Sessions, station_id: uuid.UUID, hours: int
) -> None:
    from grimnir.domain import PlannerError

    with pytest.raises(PlannerError, match="hours must be"):
        await build(sessions, station_id, T0, hours, now=T0)
    with pytest.raises(PlannerError, match="no time zone"):
        await build(sessions, station_id, T0.replace(tzinfo=None), 1, now=T0)


def _sample(name: str, **labels: str) -> float:
    return observed.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_builds_and_smart_block_fills_are_timed_and_counted(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    rows = await setup(sessions, station_id)
    await make_clock(sessions, station_id, rows)
    station = str(station_id)
    builds = _sample("grimnir_schedule_build_duration_seconds_count", station=station)
    entries = _sample("grimnir_schedule_entries_total", station=station)
    fills = _sample("grimnir_smart_block_materialize_duration_seconds_count")
    report = await build(sessions, station_id, T0, 2, now=T0)
    assert _sample("grimnir_schedule_build_duration_seconds_count", station=station) == builds + 1
    assert _sample("grimnir_schedule_entries_total", station=station) == entries + len(
        report.entries
    )
    # each hour of the clock fills its smart block once (or more, for the rest of a slot)
    assert _sample("grimnir_smart_block_materialize_duration_seconds_count") >= fills + 2
    await simulate(sessions, station_id, T0, 1, now=T0)  # timed, but writes nothing
    assert _sample("grimnir_schedule_build_duration_seconds_count", station=station) == builds + 2
    assert _sample("grimnir_schedule_entries_total", station=station) == entries + len(
        report.entries
    )
