"""The operations behind smart block rules: parsing values and comparing them
in memory (one value or a numpy column) and in SQL, with the same bounds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import Double, and_, literal
from sqlalchemy.sql.elements import ColumnElement

from grimnir.planner._sql import Fold
from grimnir.planner.tracks import EPOCH, to_micros

Mask = np.ndarray[Any, np.dtype[np.bool_]]


class Modifier(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    BEFORE = "before"
    AFTER = "after"
    BETWEEN = "between"
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"
    IN_RANGE = "in_range"


M = Modifier
TEXT_MODS = {M.IS, M.IS_NOT, M.CONTAINS, M.NOT_CONTAINS, M.STARTS_WITH, M.ENDS_WITH}
NUMBER_MODS = {M.IS, M.IS_NOT, M.GREATER_THAN, M.LESS_THAN, M.BETWEEN, M.IN_RANGE}
DATE_MODS = {M.IS, M.IS_NOT, M.BEFORE, M.AFTER, M.BETWEEN, M.IN_RANGE}
NEGATIVE = {M.IS_NOT, M.NOT_CONTAINS}
_RELATIVE = re.compile(r"^(\d+)\s*(minute|hour|day|week)s?(\s+ago)?$", re.IGNORECASE)
_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$")


def parse_number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if name == "duration":
        if isinstance(value, str):
            m = _CLOCK.match(value.strip())
            if not m:
                raise ValueError(f"duration {value!r}: give seconds (210) or m:ss (3:30)")
            hours, minutes, seconds = int(m[1] or 0), int(m[2]), float(m[3])
            value = hours * 3600 + minutes * 60 + seconds
        if not isinstance(value, int | float):
            raise ValueError(f"duration {value!r}: give seconds (210) or m:ss (3:30)")
        return float(round(value * 1000))  # stored in ms
    if not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def parse_date(value: Any, now: datetime) -> tuple[int, int]:
    """[low, high) in µs of a date value at evaluation time ``now``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{value!r} is not a date: use 2024-05-01, 'now', 'today' or '30 days ago'"
        )
    text = value.strip().lower()
    zone = now.tzinfo
    if text == "now":
        at = to_micros(now)
        return at, at + 1
    if text == "today":
        day = now.date()
    else:
        m = _RELATIVE.match(text)
        if m:
            at = to_micros(now - timedelta(seconds=int(m[1]) * _UNITS[m[2]]))
            return at, at + 1
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
            else:
                moment = datetime.fromisoformat(value.strip())
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=zone)
                at = to_micros(moment)
                return at, at + 1
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date: use 2024-05-01, 2024-05-01T06:00:00+02:00, "
                "'now', 'today' or '30 days ago'"
            ) from None
    lo = datetime.combine(day, time(), tzinfo=zone)
    hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return to_micros(lo), to_micros(hi)


def is_relative(value: Any) -> bool:
    text = str(value).strip().lower()
    return text in ("now", "today") or bool(_RELATIVE.match(text))


def parse_span(value: Any) -> int:
    m = _RELATIVE.match(str(value).strip())
    if not m:
        raise ValueError(
            f"in_range {value!r}: give a span like '30 days' or a pair ['60 days ago', 'now']"
        )
    return int(m[1]) * _UNITS[m[2].lower()] * 1_000_000


def numeric_test(kind: str, mod: Modifier, ops: tuple[Any, ...]) -> Callable[[float], bool]:
    if kind == "date":
        lo, hi = ops
        return {
            M.IS: lambda v: lo <= v < hi,
            M.IS_NOT: lambda v: lo <= v < hi,
            M.BEFORE: lambda v: v < lo,
            M.AFTER: lambda v: v >= hi,
            M.BETWEEN: lambda v: lo <= v < hi,
            M.IN_RANGE: lambda v: lo <= v <= hi,
        }[mod]
    if mod in (M.BETWEEN, M.IN_RANGE):
        lo, hi = ops
        return lambda v: lo <= v <= hi
    x = ops[0]
    return {
        M.IS: lambda v: v == x,
        M.IS_NOT: lambda v: v == x,
        M.GREATER_THAN: lambda v: v > x,
        M.LESS_THAN: lambda v: v < x,
    }[mod]


def numeric_mask(kind: str, mod: Modifier, ops: tuple[Any, ...], v: Any) -> Mask:
    if kind == "date":
        lo, hi = ops
        result: Mask = {
            M.IS: lambda: (v >= lo) & (v < hi),
            M.IS_NOT: lambda: (v >= lo) & (v < hi),
            M.BEFORE: lambda: v < lo,
            M.AFTER: lambda: v >= hi,
            M.BETWEEN: lambda: (v >= lo) & (v < hi),
            M.IN_RANGE: lambda: (v >= lo) & (v <= hi),
        }[mod]()
        return result
    if mod in (M.BETWEEN, M.IN_RANGE):
        return (v >= ops[0]) & (v <= ops[1])  # type: ignore[no-any-return]
    x = ops[0]
    return {  # type: ignore[no-any-return]
        M.IS: lambda: v == x,
        M.IS_NOT: lambda: v == x,
        M.GREATER_THAN: lambda: v > x,
        M.LESS_THAN: lambda: v < x,
    }[mod]()


def numeric_sql(mod: Modifier, col: ColumnElement[Any], ops: tuple[Any, ...]) -> Any:
    if mod in (M.BETWEEN, M.IN_RANGE):
        return and_(col >= literal(ops[0], Double()), col <= literal(ops[1], Double()))
    # NOTE: operands bind as doubles: asyncpg refuses 1999.0 for an integer column
    x: ColumnElement[float] = literal(ops[0], Double())
    return {M.IS: col == x, M.IS_NOT: col == x, M.GREATER_THAN: col > x, M.LESS_THAN: col < x}[mod]


def date_sql(mod: Modifier, col: ColumnElement[Any], ops: tuple[Any, ...]) -> Any:
    lo, hi = (_from_micros(x) for x in ops)
    return {
        M.IS: lambda: and_(col >= lo, col < hi),
        M.IS_NOT: lambda: and_(col >= lo, col < hi),
        M.BEFORE: lambda: col < lo,
        M.AFTER: lambda: col >= hi,
        M.BETWEEN: lambda: and_(col >= lo, col < hi),
        M.IN_RANGE: lambda: and_(col >= lo, col <= hi),
    }[mod]()


def _from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def escape_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally ('/' is the escape)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def like(col: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    return Fold(col).like(Fold(pattern), escape="/")
