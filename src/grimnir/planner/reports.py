"""What a timeline build produced and what it could not do.

:class:`PlannedEntry` is a timeline entry as a value (comparable field by
field, so two builds can be checked for equality); :class:`BuildReport` lists
the conflicts, gaps, under-filled slots and rule relaxations a station
engineer should look at; :func:`diff` says what changed between two versions
of a timeline and why.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from grimnir.domain import EntryKind, EntryStatus, FadeCurve, Timing
from grimnir.store.models import TimelineEntry

_MS = timedelta(milliseconds=1)

# Fields of an entry that make it "the same entry" (ids and seq are bookkeeping).
_IDENTITY = (
    "starts_at",
    "ends_at",
    "kind",
    "timing",
    "media_id",
    "webstream_id",
    "playlist_id",
    "smart_block_id",
    "show_id",
    "cue_in_ms",
    "cue_out_ms",
    "fade_in_ms",
    "fade_out_ms",
    "fade_curve",
    "gain_db",
    "seed",
    "title",
    "artist",
    "meta",
)


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """One concrete timeline item as the planner made it (or as stored)."""

    starts_at: datetime
    ends_at: datetime
    kind: EntryKind
    timing: Timing = Timing.SOFT
    media_id: uuid.UUID | None = None
    webstream_id: uuid.UUID | None = None
    playlist_id: uuid.UUID | None = None
    smart_block_id: uuid.UUID | None = None
    show_id: uuid.UUID | None = None
    cue_in_ms: int = 0
    cue_out_ms: int | None = None
    fade_in_ms: int = 0
    fade_out_ms: int = 0
    fade_curve: FadeCurve = FadeCurve.S_CURVE
    gain_db: float = 0.0
    seed: str | None = None
    title: str | None = None
    artist: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    status: EntryStatus = EntryStatus.PLANNED
    id: uuid.UUID | None = field(default=None, compare=False)
    seq: int | None = field(default=None, compare=False)

    @property
    def duration_ms(self) -> int:
        return (self.ends_at - self.starts_at) // _MS

    @classmethod
    def from_row(cls, row: TimelineEntry) -> PlannedEntry:
        values = {name: getattr(row, name) for name in _IDENTITY}
        values["meta"] = dict(row.meta or {})
        return cls(**values, status=EntryStatus(row.status), id=row.id, seq=row.seq)

    @classmethod
    def from_mapping(cls, row: Mapping[Any, Any]) -> PlannedEntry:
        """From a row of ``timeline_entries`` columns (the JSON column is ``metadata``)."""
        values = {name: row[name] for name in _IDENTITY if name != "meta"}
        return cls(
            **values,
            meta=dict(row["metadata"] or {}),
            status=EntryStatus(row["status"]),
            id=row["id"],
            seq=row["seq"],
        )

    def to_row(self, station_id: uuid.UUID, seq: int) -> TimelineEntry:
        values = {name: getattr(self, name) for name in _IDENTITY}
        values["meta"] = dict(self.meta)
        return TimelineEntry(station_id=station_id, seq=seq, status=self.status, **values)

    def to_values(self, station_id: uuid.UUID, seq: int) -> dict[str, Any]:
        """The attributes ``to_row`` sets (a new id, no None) as a dict for a bulk
        INSERT, without an ORM object per entry; unset columns take their defaults."""
        values: dict[str, Any] = {"id": uuid.uuid4(), "station_id": station_id, "seq": seq}
        for name in ("status", *_IDENTITY):
            value = getattr(self, name)
            if value is not None:
                values[name] = value
        values["meta"] = dict(self.meta)
        return values

    def same_as(self, other: PlannedEntry) -> bool:
        """Equal in every planned field (ids, seq and status aside)."""
        return all(getattr(self, n) == getattr(other, n) for n in _IDENTITY)

    def label(self) -> str:
        if self.artist and self.title:
            return f"{self.artist} – {self.title}"
        return self.title or self.artist or self.kind.value

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime | uuid.UUID):
                data[key] = str(value) if isinstance(value, uuid.UUID) else value.isoformat()
            elif hasattr(value, "value"):
                data[key] = value.value
        return data

    def moved(self, **changes: Any) -> PlannedEntry:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Gap:
    """Air time with nothing planned (dead air unless the engine's fallback covers it)."""

    start: datetime
    end: datetime
    reason: str

    @property
    def duration_ms(self) -> int:
        return (self.end - self.start) // _MS


def holes(
    entries: Iterable[PlannedEntry], start: datetime, end: datetime, *, tail: bool = True
) -> list[Gap]:
    """Where nothing plays in ``start`` … ``end`` (skipped entries do not play).

    Consecutive entries join when one starts exactly where the one before
    ends (the planner's rule: crossfades are the executor's business), so any
    time between an entry's end and the next start is a hole. ``tail=False``
    leaves out the time after the last entry (a timeline not planned that far
    yet); an empty timeline then has no holes.
    """
    at, before = start, None
    out: list[Gap] = []
    playing = sorted(
        (e for e in entries if e.status != EntryStatus.SKIPPED and e.starts_at < end),
        key=lambda e: (e.starts_at, e.ends_at),
    )
    for entry in playing:
        if entry.ends_at <= at:
            before = entry if before is None or entry.ends_at >= before.ends_at else before
            continue
        if entry.starts_at > at:
            where = (
                f"between {before.label()} and {entry.label()}"
                if before is not None
                else f"before {entry.label()}"
            )
            out.append(Gap(at, entry.starts_at, f"nothing plays {where}"))
        at, before = entry.ends_at, entry
    if at < end and tail:
        after = f"after {before.label()}" if before is not None else "here"
        out.append(Gap(at, end, f"nothing plays {after}"))
    return out


@dataclass(frozen=True, slots=True)
class UnderFill:
    """A slot whose own content fell short; ``filler_ms`` came from fallback/jingles."""

    slot: str
    start: datetime
    target_ms: int
    content_ms: int
    filler_ms: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Relaxation:
    """Rules a slot had to relax to fill (e.g. artist separation 60 → 30 min)."""

    slot: str
    start: datetime
    relaxations: tuple[str, ...]


@dataclass(slots=True)
class BuildReport:
    """Everything one build did, for ``grimnir plan build/check`` and the API."""

    station_id: uuid.UUID
    start: datetime
    end: datetime
    written: bool = False
    entries: list[PlannedEntry] = field(default_factory=list)
    kept: int = 0
    removed: int = 0
    unchanged: int = 0
    """Planned entries already stored exactly so: their rows stay (written builds)."""
    conflicts: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    underfilled: list[UnderFill] = field(default_factory=list)
    relaxations: list[Relaxation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    load_ms: float = 0.0
    elapsed_ms: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.kind.value for e in self.entries).items()))

    @property
    def errors(self) -> list[str]:
        """Problems that need a person: show conflicts and dead air."""
        gaps = [
            f"gap {g.start.isoformat()} – {g.end.isoformat()} ({g.duration_ms / 1000:g} s): "
            f"{g.reason}"
            for g in self.gaps
        ]
        return [*self.conflicts, *gaps]

    def to_json(self, *, with_entries: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "station_id": str(self.station_id),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "written": self.written,
            "counts": self.counts,
            "planned": len(self.entries),
            "kept": self.kept,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "gaps": [
                {"start": g.start.isoformat(), "end": g.end.isoformat(), "reason": g.reason}
                for g in self.gaps
            ],
            "underfilled": [{**asdict(u), "start": u.start.isoformat()} for u in self.underfilled],
            "relaxations": [
                {"slot": r.slot, "start": r.start.isoformat(), "relaxations": list(r.relaxations)}
                for r in self.relaxations
            ],
            "warnings": self.warnings,
            "errors": self.errors,
            "load_ms": round(self.load_ms, 3),
            "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if with_entries:
            data["entries"] = [e.to_json() for e in self.entries]
        return data


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the old timeline replaced at the same start by a different one."""

    old: PlannedEntry
    new: PlannedEntry
    reasons: tuple[str, ...]


@dataclass(slots=True)
class TimelineDiff:
    """What a new timeline version adds, removes and changes against an old one."""

    added: list[PlannedEntry] = field(default_factory=list)
    removed: list[PlannedEntry] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: Iterable[PlannedEntry], new: Iterable[PlannedEntry]) -> TimelineDiff:
    """Compare two timeline versions entry by entry.

    Entries are paired by start time and kind; a pair that differs in any
    planned field is a change whose reasons name each difference.
    """
    result = TimelineDiff()
    olds: dict[tuple[datetime, str], list[PlannedEntry]] = {}
    for entry in old:
        olds.setdefault((entry.starts_at, entry.kind.value), []).append(entry)
    for entry in new:
        bucket = olds.get((entry.starts_at, entry.kind.value))
        if not bucket:
            result.added.append(entry)
            continue
        match = next((o for o in bucket if o.same_as(entry)), bucket[0])
        bucket.remove(match)
        reasons = _reasons(match, entry)
        if reasons:
            result.changed.append(Change(match, entry, reasons))
    result.removed = sorted(
        (e for bucket in olds.values() for e in bucket), key=lambda e: e.starts_at
    )
    return result


def _reasons(old: PlannedEntry, new: PlannedEntry) -> tuple[str, ...]:
    out: list[str] = []
    if old.media_id != new.media_id or old.webstream_id != new.webstream_id:
        out.append(f"item {old.label()} → {new.label()}")
    skip = {"media_id", "webstream_id", "title", "artist"}
    for f in fields(PlannedEntry):
        if f.name in _IDENTITY and f.name not in skip:
            a, b = getattr(old, f.name), getattr(new, f.name)
            if a != b:
                out.append(f"{f.name} {_show(a)} → {_show(b)}")
    return tuple(out)


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


def entries_of(rows: Sequence[TimelineEntry]) -> list[PlannedEntry]:
    """Stored rows as values, in timeline order."""
    return [PlannedEntry.from_row(r) for r in sorted(rows, key=lambda r: (r.starts_at, r.seq))]
