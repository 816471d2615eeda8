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
from abc import ABC, abstractmethod
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


class FieldKind(ABC):
    """What a kind of field (text, number, date) does with a rule: its operands, an
    in-memory test of one value, a mask over a library column and an SQL condition.
    The three kinds are the subclasses below (as beets' ``SubstringQuery`` and
    ``NumericQuery``); a rule asks its field's kind."""

    name: str

    @abstractmethod
    def operands(self, rule: Rule, now: datetime) -> tuple[Any, ...]:
        """The operands of ``rule`` at ``now``; ValueError says what to fix."""

    @abstractmethod
    def positive(self, modifier: Modifier, ops: tuple[Any, ...]) -> Callable[[Any], bool]:
        """The test of a present value, before negation (``is_not`` tests ``is``)."""

    def value(self, raw: Any) -> Any:
        """A track's raw field value as the test takes it (``None``: missing)."""
        if raw is None:
            return None
        return float(to_micros(raw)) if isinstance(raw, datetime) else float(raw)

    def mask(self, rule: Rule, library: TrackLibrary, now: datetime) -> Mask:
        """``rule`` over every track of ``library`` at once."""
        values = library.number(rule.field)
        with np.errstate(invalid="ignore"):
            hit = numeric_mask(self.name, rule.modifier, rule.bounds(now), values)
        missing = np.isnan(values)
        return (~hit | missing) if rule.modifier in NEGATIVE else (hit & ~missing)

    @abstractmethod
    def sql(
        self, rule: Rule, ops: tuple[Any, ...]
    ) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
        """(the column, the positive condition) over ``MediaItem``."""


def _pair(rule: Rule, parse: Callable[[Any], tuple[float, float]]) -> tuple[float, float]:
    """``[low, high]`` of a ``between``/``in_range`` rule, each end read by ``parse``
    (a number: (n, n); a date: the start and end of what it names)."""
    value, mod = rule.value, rule.modifier
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{rule.field} {mod.value}: give a pair [low, high]")
    (lo, _), (_, hi) = parse(value[0]), parse(value[1])
    # NOTE: relative ends ("now") are ordered only at evaluation; reversed = empty
    if lo > hi and not any(is_relative(v) for v in value):
        raise ValueError(f"{rule.field} {mod.value}: low {value[0]!r} > high {value[1]!r}")
    return lo, hi


def _single(rule: Rule) -> Any:
    if isinstance(rule.value, list):
        raise ValueError(f"{rule.field} {rule.modifier.value}: give one value, not a list")
    return rule.value


class TextKind(FieldKind):
    """Tags and custom fields: compared case- and accent-folded."""

    name = "text"

    def operands(self, rule: Rule, now: datetime) -> tuple[Any, ...]:
        if not isinstance(rule.value, str) or rule.value == "":
            raise ValueError(f"{rule.field} {rule.modifier.value}: give a non-empty text value")
        return (fold(rule.value),)

    def positive(self, modifier: Modifier, ops: tuple[Any, ...]) -> Callable[[Any], bool]:
        needle = ops[0]
        tests: dict[Modifier, Callable[[Any], bool]] = {
            M.IS: lambda v: v == needle,
            M.IS_NOT: lambda v: v == needle,
            M.CONTAINS: lambda v: needle in v,
            M.NOT_CONTAINS: lambda v: needle in v,
            M.STARTS_WITH: lambda v: v.startswith(needle),
            M.ENDS_WITH: lambda v: v.endswith(needle),
        }
        return tests[modifier]

    def value(self, raw: Any) -> Any:
        return fold_or_none(raw)

    def mask(self, rule: Rule, library: TrackLibrary, now: datetime) -> Mask:
        test = rule.tester(now)
        column = library.text(rule.field)
        return np.fromiter(map(test, column), np.bool_, len(column))

    def sql(
        self, rule: Rule, ops: tuple[Any, ...]
    ) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
        col = (
            custom_text(MediaItem.custom_tags.expression, rule.field[7:])
            if rule.field.startswith("custom.")
            else _SQL_TEXT[rule.field]
        )
        value = rule.value
        hit = {
            M.IS: lambda: Fold(col) == Fold(value),
            M.IS_NOT: lambda: Fold(col) == Fold(value),
            M.CONTAINS: lambda: like(col, f"%{escape_like(value)}%"),
            M.NOT_CONTAINS: lambda: like(col, f"%{escape_like(value)}%"),
            M.STARTS_WITH: lambda: like(col, f"{escape_like(value)}%"),
            M.ENDS_WITH: lambda: like(col, f"%{escape_like(value)}"),
        }[rule.modifier]()
        return col, hit


class NumberKind(FieldKind):
    """Year, BPM, playable duration (seconds), loudness (LUFS), play count."""

    name = "number"

    def operands(self, rule: Rule, now: datetime) -> tuple[Any, ...]:
        if rule.modifier in (M.BETWEEN, M.IN_RANGE):
            return _pair(rule, lambda v: (parse_number(rule.field, v),) * 2)
        return (parse_number(rule.field, _single(rule)),)

    def positive(self, modifier: Modifier, ops: tuple[Any, ...]) -> Callable[[Any], bool]:
        return numeric_test(self.name, modifier, ops)

    def sql(
        self, rule: Rule, ops: tuple[Any, ...]
    ) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
        col = _SQL_NUMBER[rule.field]
        return col, numeric_sql(rule.modifier, col, ops)


class DateKind(FieldKind):
    """When a track was added or last played, as µs intervals."""

    name = "date"

    def operands(self, rule: Rule, now: datetime) -> tuple[Any, ...]:
        mod, value = rule.modifier, rule.value
        if mod == M.IN_RANGE and not isinstance(value, list):
            length = parse_span(value)
            return to_micros(now) - length, to_micros(now)
        if mod in (M.BETWEEN, M.IN_RANGE):
            return _pair(rule, lambda v: parse_date(v, now))
        return parse_date(_single(rule), now)

    def positive(self, modifier: Modifier, ops: tuple[Any, ...]) -> Callable[[Any], bool]:
        return numeric_test(self.name, modifier, ops)

    def sql(
        self, rule: Rule, ops: tuple[Any, ...]
    ) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
        col = _SQL_DATE[rule.field]
        return col, date_sql(rule.modifier, col, ops)


KINDS: dict[str, FieldKind] = {k.name: k for k in (TextKind(), NumberKind(), DateKind())}
"""Each kind of field by name (what ``field_kind`` returns)."""


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
    def _kind(self) -> FieldKind:
        return KINDS[self.kind]

    @property
    def relative(self) -> bool:
        """Whether the rule depends on the evaluation time (dates like '30 days ago')."""
        if self.kind != "date":
            return False
        values = self.value if isinstance(self.value, list) else [self.value]
        return self.modifier == M.IN_RANGE or any(is_relative(v) for v in values)

    def bounds(self, now: datetime) -> tuple[Any, ...]:
        """The operands: (folded text,) · (number,) / (low, high) · µs intervals."""
        return self._kind.operands(self, now)

    # -- in memory ----------------------------------------------------------

    def tester(self, now: datetime) -> Callable[[Any], bool]:
        """A test of one column value (folded text, float or µs; ``None``/NaN = missing)."""
        positive = self._kind.positive(self.modifier, self.bounds(now))
        if self.modifier in NEGATIVE:
            return lambda v: v is None or v != v or not positive(v)  # v != v: NaN
        return lambda v: v is not None and v == v and positive(v)

    def matches(self, track: Track, now: datetime) -> bool:
        """Whether ``track`` passes this rule at evaluation time ``now``."""
        return self.tester(now)(self._kind.value(track.value(self.field)))

    def mask(self, library: TrackLibrary, now: datetime) -> Mask:
        """This rule over every track of ``library`` at once."""
        return self._kind.mask(self, library, now)

    # -- SQL ----------------------------------------------------------------

    def clause(self, now: datetime) -> ColumnElement[bool]:
        """A parameterised SQL condition over ``MediaItem`` selecting the same tracks."""
        col, hit = self._kind.sql(self, self.bounds(now))
        if self.modifier in NEGATIVE:
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


__all__ = [
    "KINDS",
    "MODIFIERS",
    "DateKind",
    "FieldKind",
    "Modifier",
    "NumberKind",
    "Rule",
    "RuleSet",
    "TextKind",
    "describe",
    "field_kind",
]
