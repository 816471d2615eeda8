"""Repeat rules of the other products as RFC 5545 RRULEs on the station's wall clock
(what ``grimnir.planner.shows`` evaluates): AzuraCast playlist schedules and
LibreTime shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from grimnir.importers.model import Schedule, Show

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ANCHOR = date(2020, 1, 6)
"""A Monday: the first day of a schedule that gives no start date."""
_DAY_MS = 86_400_000
_INTERVALS = {"weekly": 1, "every_2_weeks": 2, "every_3_weeks": 3, "every_4_weeks": 4}


@dataclass(frozen=True)
class Recurrence:
    """When a show airs: its first start (aware), length and RRULE ("" = once)."""

    dtstart: datetime
    duration_ms: int
    rrule: str


def _until(last_day: date, tz: ZoneInfo) -> str:
    """``UNTIL=`` the end of ``last_day`` in ``tz``, in UTC (as our planner reads it)."""
    end = datetime.combine(last_day, time(23, 59, 59), tz).astimezone(UTC)
    return f"UNTIL={end:%Y%m%dT%H%M%S}Z"


def _byday(days: list[int]) -> str:
    return ",".join(_DAYS[d - 1] for d in sorted(set(days)) if 1 <= d <= 7)


def schedule_rule(schedule: Schedule, tz: ZoneInfo) -> Recurrence:
    """An AzuraCast schedule: on ``days`` (none: every day) from ``start`` to ``end``
    local time, over midnight when ``end`` ≤ ``start`` (equal: a whole day),
    between its dates."""
    first = schedule.start_date or _ANCHOR
    start = datetime.combine(first, schedule.start, tz)
    span = (
        datetime.combine(first, schedule.end) - datetime.combine(first, schedule.start)
    ) // timedelta(milliseconds=1)
    if span <= 0:
        span += _DAY_MS
    parts = ["FREQ=WEEKLY", f"BYDAY={_byday(schedule.days)}"] if schedule.days else ["FREQ=DAILY"]
    if schedule.end_date is not None:
        parts.append(_until(schedule.end_date, tz))
    return Recurrence(start, span, ";".join(parts))


def show_rule(show: Show, tz: ZoneInfo) -> Recurrence:
    """A LibreTime show's repeat rule, evaluated from its first start in its own zone;
    ``tz`` is the station's (the rule runs on its wall clock)."""
    own = ZoneInfo(show.timezone)
    first = show.first_start.astimezone(own)
    start = first.astimezone(tz)
    if show.repeat == "none":
        return Recurrence(start, show.duration_ms, "")
    parts: list[str]
    if show.repeat in _INTERVALS:
        days = show.days or [first.isoweekday()]
        parts = ["FREQ=WEEKLY", f"BYDAY={_byday(days)}"]
        if _INTERVALS[show.repeat] > 1:
            parts.insert(1, f"INTERVAL={_INTERVALS[show.repeat]}")
    elif show.repeat == "monthly_by_date":
        parts = ["FREQ=MONTHLY", f"BYMONTHDAY={first.day}"]
    else:
        nth = (first.day - 1) // 7 + 1
        parts = ["FREQ=MONTHLY", f"BYDAY={-1 if nth > 4 else nth}{_DAYS[first.weekday()]}"]
    if show.until is not None:
        parts.append(_until(show.until, own))
    return Recurrence(start, show.duration_ms, ";".join(parts))
