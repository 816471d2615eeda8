"""Shows: recurring programmes laid onto the calendar in the station's time zone.

A show's ``rrule`` (RFC 5545, evaluated by python-dateutil) runs on the
station's *wall clock*: a daily 06:00 show airs at 06:00 local before and
after a DST change. Rules of the edge:

- A start that falls in the spring-forward gap is shifted forward by the gap
  (02:30 → 03:30 in New York); a start in the repeated fall-back hour means
  its first occurrence (RFC 5545 §3.3.5).
- A show's length is wall-clock length: a 01:00–04:00 show is 2 h of real
  time on spring-forward night and 4 h on fall-back night (it still ends at
  04:00 on the studio clock, which is what the host and the listeners see).
- Exceptions (``ShowException``) cancel one occurrence, move it
  (``new_start``/``new_duration_ms``) or substitute its content; a
  substitution with ``{"rebroadcast_of": "<UTC start of an earlier
  occurrence>"}`` replays what that occurrence had on the timeline.
- Overlaps are conflicts, resolved by rank: a moved occurrence (someone put it
  there on purpose) beats a ruled one, then the later-created show wins; the
  loser airs only around the winner, and the conflict is reported.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr

from grimnir.domain import PlannerError, ShowExceptionKind
from grimnir.planner._time import utc_to_wall, wall_span, wall_to_utc
from grimnir.store.models import Show, ShowContent, ShowException

_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_MARGIN = timedelta(days=1)
_REF_KEYS = ("clock_id", "playlist_id", "smart_block_id", "webstream_id")


@dataclass(frozen=True, slots=True)
class Content:
    """What fills a show's air time."""

    kind: ShowContent
    clock_id: uuid.UUID | None = None
    playlist_id: uuid.UUID | None = None
    smart_block_id: uuid.UUID | None = None
    webstream_id: uuid.UUID | None = None
    rebroadcast_of: datetime | None = None
    """UTC start of an earlier occurrence whose timeline entries are replayed."""

    @classmethod
    def from_show(cls, show: Show) -> Content:
        return cls(
            kind=ShowContent(show.content),
            clock_id=show.clock_id,
            playlist_id=show.playlist_id,
            smart_block_id=show.smart_block_id,
            webstream_id=show.webstream_id,
        )

    def substituted(self, sub: Mapping[str, Any], where: str) -> Content:
        """This content with a substitution's keys applied (unknown keys are an error)."""
        unknown = set(sub) - {"content", "rebroadcast_of", *_REF_KEYS}
        if unknown:
            raise PlannerError(
                f"{where}: unknown substitute key(s) {sorted(unknown)}; use content, "
                "clock_id, playlist_id, smart_block_id, webstream_id or rebroadcast_of"
            )
        try:
            kind = ShowContent(sub.get("content", self.kind))
            refs = {k: uuid.UUID(str(sub[k])) if sub.get(k) else None for k in _REF_KEYS}
            rebroadcast = sub.get("rebroadcast_of")
            again = datetime.fromisoformat(str(rebroadcast)) if rebroadcast else None
        except ValueError as e:
            raise PlannerError(f"{where}: bad substitute {dict(sub)!r}: {e}") from None
        if again is not None and again.tzinfo is None:
            raise PlannerError(f"{where}: rebroadcast_of needs a time zone, e.g. …T06:00:00Z")
        if "content" in sub:  # new content: the old references no longer apply
            return Content(kind, rebroadcast_of=again, **refs)
        merged = {k: refs[k] if k in sub else getattr(self, k) for k in _REF_KEYS}
        return Content(kind, rebroadcast_of=again, **merged)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One airing of a show: absolute UTC start and end, and what it plays."""

    show_id: uuid.UUID
    name: str
    start: datetime
    end: datetime
    content: Content
    rule_start: datetime
    """The start the rule gave (exceptions are keyed by it)."""
    host_user_id: uuid.UUID | None = None
    exception: ShowExceptionKind | None = None
    rank: tuple[int, datetime, str] = field(default=(0, datetime.min.replace(tzinfo=UTC), ""))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two shows claim the same air time; ``winner`` keeps it."""

    winner: Occurrence
    loser: Occurrence
    start: datetime
    end: datetime

    def describe(self, tz: ZoneInfo) -> str:
        lo, hi = self.start.astimezone(tz), self.end.astimezone(tz)
        return (
            f"shows {self.winner.name!r} and {self.loser.name!r} overlap "
            f"{lo:%Y-%m-%d %H:%M}–{hi:%H:%M} {lo.tzname()}: {self.winner.name!r} airs "
            f"(moved occurrences win, then the later-created show); move or cancel one"
        )


@dataclass(slots=True)
class ShowSchedule:
    """The shows of a window: non-overlapping occurrences, conflicts, warnings."""

    occurrences: list[Occurrence] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _rule(show: Show, local_start: datetime, tz: ZoneInfo) -> rruleset:
    text = _localize_until((show.rrule or "").strip(), tz)
    rules = rruleset()
    if not text:  # a one-off show
        rules.rdate(local_start)
        return rules
    try:
        parsed = rrulestr(text, dtstart=local_start, forceset=True, ignoretz=True)
    except (ValueError, TypeError, IndexError) as e:
        raise PlannerError(
            f"show {show.name!r}: cannot read its RRULE {text!r} ({e}); write e.g. "
            "FREQ=DAILY or FREQ=WEEKLY;BYDAY=MO,WE,FR"
        ) from None
    if not isinstance(parsed, rruleset):  # forceset=True always gives a set
        raise PlannerError(f"show {show.name!r}: RRULE {text!r} did not give a rule set")
    return parsed


def _localize_until(text: str, tz: ZoneInfo) -> str:
    """RRULE UNTIL in UTC (``…Z``) rewritten to the station's wall time, since the
    rule runs on naive wall-clock times."""

    def sub(m: re.Match[str]) -> str:
        utc = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + utc_to_wall(utc, tz).strftime("%Y%m%dT%H%M%S")

    return _UNTIL_UTC.sub(sub, text)


def occurrences(
    show: Show,
    exceptions: Iterable[ShowException],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    warnings: list[str] | None = None,
) -> list[Occurrence]:
    """The occurrences of ``show`` overlapping ``start`` … ``end`` (UTC), exceptions applied.

    Exceptions that match no occurrence of the rule are reported in
    ``warnings`` (they usually mean the show's rule was edited afterwards).
    """
    if not show.enabled:
        return []
    local_start = utc_to_wall(show.dtstart, tz)
    rules = _rule(show, local_start, tz)
    duration = timedelta(milliseconds=show.duration_ms)
    rank_base = (show.created_at or datetime.min.replace(tzinfo=UTC), str(show.id))
    content = Content.from_show(show)

    def ruled(lo: datetime, hi: datetime) -> list[datetime]:
        found = rules.between(utc_to_wall(lo, tz), utc_to_wall(hi, tz), inc=True)
        return [wall_to_utc(t, tz) for t in found]

    by_start: dict[datetime, ShowException] = {e.occurrence_start: e for e in exceptions}
    starts = set(ruled(start - duration - _MARGIN, end + _MARGIN))
    for at, ex in by_start.items():  # a move may bring an occurrence in from outside
        if ex.kind == ShowExceptionKind.MOVE and at not in starts and at in ruled(at, at):
            starts.add(at)
    out: list[Occurrence] = []
    for at in sorted(starts):
        occ = Occurrence(
            show_id=show.id,
            name=show.name,
            start=at,
            end=wall_span(at, duration, tz),
            content=content,
            rule_start=at,
            host_user_id=show.host_user_id,
            rank=(0, *rank_base),
        )
        found = by_start.pop(at, None)
        if found is not None:
            changed = _apply(occ, found, tz)
            if changed is None:
                continue
            occ = changed
        if occ.end > start and occ.start < end:
            out.append(occ)
    for at, ex in by_start.items():
        if start - duration - _MARGIN <= at <= end + _MARGIN and warnings is not None:
            warnings.append(
                f"show {show.name!r}: {ex.kind.value} exception for {at.isoformat()} matches "
                "no occurrence of its rule; delete it or fix occurrence_start"
            )
    return out


def _apply(occ: Occurrence, ex: ShowException, tz: ZoneInfo) -> Occurrence | None:
    where = f"show {occ.name!r} exception at {occ.rule_start.isoformat()}"
    kind = ShowExceptionKind(ex.kind)
    if kind == ShowExceptionKind.CANCEL:
        return None
    if kind == ShowExceptionKind.MOVE:
        new_start = ex.new_start or occ.start
        length = (
            timedelta(milliseconds=ex.new_duration_ms)
            if ex.new_duration_ms
            else utc_to_wall(occ.end, tz) - utc_to_wall(occ.start, tz)
        )
        return replace(
            occ,
            start=new_start,
            end=wall_span(new_start, length, tz),
            exception=kind,
            rank=(1, *occ.rank[1:]),
        )
    return replace(occ, content=occ.content.substituted(ex.substitute or {}, where), exception=kind)


def schedule(
    shows: Iterable[tuple[Show, Iterable[ShowException]]],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
) -> ShowSchedule:
    """Every show's occurrences in the window, overlaps resolved by rank.

    A losing occurrence keeps only the parts of its time no winner claims;
    each overlap becomes a :class:`Conflict`.
    """
    result = ShowSchedule()
    every: list[Occurrence] = []
    for show, exceptions in shows:
        every.extend(occurrences(show, exceptions, tz, start, end, result.warnings))
    every.sort(key=lambda o: o.rank, reverse=True)
    taken: list[Occurrence] = []
    for occ in every:
        pieces = [(occ.start, occ.end)]
        for won in taken:
            lo, hi = max(occ.start, won.start), min(occ.end, won.end)
            if lo < hi:
                result.conflicts.append(Conflict(won, occ, lo, hi))
                pieces = _subtract(pieces, won.start, won.end)
        kept = [replace(occ, start=a, end=b) for a, b in pieces if b > a]
        # NOTE: the loser's whole claim is taken, not just its pieces: the winner's
        # time is already taken, and a third show is reported against both.
        taken.append(occ)
        result.occurrences.extend(kept)
    result.occurrences.sort(key=lambda o: (o.start, o.end))
    result.conflicts.sort(key=lambda c: (c.start, c.winner.name))
    return result


def _subtract(
    pieces: list[tuple[datetime, datetime]], lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in pieces:
        if hi <= a or lo >= b:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo))
        if hi < b:
            out.append((hi, b))
    return out
