"""Wall-clock arithmetic in a station's time zone.

Shows and clocks are written in local time ("every day at 06:00", "the top of
the hour"); the timeline is in UTC. These helpers cross that edge the way
RFC 5545 says: a local time that does not exist (the spring-forward gap) is
shifted forward by the gap's length; one that exists twice (fall-back) means
its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grimnir.domain import PlannerError

HOUR = timedelta(hours=1)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a PlannerError that says what to fix."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise PlannerError(
            f"unknown time zone {name!r}: set the station's timezone to an IANA name "
            "such as Europe/Berlin or America/New_York"
        ) from None


def wall_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of the naive local wall time ``local`` in ``tz``.

    NOTE: ``fold=0`` does both RFC 5545 rules at once with zoneinfo: in a gap
    it applies the offset from before the transition (02:30 on a New York
    spring-forward night becomes 03:30 EDT), and when ambiguous it picks the
    first occurrence (01:30 EDT on fall-back night).
    """
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall time in ``tz`` of the aware ``instant``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def wall_span(start_utc: datetime, duration: timedelta, tz: ZoneInfo) -> datetime:
    """The UTC end of something that starts at ``start_utc`` and lasts ``duration``
    of *wall-clock* time: 01:00–04:00 local is 2 h of real time on spring-forward
    night and 4 h on fall-back night. Never shorter than a minute."""
    end = wall_to_utc(utc_to_wall(start_utc, tz) + duration, tz)
    return end if end > start_utc else start_utc + min(duration, timedelta(minutes=1))


def local_hours(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """UTC starts of every local clock hour overlapping ``start`` … ``end``.

    The first is the local top of the hour at or before ``start``. On a
    spring-forward night the skipped hour simply does not come up; on
    fall-back night the repeated hour comes up twice.
    """
    at = start.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    while at < end:
        yield at
        nxt = (at + HOUR).astimezone(tz).replace(minute=0, second=0, microsecond=0)
        # NOTE: zones with sub-hour transitions could floor back; never loop in place.
        at = max(nxt.astimezone(UTC), at + timedelta(minutes=30))
