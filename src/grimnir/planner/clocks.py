"""Clocks: hour templates of slots, validated and laid onto real hours.

A clock says "at :00 a hard station ID, then music until :28, a stopset at
:28…". The planner lays it onto each hour it governs; a slot becomes a
:class:`SlotInstance` with absolute UTC start and end. The station's clock
named ``default`` (see :data:`DEFAULT_CLOCK_NAME`) governs every hour no show
claims.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from grimnir.domain import PlannerError, SlotKind, Timing
from grimnir.store.models import Clock, ClockSlot

HOUR_MS = 3_600_000
DEFAULT_CLOCK_NAME = "default"
"""A station's clock with this name (any case) runs in every hour without a show."""

# What each slot kind must point at (None: nothing, or any of the listed columns).
_NEEDS: dict[SlotKind, tuple[str, ...]] = {
    SlotKind.SMART_BLOCK: ("smart_block_id",),
    SlotKind.PLAYLIST: ("playlist_id",),
    SlotKind.HARD_ITEM: ("media_id",),
    SlotKind.STOPSET: ("playlist_id", "smart_block_id"),
    SlotKind.WEBSTREAM: ("webstream_id",),
    SlotKind.LIVE: (),
}


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """One slot of a clock: what fills ``offset_ms`` … ``offset_ms + duration_ms``."""

    offset_ms: int
    duration_ms: int
    kind: SlotKind
    timing: Timing = Timing.SOFT
    id: uuid.UUID | None = None
    position: int = 0
    name: str | None = None
    smart_block_id: uuid.UUID | None = None
    playlist_id: uuid.UUID | None = None
    media_id: uuid.UUID | None = None
    webstream_id: uuid.UUID | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def end_ms(self) -> int:
        return self.offset_ms + self.duration_ms

    @property
    def label(self) -> str:
        """How messages name the slot: its name, or kind and offset."""
        minute, second = divmod(self.offset_ms // 1000, 60)
        where = f"{self.kind.value} at :{minute:02d}:{second:02d}"
        return f"{self.name!r} ({where})" if self.name else where

    @classmethod
    def from_row(cls, row: ClockSlot) -> SlotSpec:
        return cls(
            id=row.id,
            position=row.position,
            name=row.name,
            offset_ms=row.offset_ms,
            duration_ms=row.duration_ms,
            kind=SlotKind(row.kind),
            timing=Timing(row.timing),
            smart_block_id=row.smart_block_id,
            playlist_id=row.playlist_id,
            media_id=row.media_id,
            webstream_id=row.webstream_id,
            params=MappingProxyType(dict(row.params or {})),
        )


@dataclass(frozen=True, slots=True)
class SlotInstance:
    """A slot laid onto a real hour (or a show's span): absolute UTC times."""

    slot: SlotSpec
    start: datetime
    end: datetime
    clock_id: uuid.UUID | None = None
    show_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        """Identifies the slot in seeds: its id, or show, kind and offset for ad-hoc slots
        (a show's own content, the default rotation)."""
        if self.slot.id is not None:
            return str(self.slot.id)
        owner = f"{self.show_id}:" if self.show_id else ""
        return f"{owner}{self.slot.kind.value}@{self.slot.offset_ms}"

    @property
    def hard(self) -> bool:
        return self.slot.timing == Timing.HARD


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """A validated clock: slots sorted by offset, inside the hour, not overlapping."""

    name: str
    slots: tuple[SlotSpec, ...]
    id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        problems = validate_slots(self.slots)
        if problems:
            raise PlannerError(
                f"clock {self.name!r} is invalid: " + "; ".join(problems) + "; fix its slots"
            )

    @classmethod
    def from_row(cls, clock: Clock, slots: Iterable[ClockSlot]) -> ClockSpec:
        specs = sorted((SlotSpec.from_row(s) for s in slots), key=lambda s: s.offset_ms)
        return cls(id=clock.id, name=clock.name, slots=tuple(specs))

    @property
    def covered_ms(self) -> int:
        """How much of the hour the slots fill."""
        return sum(s.duration_ms for s in self.slots)

    def expand(
        self,
        hour_start: datetime,
        *,
        clip_start: datetime | None = None,
        clip_end: datetime | None = None,
        show_id: uuid.UUID | None = None,
    ) -> list[SlotInstance]:
        """The clock's slots in the hour starting at ``hour_start`` (aware, any zone).

        ``clip_start``/``clip_end`` cut the hour short (a show that starts or
        ends mid-hour): slots wholly outside are dropped, slots across a clip
        edge are shortened. Uncovered parts of the hour get no instance; the
        builder fills them from the default rotation.
        """
        if hour_start.tzinfo is None:
            raise PlannerError(f"hour start {hour_start.isoformat()} has no time zone")
        lo = clip_start or hour_start
        hi = clip_end or hour_start + timedelta(milliseconds=HOUR_MS)
        out: list[SlotInstance] = []
        for slot in self.slots:
            start = hour_start + timedelta(milliseconds=slot.offset_ms)
            end = hour_start + timedelta(milliseconds=slot.end_ms)
            start, end = max(start, lo), min(end, hi)
            if end > start:
                out.append(SlotInstance(slot, start, end, clock_id=self.id, show_id=show_id))
        return out


def validate_slots(slots: Iterable[SlotSpec]) -> list[str]:
    """Every problem of a clock's slots, one message each (empty when valid)."""
    problems: list[str] = []
    ordered = sorted(slots, key=lambda s: s.offset_ms)
    for slot in ordered:
        if slot.offset_ms < 0:
            problems.append(f"slot {slot.label} starts before the hour (offset {slot.offset_ms})")
        if slot.duration_ms <= 0:
            problems.append(f"slot {slot.label} has no length ({slot.duration_ms} ms)")
        elif slot.end_ms > HOUR_MS:
            over = (slot.end_ms - HOUR_MS) / 1000
            problems.append(f"slot {slot.label} runs {over:g} s past the end of the hour")
        needs = _NEEDS[slot.kind]
        if needs and all(getattr(slot, name) is None for name in needs):
            problems.append(f"slot {slot.label} needs {' or '.join(needs)}")
    for before, after in itertools.pairwise(ordered):
        if after.offset_ms < before.end_ms:
            overlap = (before.end_ms - after.offset_ms) / 1000
            problems.append(f"slots {before.label} and {after.label} overlap by {overlap:g} s")
    return problems
