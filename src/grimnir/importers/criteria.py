"""LibreTime smart block criteria → our smart block settings.

``rules_of(block)`` returns the settings of our ``SmartBlock`` row that carry the
LibreTime block over, and a Finding for what cannot (or only nearly) be::

    {
      "rules": {                      # SmartBlock.rules (planner.smartblock.BlockRules)
        "groups": [[rule, …], …],     # rules ORed in a group, groups ANDed
        "limit": {"items": 3} | {"minutes": 30} | {},
        "sort": "random" | "newest" | "oldest" | "least_recently_played",
        "overflow": "under" | "allow_overflow",
        "separation": {"artist": 0, "title": 0, "album": 0},
      },
      "target_duration_ms": 1800000 | None,   # SmartBlock.target_duration_ms
      "tolerance_ms": 0,                      # SmartBlock.tolerance_ms
    }

How LibreTime selects (``Block.php`` ``getListofFilesMeetCriteria`` on Propel 1's
``Criteria``): criteria are taken field by field (sorted by name), each field's
rows ordered by group; a row joins the previous one of its field with OR when
both are in the same group and with AND otherwise, folding left — for rows
A, B (group 0) and C, D (group 1) of one field that is ``((A OR B) AND C) OR D``,
not ``(A OR B) AND (C OR D)``. Fields are ANDed. The first row of a field with
``is not``/``does not contain`` also accepts NULL. This module rebuilds that
expression and writes it in conjunctive normal form, which is exactly our groups.

Where the meaning differs (reported as a Finding with ``skipped=False``): text
``is`` is case-sensitive there and ignores case and accents here, ``contains``
ignores accents here too; ``_`` in a LibreTime text value matched any character;
``length`` is the file's length there and the playable length (cue in to cue out)
here; a ``before`` date also matched never-played tracks there; a later ``is not``
row of a field matched no missing value there. Criteria on fields we do not keep
(bit rate, sample rate, cue points, MIME type, file name, track number, composer,
replay gain, last modified) are left out: the block may then choose from more
tracks. Not reported, as it only matters for odd data: ``year`` is LibreTime's free
text (``2006-03-01`` is not ``is 2006`` there), a number here.

LibreTime blocks do not keep artists or titles apart, so the separation is 0;
they could repeat a track within a block when out of tracks, which ours never do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grimnir.importers._libretime_values import interval_ms
from grimnir.importers.model import Criterion, Finding, SmartBlock

TEXT = {
    "album_title": "album",
    "artist_name": "artist",
    "track_title": "title",
    "genre": "genre",
    "mood": "mood",
    "label": "label",
    "language": "language",
    "isrc_number": "isrc",
    "description": "custom.description",
    "conductor": "custom.conductor",
    "copyright": "custom.copyright",
    "encoded_by": "custom.encoded_by",
    "info_url": "custom.info_url",
    "owner_id": "custom.owner",
    "track_type_id": "custom.track_type",
}
"""LibreTime text criteria → our fields (custom ones as the reader stores them)."""
NUMBER = {"year": "year", "bpm": "bpm", "length": "duration"}
DATE = {"utime": "added", "lptime": "last_played"}
_TEXT_MODS = {
    "contains": "contains",
    "does not contain": "not_contains",
    "is": "is",
    "is not": "is_not",
    "starts with": "starts_with",
    "ends with": "ends_with",
}
_NUMBER_MODS = {
    "is": "is",
    "is not": "is_not",
    "is greater than": "greater_than",
    "is less than": "less_than",
}
_NEGATIVE = ("is not", "does not contain")
_AGO = re.compile(r"^\s*(\d+)\s+(minute|hour|day|week|month|year)s?\s+ago\s*$", re.IGNORECASE)
_APPROX_DAYS = {"month": 30, "year": 365}
_SORTS = {
    "random": "random",
    "newest": "newest",
    "oldest": "oldest",
    "least_played": "least_recently_played",
}
_NO_SEPARATION = {"artist": 0, "title": 0, "album": 0}


@dataclass(frozen=True)
class _Atom:
    """One criterion as a literal: ``rule`` (ours) or None when it is always true
    (left out); ``null`` marks LibreTime's ``col IS NULL`` companion."""

    rule: dict[str, Any] | None
    null: bool = False


Expr = _Atom | tuple[str, "Expr", "Expr"]


def _describe(c: Criterion) -> str:
    """``genre is Rock`` / ``bpm is in the range 100–130``."""
    extra = f"–{c.extra}" if c.extra else ""
    return f"{c.field} {c.modifier} {c.value}{extra}"


def rules_of(block: SmartBlock) -> tuple[dict[str, Any], list[Finding]]:
    """Our smart block settings for LibreTime's ``block`` (keys above) and what
    could not be carried over exactly."""
    notes = _Notes(block.name)
    expr = _propel(block.criteria, notes)
    groups = _cnf(expr) if expr is not None else []
    rules: dict[str, Any] = {"groups": groups, "separation": dict(_NO_SEPARATION)}
    target: int | None = None
    value = block.limit_value
    if block.limit_kind == "items" and value:
        rules["limit"] = {"items": max(1, int(value))}
    elif block.limit_kind in ("hours", "minutes") and value:
        minutes = value * 60 if block.limit_kind == "hours" else value
        rules["limit"] = {"minutes": minutes}
        target = round(minutes * 60_000)
    else:
        # "remaining": the rest of the show; LibreTime used an hour outside a show
        target = 3_600_000
    sort = _SORTS.get(block.sort)
    if sort is None:
        notes(f"sort {block.sort!r} (most recently played first) has no equivalent; random order")
    rules["sort"] = sort or "random"
    rules["overflow"] = "allow_overflow" if block.overflow else "under"
    if block.repeat_tracks:
        notes(
            "LibreTime could repeat a track within the block when it ran out of tracks; "
            "here a block plays each track at most once"
        )
    return {"rules": rules, "target_duration_ms": target, "tolerance_ms": 0}, notes.findings


class _Notes:
    """Findings about one block; case-sensitive comparisons are gathered in one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.notes: list[Finding] = []
        self.exact_case: list[str] = []

    def __call__(self, reason: str) -> None:
        finding = Finding("smart_block", self.name, reason, skipped=False)
        if finding not in self.notes:
            self.notes.append(finding)

    @property
    def findings(self) -> list[Finding]:
        if not self.exact_case:
            return self.notes
        listed = ", ".join(f"'{c}'" for c in self.exact_case)
        reason = f"{listed}: LibreTime compared the case exactly; here case and accents are ignored"
        return [*self.notes, Finding("smart_block", self.name, reason, skipped=False)]


def _propel(criteria: list[Criterion], notes: _Notes) -> Expr | None:
    """LibreTime's WHERE clause as Propel 1 builds it (see the module docstring)."""
    by_field: dict[str, list[Criterion]] = {}
    for c in criteria:
        by_field.setdefault(c.field, []).append(c)
    conditions: dict[str, Expr] = {}  # Propel's map: one entry per column key, in order
    for field in sorted(by_field):
        rows = sorted(by_field[field], key=lambda c: c.group)  # stable, as PHP 8's usort
        previous: int | None = None
        for i, c in enumerate(rows):
            key = _key(c)
            atom = _atom(c, i, notes)
            if i > 0 and previous == c.group:
                target = key if key in conditions else next(reversed(conditions))
                conditions[target] = ("or", conditions[target], atom)
            elif key in conditions:
                conditions[key] = ("and", conditions[key], atom)
            else:
                conditions[key] = atom
            if i == 0 and c.modifier in _NEGATIVE:
                conditions[key] = ("or", conditions[key], _Atom(None, null=True))
            previous = c.group
    expr: Expr | None = None
    for condition in conditions.values():
        expr = condition if expr is None else ("and", expr, condition)
    return expr


def _key(c: Criterion) -> str:
    """Propel's map key of the column a criterion compares."""
    if c.field in ("length", "cuein", "cueout") and c.modifier == "is":
        return f".{c.field}::text"
    return {"owner_id": "subj.login"}.get(c.field, f".{c.field}")


def _cnf(expr: Expr) -> list[list[dict[str, Any]]]:
    """``expr`` as groups (AND of ORs); always-true literals drop their clause."""
    clauses = _clauses(expr)
    groups: list[list[dict[str, Any]]] = []
    for clause in clauses:
        if any(a.rule is None and not a.null for a in clause):
            continue  # contains a criterion left out (true)
        rules: list[dict[str, Any]] = []
        for a in clause:
            # NOTE: "col IS NULL" only ever stands beside its own "is not" row, whose
            # rule here already matches missing values: it adds nothing
            if a.rule is not None and a.rule not in rules:
                rules.append(a.rule)
        if rules and rules not in groups:
            groups.append(rules)
    return groups


def _clauses(expr: Expr) -> list[list[_Atom]]:
    if isinstance(expr, _Atom):
        return [[expr]]
    op, left, right = expr
    a, b = _clauses(left), _clauses(right)
    if op == "and":
        return a + b
    return [x + y for x in a for y in b]


def _atom(c: Criterion, index: int, notes: _Notes) -> _Atom:
    """Our rule for one criterion, or an always-true atom with a note."""
    if c.field in TEXT:
        return _text(c, index, notes)
    if c.field in NUMBER:
        return _number(c, notes)
    if c.field in DATE:
        return _date(c, notes)
    notes(
        f"'{_describe(c)}': we do not keep {c.field!r}, so the criterion is left out and the "
        "block may choose from more tracks"
    )
    return _Atom(None)


def _text(c: Criterion, index: int, notes: _Notes) -> _Atom:
    modifier = _TEXT_MODS.get(c.modifier)
    if modifier is None or not c.value:
        return _unknown(c, notes)
    if c.modifier in ("is", "is not"):
        if c.field != "track_type_id":
            notes.exact_case.append(_describe(c))
    elif "_" in c.value:
        notes(f"'{_describe(c)}': '_' matched any character in LibreTime; here only '_'")
    if c.modifier in _NEGATIVE and index > 0:
        notes(
            f"'{_describe(c)}': here it also matches tracks without a {c.field} (LibreTime "
            "left them out, as it was not the field's first criterion)"
        )
    return _Atom({"field": TEXT[c.field], "modifier": modifier, "value": c.value})


def _number(c: Criterion, notes: _Notes) -> _Atom:
    def read(value: str | None) -> float | None:
        if c.field == "length":
            ms = interval_ms(value)
            return None if ms is None else ms / 1000
        try:
            return float((value or "").strip()[:4] if c.field == "year" else (value or ""))
        except ValueError:
            return None

    low = read(c.value)
    if c.field == "length":
        notes(
            f"'{_describe(c)}': LibreTime compared the file's length; here the playable "
            "length between the cue points"
        )
    if low is None:
        return _unknown(c, notes)
    if c.modifier == "is in the range":
        high = read(c.extra)
        if high is None:
            return _unknown(c, notes)
        return _Atom({"field": NUMBER[c.field], "modifier": "in_range", "value": [low, high]})
    if c.field == "length" and c.modifier == "is":
        # LibreTime: length::text LIKE 'value%' - every length the typed digits begin
        digits = c.value.partition(".")[2]
        step = 10 ** -len(digits) if digits else 1
        high = round(low + step - 0.001, 3)
        return _Atom({"field": "duration", "modifier": "in_range", "value": [low, high]})
    modifier = _NUMBER_MODS.get(c.modifier)
    if modifier is None:
        return _unknown(c, notes)
    return _Atom({"field": NUMBER[c.field], "modifier": modifier, "value": low})


def _date(c: Criterion, notes: _Notes) -> _Atom:
    field = DATE[c.field]
    if c.modifier in ("before", "after", "between"):
        low = _relative(c.value, c, notes)
        if low is None:
            return _unknown(c, notes)
        if c.modifier == "before":
            notes(
                f"'{_describe(c)}': LibreTime also chose tracks never played (no date); "
                "here they are left out"
            )
            return _Atom({"field": field, "modifier": "before", "value": low})
        if c.modifier == "after":
            return _Atom({"field": field, "modifier": "after", "value": low})
        high = _relative(c.extra, c, notes)
        if high is None:
            return _unknown(c, notes)
        return _Atom({"field": field, "modifier": "in_range", "value": [low, high]})
    low = _instant(c.value)
    modifier = {
        "is": "is",
        "is not": "is_not",
        "is greater than": "after",
        "is less than": "before",
        "is in the range": "in_range",
    }.get(c.modifier)
    if low is None or modifier is None:
        return _unknown(c, notes)
    if modifier == "in_range":
        high = _instant(c.extra)
        if high is None:
            return _unknown(c, notes)
        return _Atom({"field": field, "modifier": "in_range", "value": [low, high]})
    return _Atom({"field": field, "modifier": modifier, "value": low})


def _relative(value: str | None, c: Criterion, notes: _Notes) -> str | None:
    """``7 day ago`` (LibreTime's relative date) in our words; months and years as
    30 and 365 days."""
    m = _AGO.match(value or "")
    if m is None:
        return None
    count, unit = int(m[1]), m[2].lower()
    if unit in _APPROX_DAYS:
        notes(f"'{_describe(c)}': a {unit} is counted as {_APPROX_DAYS[unit]} days here")
        return f"{count * _APPROX_DAYS[unit]} days ago"
    return f"{count} {unit}s ago"


def _instant(value: str | None) -> str | None:
    """A UTC timestamp LibreTime stored (``2025-12-01 00:00:00``) as ISO with zone."""
    text = (value or "").strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    return text.replace(" ", "T") + ("" if "+" in text[10:] else "+00:00")


def _unknown(c: Criterion, notes: _Notes) -> _Atom:
    notes(
        f"'{_describe(c)}': this criterion cannot be read here, so it is left out and the "
        "block may choose from more tracks"
    )
    return _Atom(None)
