"""Shows on the calendar: RRULE on the station's wall clock across DST, exceptions, conflicts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from grimnir.domain import PlannerError, ShowExceptionKind
from grimnir.planner.shows import occurrences, schedule
from grimnir.store.models import Show, ShowContent, ShowException

HOUR_MS = 3_600_000

# zone, spring-forward day, fall-back day (2026)
TRANSITIONS = [
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
]


def make_show(
    tz: ZoneInfo,
    local_start: datetime,
    *,
    rrule: str = "FREQ=DAILY",
    duration_ms: int = HOUR_MS,
    name: str = "Morning",
    created: datetime | None = None,
    content: ShowContent = ShowContent.LIVE,
) -> Show:
    return Show(
        id=uuid.uuid4(),
        name=name,
        rrule=rrule,
        dtstart=local_start.astimezone(UTC),
        duration_ms=duration_ms,
        enabled=True,
        content=content,
        created_at=created or datetime(2026, 1, 1, tzinfo=UTC),
    )


def around(tz: ZoneInfo, day: date, days: int = 3) -> tuple[datetime, datetime]:
    mid = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    return mid - timedelta(days=days), mid + timedelta(days=days)


@pytest.mark.parametrize(("zone", "spring", "fall"), TRANSITIONS)
def test_a_daily_0600_show_stays_at_0600_local_across_both_changes(
    zone: str, spring: date, fall: date
) -> None:
    tz = ZoneInfo(zone)
    show = make_show(tz, datetime(2026, 1, 1, 6, 0, tzinfo=tz))
    for day in (spring, fall):
        lo, hi = around(tz, day)
        found = occurrences(show, [], tz, lo, hi)
        assert len(found) == 6
        offsets = set()
        for occ in found:
            local = occ.start.astimezone(tz)
            assert (local.hour, local.minute) == (6, 0)
            assert occ.end - occ.start == timedelta(hours=1)
            offsets.add(local.utcoffset())
        assert len(offsets) == 2, "the window must straddle the change"


@pytest.mark.parametrize(("zone", "spring", "fall"), TRANSITIONS)
def test_a_show_across_the_change_has_its_wall_clock_length_in_utc(
    zone: str, spring: date, fall: date
) -> None:
    tz = ZoneInfo(zone)
    show = make_show(tz, datetime(2026, 1, 1, 1, 0, tzinfo=tz), duration_ms=3 * HOUR_MS)
    lengths: dict[date, timedelta] = {}
    for day in (spring, fall):
        lo, hi = around(tz, day)
        for occ in occurrences(show, [], tz, lo, hi):
            local_start, local_end = occ.start.astimezone(tz), occ.end.astimezone(tz)
            assert local_start.hour == 1
            assert local_end.hour == 4
            lengths[local_start.date()] = occ.end - occ.start
    assert lengths[spring] == timedelta(hours=2)
    assert lengths[fall] == timedelta(hours=4)
    others = {v for k, v in lengths.items() if k not in (spring, fall)}
    assert others == {timedelta(hours=3)}


def test_a_start_in_the_spring_gap_moves_forward_and_a_repeated_one_takes_the_first() -> None:
    tz = ZoneInfo("America/New_York")
    gap = make_show(tz, datetime(2026, 3, 1, 2, 30, tzinfo=tz))
    lo, hi = around(tz, date(2026, 3, 8), days=1)
    starts = {o.start.astimezone(tz).date(): o for o in occurrences(gap, [], tz, lo, hi)}
    shifted = starts[date(2026, 3, 8)]
    assert shifted.start == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert shifted.start.astimezone(tz).hour == 3
    assert shifted.end - shifted.start == timedelta(hours=1)

    twice = make_show(tz, datetime(2026, 10, 1, 1, 30, tzinfo=tz))
    lo, hi = around(tz, date(2026, 11, 1), days=1)
    found = [o for o in occurrences(twice, [], tz, lo, hi) if o.start.day == 1]
    assert [o.start for o in found] == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]  # 01:30 EDT


def test_until_in_utc_and_weekly_rules() -> None:
    tz = ZoneInfo("Europe/Berlin")
    show = make_show(
        tz,
        datetime(2026, 6, 1, 20, 0, tzinfo=tz),
        rrule="RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260611T000000Z",
    )
    found = occurrences(
        show, [], tz, datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )
    days = [o.start.astimezone(tz).strftime("%a %d") for o in found]
    assert days == ["Mon 01", "Wed 03", "Mon 08", "Wed 10"]


def test_a_one_off_show_without_a_rule() -> None:
    tz = ZoneInfo("UTC")
    show = make_show(tz, datetime(2026, 6, 1, 20, 0, tzinfo=tz), rrule="")
    lo, hi = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    assert [o.start for o in occurrences(show, [], tz, lo, hi)] == [
        datetime(2026, 6, 1, 20, tzinfo=UTC)
    ]


def test_a_bad_rule_says_how_to_write_one() -> None:
    tz = ZoneInfo("UTC")
    show = make_show(tz, datetime(2026, 6, 1, 20, 0, tzinfo=tz), rrule="FREQ=SOMETIMES")
    with pytest.raises(PlannerError, match=r"Morning.*RRULE.*FREQ=DAILY"):
        occurrences(
            show, [], tz, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 3, tzinfo=UTC)
        )


def test_exceptions_cancel_move_and_substitute() -> None:
    tz = ZoneInfo("Europe/Berlin")
    show = make_show(tz, datetime(2026, 6, 1, 6, 0, tzinfo=tz))
    day = [datetime(2026, 6, d, 4, 0, tzinfo=UTC) for d in (2, 3, 4, 5)]  # 06:00 CEST
    playlist = uuid.uuid4()
    warnings: list[str] = []
    exceptions = [
        ShowException(kind=ShowExceptionKind.CANCEL, occurrence_start=day[0]),
        ShowException(
            kind=ShowExceptionKind.MOVE,
            occurrence_start=day[1],
            new_start=day[1] + timedelta(hours=3),
            new_duration_ms=2 * HOUR_MS,
        ),
        ShowException(
            kind=ShowExceptionKind.SUBSTITUTE,
            occurrence_start=day[2],
            substitute={"content": "playlist", "playlist_id": str(playlist)},
        ),
        ShowException(
            kind=ShowExceptionKind.CANCEL, occurrence_start=day[3] + timedelta(minutes=5)
        ),
    ]
    found = occurrences(
        show,
        exceptions,
        tz,
        datetime(2026, 6, 2, tzinfo=UTC),
        datetime(2026, 6, 6, tzinfo=UTC),
        warnings,
    )
    by_rule = {o.rule_start: o for o in found}
    assert day[0] not in by_rule
    moved = by_rule[day[1]]
    assert (moved.start, moved.end) == (day[1] + timedelta(hours=3), day[1] + timedelta(hours=5))
    assert moved.exception == ShowExceptionKind.MOVE
    sub = by_rule[day[2]]
    assert sub.content.kind == ShowContent.PLAYLIST
    assert sub.content.playlist_id == playlist
    assert by_rule[day[3]].exception is None
    assert len(warnings) == 1
    assert "matches no occurrence" in warnings[0]


def test_a_move_brings_an_occurrence_in_from_outside_the_window() -> None:
    tz = ZoneInfo("UTC")
    show = make_show(tz, datetime(2026, 6, 1, 6, 0, tzinfo=tz), rrule="FREQ=WEEKLY")
    original = datetime(2026, 6, 8, 6, tzinfo=UTC)
    moved_to = datetime(2026, 6, 12, 6, tzinfo=UTC)
    ex = ShowException(kind=ShowExceptionKind.MOVE, occurrence_start=original, new_start=moved_to)
    found = occurrences(
        show, [ex], tz, datetime(2026, 6, 12, tzinfo=UTC), datetime(2026, 6, 13, tzinfo=UTC)
    )
    assert [(o.start, o.end - o.start) for o in found] == [(moved_to, timedelta(hours=1))]


def test_bad_substitutes_are_refused_with_the_keys_to_use() -> None:
    tz = ZoneInfo("UTC")
    show = make_show(tz, datetime(2026, 6, 1, 6, 0, tzinfo=tz))
    ex = ShowException(
        kind=ShowExceptionKind.SUBSTITUTE,
        occurrence_start=datetime(2026, 6, 2, 6, tzinfo=UTC),
        substitute={"playlist": "x"},
    )
    with pytest.raises(PlannerError, match="unknown substitute key"):
        occurrences(
            show, [ex], tz, datetime(2026, 6, 2, tzinfo=UTC), datetime(2026, 6, 3, tzinfo=UTC)
        )


def test_overlapping_shows_are_reported_and_the_later_created_wins() -> None:
    tz = ZoneInfo("UTC")
    older = make_show(
        tz,
        datetime(2026, 6, 1, 6, 0, tzinfo=tz),
        duration_ms=3 * HOUR_MS,
        name="Old",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    newer = make_show(
        tz,
        datetime(2026, 6, 1, 7, 0, tzinfo=tz),
        name="New",
        created=datetime(2026, 2, 1, tzinfo=UTC),
    )
    lo, hi = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    result = schedule([(older, []), (newer, [])], tz, lo, hi)
    spans = [(o.name, o.start.hour, o.end.hour) for o in result.occurrences]
    assert spans == [("Old", 6, 7), ("New", 7, 8), ("Old", 8, 9)]
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert (conflict.winner.name, conflict.loser.name) == ("New", "Old")
    assert (conflict.start.hour, conflict.end.hour) == (7, 8)
    assert "'New' airs" in conflict.describe(tz)
    for a, b in zip(result.occurrences, result.occurrences[1:], strict=False):
        assert a.end <= b.start


def test_a_moved_occurrence_beats_a_later_created_show() -> None:
    tz = ZoneInfo("UTC")
    older = make_show(
        tz,
        datetime(2026, 6, 1, 6, 0, tzinfo=tz),
        name="Moved",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    newer = make_show(
        tz,
        datetime(2026, 6, 1, 9, 0, tzinfo=tz),
        name="Fixed",
        created=datetime(2026, 3, 1, tzinfo=UTC),
    )
    ex = ShowException(
        kind=ShowExceptionKind.MOVE,
        occurrence_start=datetime(2026, 6, 2, 6, tzinfo=UTC),
        new_start=datetime(2026, 6, 2, 9, tzinfo=UTC),
    )
    result = schedule(
        [(older, [ex]), (newer, [])],
        tz,
        datetime(2026, 6, 2, tzinfo=UTC),
        datetime(2026, 6, 3, tzinfo=UTC),
    )
    at_nine = [o.name for o in result.occurrences if o.start.hour == 9]
    assert at_nine == ["Moved"]
    assert [c.winner.name for c in result.conflicts] == ["Moved"]


def test_disabled_shows_do_not_air() -> None:
    tz = ZoneInfo("UTC")
    show = make_show(tz, datetime(2026, 6, 1, 6, 0, tzinfo=tz))
    show.enabled = False
    assert (
        occurrences(
            show, [], tz, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 5, tzinfo=UTC)
        )
        == []
    )
