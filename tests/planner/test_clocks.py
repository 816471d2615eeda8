"""Clocks: validation, expansion onto real hours, and laying a window out in slots."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from grimnir.domain import PlannerError, SlotKind, Timing
from grimnir.planner._slots import is_rotation, lay_out
from grimnir.planner._time import local_hours
from grimnir.planner.clocks import ClockSpec, SlotSpec
from grimnir.planner.shows import schedule
from grimnir.store.models import Clock, ClockSlot, Show, ShowContent

MIN = 60_000


def slot(
    offset_min: float, length_min: float, kind: SlotKind = SlotKind.SMART_BLOCK, **kw: object
) -> SlotSpec:
    refs: dict[str, object] = {
        SlotKind.SMART_BLOCK: {"smart_block_id": uuid.uuid4()},
        SlotKind.PLAYLIST: {"playlist_id": uuid.uuid4()},
        SlotKind.STOPSET: {"playlist_id": uuid.uuid4()},
        SlotKind.HARD_ITEM: {"media_id": uuid.uuid4()},
        SlotKind.WEBSTREAM: {"webstream_id": uuid.uuid4()},
        SlotKind.LIVE: {},
    }[kind]  # type: ignore[assignment]
    return SlotSpec(
        offset_ms=int(offset_min * MIN),
        duration_ms=int(length_min * MIN),
        kind=kind,
        **{**refs, **kw},  # type: ignore[arg-type]
    )


def test_a_clock_from_rows_is_sorted_and_expands_to_absolute_times() -> None:
    clock = Clock(id=uuid.uuid4(), name="Music hour")
    rows = [
        ClockSlot(
            position=1,
            offset_ms=30 * MIN,
            duration_ms=28 * MIN,
            kind=SlotKind.SMART_BLOCK,
            timing=Timing.SOFT,
            smart_block_id=uuid.uuid4(),
            params={},
        ),
        ClockSlot(
            position=0,
            offset_ms=0,
            duration_ms=MIN // 2,
            kind=SlotKind.HARD_ITEM,
            timing=Timing.HARD,
            media_id=uuid.uuid4(),
            params={"jingle": True},
        ),
        ClockSlot(
            position=2,
            offset_ms=58 * MIN,
            duration_ms=2 * MIN,
            kind=SlotKind.STOPSET,
            timing=Timing.SOFT,
            playlist_id=uuid.uuid4(),
            params={},
        ),
    ]
    spec = ClockSpec.from_row(clock, rows)
    assert [s.offset_ms for s in spec.slots] == [0, 30 * MIN, 58 * MIN]
    hour = datetime(2026, 6, 1, 14, tzinfo=UTC)
    got = spec.expand(hour)
    assert [(i.start, i.end) for i in got] == [
        (hour, hour + timedelta(seconds=30)),
        (hour + timedelta(minutes=30), hour + timedelta(minutes=58)),
        (hour + timedelta(minutes=58), hour + timedelta(minutes=60)),
    ]
    assert got[0].hard
    assert not got[1].hard
    assert got[0].slot.params["jingle"] is True
    assert all(i.clock_id == clock.id for i in got)


def test_expansion_is_clipped_to_a_part_of_the_hour() -> None:
    spec = ClockSpec("c", (slot(0, 20), slot(20, 20), slot(40, 20)))
    hour = datetime(2026, 6, 1, 14, tzinfo=UTC)
    got = spec.expand(
        hour, clip_start=hour + timedelta(minutes=30), clip_end=hour + timedelta(minutes=50)
    )
    assert [(i.start.minute, i.end.minute) for i in got] == [(30, 40), (40, 50)]


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ((slot(0, 30), slot(20, 30)), r"overlap by 600 s"),
        ((slot(50, 20),), r"runs 600 s past the end of the hour"),
        ((slot(-1, 20),), r"starts before the hour"),
        ((slot(0, 0),), r"has no length"),
        ((SlotSpec(0, MIN, SlotKind.PLAYLIST),), r"needs playlist_id"),
        (
            (SlotSpec(0, MIN, SlotKind.STOPSET, name="ads"),),
            r"'ads' .* needs playlist_id or smart_block_id",
        ),
    ],
)
def test_invalid_clocks_are_refused_with_what_to_fix(
    slots: tuple[SlotSpec, ...], message: str
) -> None:
    with pytest.raises(PlannerError, match=message) as err:
        ClockSpec("Broken", slots)
    assert "clock 'Broken' is invalid" in str(err.value)


def test_a_live_slot_needs_no_reference() -> None:
    assert ClockSpec("live", (slot(0, 60, SlotKind.LIVE),)).covered_ms == 60 * MIN


def test_local_hours_follow_the_wall_clock_across_dst() -> None:
    tz = ZoneInfo("Europe/Berlin")
    spring = list(
        local_hours(
            datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC), tz
        )
    )
    fall = list(
        local_hours(
            datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC), tz
        )
    )
    assert len(spring) == 23
    assert len(fall) == 25
    for hours in (spring, fall):
        assert all(h.astimezone(tz).minute == 0 for h in hours)
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours))
    assert [h.astimezone(tz).hour for h in fall[:4]] == [0, 1, 2, 2]


def test_a_half_hour_zone_gets_its_local_top_of_the_hour() -> None:
    tz = ZoneInfo("Asia/Kolkata")
    hours = list(
        local_hours(datetime(2026, 6, 1, 0, tzinfo=UTC), datetime(2026, 6, 1, 3, tzinfo=UTC), tz)
    )
    assert [h.strftime("%H:%M") for h in hours] == ["23:30", "00:30", "01:30", "02:30"]


def test_a_window_is_covered_without_gaps_or_overlaps() -> None:
    tz = ZoneInfo("America/New_York")
    default = ClockSpec(
        "default", (slot(0, 1, SlotKind.HARD_ITEM, timing=Timing.HARD), slot(10, 40))
    )
    show_clock_id = uuid.uuid4()
    show_clock = ClockSpec("show", (slot(0, 30),), id=show_clock_id)
    show = Show(
        id=uuid.uuid4(),
        name="Evening",
        rrule="FREQ=DAILY",
        duration_ms=90 * MIN,
        enabled=True,
        dtstart=datetime(2026, 3, 1, 18, 30, tzinfo=tz).astimezone(UTC),
        content=ShowContent.CLOCK,
        clock_id=show_clock.id,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    start = datetime(2026, 3, 7, 15, 20, tzinfo=UTC)
    end = start + timedelta(hours=48)  # across the spring-forward night
    shows = schedule([(show, [])], tz, start, end)
    warnings: list[str] = []
    slots = lay_out(
        start, end, shows.occurrences, default, {show_clock_id: show_clock}, tz, warnings
    )
    assert slots[0].start == datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # anchored at its hour
    assert slots[-1].end >= end
    for a, b in itertools.pairwise(slots):
        assert a.end == b.start, (a, b)
    starts = [s for s in slots if s.show_id is not None and s.start.astimezone(tz).hour == 18]
    assert [s.start.astimezone(tz).strftime("%d %H:%M") for s in starts if s.hard] == [
        "07 18:30",
        "08 18:30",
    ]
    # the default clock's hard item sits at every top of hour outside the show
    tops = [s for s in slots if s.slot.kind == SlotKind.HARD_ITEM]
    assert all(s.start.astimezone(tz).minute == 0 for s in tops)
    assert any(is_rotation(s.slot) for s in slots)  # the clock's holes are the rotation's
    assert warnings == []
