"""Response models of planned entries and build reports (timeline and clock simulation)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from grimnir.domain import EntryKind, EntryStatus, FadeCurve, Timing
from grimnir.planner.reports import BuildReport, PlannedEntry, TimelineDiff
from grimnir.store.models import TimelineEntry


class EntryOut(BaseModel):
    """One timeline entry (stored, or as a build would plan it: then no id)."""

    id: uuid.UUID | None = None
    seq: int | None = None
    starts_at: datetime
    ends_at: datetime
    duration_ms: int
    kind: EntryKind
    status: EntryStatus
    timing: Timing
    media_id: uuid.UUID | None
    webstream_id: uuid.UUID | None
    playlist_id: uuid.UUID | None
    smart_block_id: uuid.UUID | None
    show_id: uuid.UUID | None
    cue_in_ms: int
    cue_out_ms: int | None
    fade_in_ms: int
    fade_out_ms: int
    fade_curve: FadeCurve
    gain_db: float
    title: str | None
    artist: str | None
    meta: dict[str, Any] = Field(description="Planner notes: slot, filler, jingle…")

    @classmethod
    def of(cls, entry: PlannedEntry) -> EntryOut:
        return cls(
            id=entry.id,
            seq=entry.seq,
            starts_at=entry.starts_at,
            ends_at=entry.ends_at,
            duration_ms=entry.duration_ms,
            kind=entry.kind,
            status=entry.status,
            timing=entry.timing,
            media_id=entry.media_id,
            webstream_id=entry.webstream_id,
            playlist_id=entry.playlist_id,
            smart_block_id=entry.smart_block_id,
            show_id=entry.show_id,
            cue_in_ms=entry.cue_in_ms,
            cue_out_ms=entry.cue_out_ms,
            fade_in_ms=entry.fade_in_ms,
            fade_out_ms=entry.fade_out_ms,
            fade_curve=entry.fade_curve,
            gain_db=entry.gain_db,
            title=entry.title,
            artist=entry.artist,
            meta=dict(entry.meta),
        )

    @classmethod
    def of_row(cls, row: TimelineEntry) -> EntryOut:
        return cls.of(PlannedEntry.from_row(row))


class GapOut(BaseModel):
    start: datetime
    end: datetime
    reason: str


class UnderFillOut(BaseModel):
    slot: str
    start: datetime
    target_ms: int
    content_ms: int
    filler_ms: int
    notes: list[str]


class RelaxationOut(BaseModel):
    slot: str
    start: datetime
    relaxations: list[str]


class ReportOut(BaseModel):
    """What a build did or would do: counts, conflicts, gaps, under-fills, relaxations."""

    station_id: uuid.UUID
    start: datetime
    end: datetime
    written: bool
    counts: dict[str, int]
    planned: int
    kept: int
    removed: int
    unchanged: int = Field(
        0, description="Planned entries already stored exactly so: kept as they are."
    )
    conflicts: list[str]
    gaps: list[GapOut]
    underfilled: list[UnderFillOut]
    relaxations: list[RelaxationOut]
    warnings: list[str]
    errors: list[str] = Field(description="Show conflicts and dead air: these need a person.")
    load_ms: float
    elapsed_ms: float

    @classmethod
    def of(cls, report: BuildReport) -> ReportOut:
        data = report.to_json()
        data["underfilled"] = [{**asdict(u), "notes": list(u.notes)} for u in report.underfilled]
        return cls.model_validate(data)


class ChangeOut(BaseModel):
    old: EntryOut
    new: EntryOut
    reasons: list[str]


class DiffOut(BaseModel):
    """What a rebuild would add, remove and change (nothing is written)."""

    unchanged: bool
    added: list[EntryOut]
    removed: list[EntryOut]
    changed: list[ChangeOut]
    report: ReportOut

    @classmethod
    def of(cls, result: TimelineDiff, report: BuildReport) -> DiffOut:
        return cls(
            unchanged=result.unchanged,
            added=[EntryOut.of(e) for e in result.added],
            removed=[EntryOut.of(e) for e in result.removed],
            changed=[
                ChangeOut(old=EntryOut.of(c.old), new=EntryOut.of(c.new), reasons=list(c.reasons))
                for c in result.changed
            ],
            report=ReportOut.of(report),
        )
