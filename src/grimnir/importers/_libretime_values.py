"""LibreTime's values as PostgreSQL prints them (COPY text), turned into ours."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from grimnir.importers._libretime_dump import Row

_INTERVAL = re.compile(
    r"^\s*(?:(?P<days>-?\d+)\s+days?\s*)?(?:(?P<sign>-)?(?P<h>\d+):(?P<m>\d{1,2})"
    r"(?::(?P<s>\d{1,2}(?:\.\d+)?))?)?\s*$"
)
_YEAR = re.compile(r"^\s*(\d{4})")


def text(row: Row, column: str) -> str | None:
    """The column's text, stripped; None for NULL or empty."""
    value = row.get(column)
    if value is None:
        return None
    value = value.strip()
    return value or None


def integer(row: Row, column: str) -> int | None:
    value = text(row, column)
    try:
        return None if value is None else int(float(value))
    except ValueError:
        return None


def number(row: Row, column: str) -> float | None:
    value = text(row, column)
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def flag(row: Row, column: str) -> bool:
    """A boolean (``t``/``true``/``1``); NULL is false."""
    return (row.get(column) or "").strip().lower() in ("t", "true", "1", "on")


def interval_ms(value: str | None) -> int | None:
    """``00:03:25.5`` / ``1 day 02:00:00`` / ``00:00:01.5`` (a TIME) → milliseconds."""
    if value is None or not value.strip():
        return None
    m = _INTERVAL.match(value)
    if m is None or (m["days"] is None and m["h"] is None):
        return None
    seconds = float(int(m["days"] or 0) * 86400)
    if m["h"] is not None:
        part = int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"] or 0)
        seconds += -part if m["sign"] else part
    return round(seconds * 1000)


def seconds_ms(value: str | None) -> int | None:
    """A fade LibreTime stored as a TIME (``00:00:01.5``) or as seconds (``1.5``)."""
    if value is None or not value.strip():
        return None
    try:
        return round(float(value) * 1000)
    except ValueError:
        return interval_ms(value)


def utc(value: str | None) -> datetime | None:
    """A ``timestamp without time zone`` LibreTime wrote in UTC, made aware."""
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def clock(value: str | None) -> time | None:
    if value is None or not value.strip():
        return None
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        return None


def year(value: str | None) -> int | None:
    """LibreTime's free-text year (``1997``, ``1997-05-01``) → 1997."""
    m = _YEAR.match(value or "")
    return int(m[1]) if m else None
