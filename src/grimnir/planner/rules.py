"""Smart block filters: which tracks a block may choose from.

A filter is a list of groups; the rules of a group are ORed, the groups
ANDed (``[[genre is rock, genre is pop], [year after 1990]]`` = rock or pop,
and newer than 1990). Stored under ``"groups"`` in ``SmartBlock.rules``::

    {"groups": [[{"field": "genre", "modifier": "is", "value": "Rock"}]]}

Fields and modifiers:

- text (``title artist album genre mood label language isrc custom.<key>``):
  ``is is_not contains not_contains starts_with ends_with``, case-insensitive.
- numbers (``year bpm duration loudness play_count``): ``is is_not
  greater_than less_than between in_range`` (``between`` = ``in_range``, both
  ends included, value ``[low, high]``). ``duration`` is the playable length in
  seconds (``210``, ``"3:30"``); ``loudness`` in LUFS.
- dates (``added last_played``): ``is is_not before after between in_range``.
  Values: ``"2024-05-01"`` (that whole day), an ISO date-time, ``"now"``,
  ``"today"`` or ``"30 days ago"`` (minutes/hours/days/weeks). Dates without a
  time zone are read in the zone of the evaluation time (the fill's start,
  given by the builder in station time); relative forms count back from it.
  ``in_range`` takes a span (``"30 days"``: within the last 30 days) or a pair.

Missing values (no genre tag, never played): never match a positive modifier
(``is contains before between`` …) and always match ``is_not`` and
``not_contains``. "genre is not Jazz" therefore includes untagged tracks.

Every rule compiles to a parameterised SQL clause over ``MediaItem``
(``clause``) and to an in-memory test (``matches`` per track, ``mask`` over a
``TrackLibrary``); a test checks both select the same tracks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import and_, case, false, func, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from grimnir.domain import PlannerError
from grimnir.planner._ruleops import (
    DATE_MODS,
    NEGATIVE,
    NUMBER_MODS,
    TEXT_MODS,
    M,
    Mask,
    Modifier,
    date_sql,
    escape_like,
    is_relative,
    like,
    numeric_mask,
    numeric_sql,
    numeric_test,
    parse_date,
    parse_number,
    parse_span,
)
from grimnir.planner._sql import Fold, custom_text
from grimnir.planner._text import fold, fold_or_none
from grimnir.planner.tracks import (
    DATE_FIELDS,
    NUMBER_FIELDS,
    TEXT_FIELDS,
    Track,
    TrackLibrary,
    to_micros,
)
from grimnir.store.models import MediaItem

_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SQL_TEXT: dict[str, ColumnElement[Any]] = {
    name: getattr(MediaItem, name).expression for name in TEXT_FIELDS
}
_PLAYABLE = func.coalesce(MediaItem.cue_out_ms, MediaItem.duration_ms) - MediaItem.cue_in_ms
_SQL_NUMBER: dict[str, ColumnElement[Any]] = {
    "year": MediaItem.year.expression,
    "bpm": MediaItem.bpm.expression,
    "duration": case((_PLAYABLE > 0, _PLAYABLE)),
    "loudness": MediaItem.loudness_lufs.expression,
    "play_count": MediaItem.play_count.expression,
}
_SQL_DATE: dict[str, ColumnElement[Any]] = {
    "added": MediaItem.created_at.expression,
    "last_played": MediaItem.last_played_at.expression,
}


MODIFIERS: dict[str, frozenset[Modifier]] = {
    "text": frozenset(TEXT_MODS),
    "number": frozenset(NUMBER_MODS),
    "date": frozenset(DATE_MODS),
}
"""The modifiers each kind of field accepts."""


def field_kind(name: str) -> str:
    """``text``, ``number`` or ``date``; raises ``ValueError`` for unknown fields."""
    if name in TEXT_FIELDS:
        return "text"
    if name.startswith("custom."):
        if not _CUSTOM_KEY.match(name[7:]):
            raise ValueError(
                f"custom field {name!r}: the key after 'custom.' may use letters, digits, "
                "'_' and '-' only (1–64 characters)"
            )
        return "text"
    if name in NUMBER_FIELDS:
        return "number"
    if name in DATE_FIELDS:
        return "date"
    known = ", ".join((*TEXT_FIELDS, *NUMBER_FIELDS, *DATE_FIELDS, "custom.<key>"))
    raise ValueError(f"unknown field {name!r}; use one of {known}")


class Rule(BaseModel):
    """One condition: ``field`` ``modifier`` ``value``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    modifier: Modifier
    value: Any

    @model_validator(mode="after")
    def _check(self) -> Rule:
        kind = field_kind(self.field)
        allowed = MODIFIERS[kind]
        if self.modifier not in allowed:
            names = ", ".join(sorted(m.value for m in allowed))
            raise ValueError(
                f"{self.field!r} is a {kind} field: {self.modifier.value!r} does not apply; "
                f"use one of {names}"
            )
        self.bounds(datetime.fromisoformat("2000-01-01T00:00:00+00:00"))  # checks the value
        return self

    @property
    def kind(self) -> str:
        return field_kind(self.field)

    @property
    def relative(self) -> bool:
        """Whether the rule depends on the evaluation time (dates like '30 days ago')."""
        if self.kind != "date":
            return False
        values = self.value if isinstance(self.value, list) else [self.value]
        return self.modifier == M.IN_RANGE or any(is_relative(v) for v in values)

    def bounds(self, now: datetime) -> tuple[Any, ...]:
        """The operands: (folded text,) · (number,) / (low, high) · µs intervals."""
        kind, mod, value = self.kind, self.modifier, self.value
        if kind == "text":
            if not isinstance(value, str) or value == "":
                raise ValueError(f"{self.field} {mod.value}: give a non-empty text value")
            return (fold(value),)
        pair = mod in (M.BETWEEN, M.IN_RANGE)
        if kind == "date" and mod == M.IN_RANGE and not isinstance(value, list):
            length = parse_span(value)
            return to_micros(now) - length, to_micros(now)
        lo: float
        hi: float
        if pair:
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError(f"{self.field} {mod.value}: give a pair [low, high]")
            if kind == "date":
                (lo, _), (_, hi) = parse_date(value[0], now), parse_date(value[1], now)
            else:
                lo, hi = parse_number(self.field, value[0]), parse_number(self.field, value[1])
            # NOTE: relative ends ("now") are ordered only at evaluation; reversed = empty
            if lo > hi and not any(is_relative(v) for v in value):
                raise ValueError(f"{self.field} {mod.value}: low {value[0]!r} > high {value[1]!r}")
            return lo, hi
        if isinstance(value, list):
            raise ValueError(f"{self.field} {mod.value}: give one value, not a list")
        if kind == "date":
            return parse_date(value, now)
        return (parse_number(self.field, value),)

    # -- in memory ----------------------------------------------------------

    def tester(self, now: datetime) -> Callable[[Any], bool]:
        """A test of one column value (folded text, float or µs; ``None``/NaN = missing)."""
        ops = self.bounds(now)
        mod = self.modifier
        if self.kind == "text":
            needle = ops[0]
            positive: Callable[[Any], bool] = {
                M.IS: lambda v: v == needle,
                M.IS_NOT: lambda v: v == needle,
                M.CONTAINS: lambda v: needle in v,
                M.NOT_CONTAINS: lambda v: needle in v,
                M.STARTS_WITH: lambda v: v.startswith(needle),
                M.ENDS_WITH: lambda v: v.endswith(needle),
            }[mod]
        else:
            positive = numeric_test(self.kind, mod, ops)
        if mod in NEGATIVE:
            return lambda v: v is None or v != v or not positive(v)  # v != v: NaN
        return lambda v: v is not None and v == v and positive(v)

    def matches(self, track: Track, now: datetime) -> bool:
        """Whether ``track`` passes this rule at evaluation time ``now``."""
        raw = track.value(self.field)
        if self.kind == "text":
            value: Any = fold_or_none(raw)
        elif raw is None:
            value = None
        elif isinstance(raw, datetime):
            value = float(to_micros(raw))
        else:
            value = float(raw)
        return self.tester(now)(value)

    def mask(self, library: TrackLibrary, now: datetime) -> Mask:
        """This rule over every track of ``library`` at once."""
        test = self.tester(now)
        if self.kind == "text":
            column = library.text(self.field)
            return np.fromiter(map(test, column), np.bool_, len(column))
        values = library.number(self.field)
        ops = self.bounds(now)
        with np.errstate(invalid="ignore"):
            hit = numeric_mask(self.kind, self.modifier, ops, values)
        missing = np.isnan(values)
        return (~hit | missing) if self.modifier in NEGATIVE else (hit & ~missing)

    # -- SQL ----------------------------------------------------------------

    def clause(self, now: datetime) -> ColumnElement[bool]:
        """A parameterised SQL condition over ``MediaItem`` selecting the same tracks."""
        ops, mod = self.bounds(now), self.modifier
        if self.kind == "text":
            col = (
                custom_text(MediaItem.custom_tags.expression, self.field[7:])
                if self.field.startswith("custom.")
                else _SQL_TEXT[self.field]
            )
            value = self.value
            hit = {
                M.IS: lambda: Fold(col) == Fold(value),
                M.IS_NOT: lambda: Fold(col) == Fold(value),
                M.CONTAINS: lambda: like(col, f"%{escape_like(value)}%"),
                M.NOT_CONTAINS: lambda: like(col, f"%{escape_like(value)}%"),
                M.STARTS_WITH: lambda: like(col, f"{escape_like(value)}%"),
                M.ENDS_WITH: lambda: like(col, f"%{escape_like(value)}"),
            }[mod]()
        elif self.kind == "number":
            col = _SQL_NUMBER[self.field]
            hit = numeric_sql(mod, col, ops)
        else:
            col = _SQL_DATE[self.field]
            hit = date_sql(mod, col, ops)
        if mod in NEGATIVE:
            return or_(col.is_(None), not_(hit))
        return and_(col.is_not(None), hit)


class RuleSet(BaseModel):
    """Groups of rules: ORed within a group, groups ANDed. No groups = every track."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: list[list[Rule]] = []

    @model_validator(mode="after")
    def _check(self) -> RuleSet:
        for i, group in enumerate(self.groups):
            if not group:
                raise ValueError(f"group {i} is empty: remove it or add a rule")
        return self

    @classmethod
    def parse(cls, data: Any, where: str = "smart block") -> RuleSet:
        """Validate ``{"groups": [[rule, …], …]}``; errors name the rule and the fix."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise PlannerError(f"{where}: invalid rules\n{describe(e)}") from None

    @property
    def relative(self) -> bool:
        return any(r.relative for g in self.groups for r in g)

    @property
    def has_dates(self) -> bool:
        return any(r.kind == "date" for g in self.groups for r in g)

    def matches(self, track: Track, now: datetime) -> bool:
        return all(any(r.matches(track, now) for r in g) for g in self.groups)

    def mask(self, library: TrackLibrary, now: datetime) -> Mask:
        result = np.ones(len(library), np.bool_)
        for group in self.groups:
            hit = np.zeros(len(library), np.bool_)
            for rule in group:
                hit |= rule.mask(library, now)
            result &= hit
        return result

    def clause(self, now: datetime) -> ColumnElement[bool]:
        if not self.groups:
            return true()
        return and_(*(or_(false(), *(r.clause(now) for r in g)) for g in self.groups))


def describe(error: ValidationError) -> str:
    """One line per problem: where (``groups[1][0].value``) and what to fix."""
    lines = []
    for item in error.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc.lstrip('.') or '(rules)'}: {message}")
    return "\n".join(lines)


__all__ = ["MODIFIERS", "Modifier", "Rule", "RuleSet", "describe", "field_kind"]
