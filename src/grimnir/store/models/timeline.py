"""What airs and what aired: timeline, as-run log, live sessions, priority sources
and each station's executor state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grimnir.domain import (
    EndReason,
    EntryKind,
    EntryStatus,
    ExecutorState,
    FadeCurve,
    Priority,
    Timing,
)
from grimnir.store.models._base import Base, JsonDict, UuidPk, json_dict
from grimnir.store.types import PriorityType, enum_type, utcnow

_PRIORITY_RANGE = f"priority BETWEEN {min(Priority).value} AND {max(Priority).value}"


def _set_null(table: str) -> Mapped[uuid.UUID | None]:
    """An optional reference that history keeps (as NULL) when the target is deleted."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete="SET NULL"), index=True)


def _station() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))


class TimelineEntry(UuidPk, Base):
    """One concrete item of a station's plan.

    ``seq`` orders entries unambiguously even when they overlap (crossfades) or
    share a start time; it comes from ``repos.allocate_timeline_seq``. Title and
    artist are snapshots taken when the entry was planned.
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (
        UniqueConstraint("station_id", "seq"),
        Index(None, "station_id", "starts_at"),
        # What the executor reads on every poll: a station's pending entries, found
        # without walking the aired ones behind them (see executor/_timeline._up_to).
        Index(None, "station_id", "status", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("cue_in_ms >= 0", name="cue_in_nonneg"),
        CheckConstraint("fade_in_ms >= 0 AND fade_out_ms >= 0", name="fades_nonneg"),
    )

    station_id: Mapped[uuid.UUID] = _station()
    seq: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    kind: Mapped[EntryKind] = mapped_column(enum_type(EntryKind, "kind"))
    status: Mapped[EntryStatus] = mapped_column(
        enum_type(EntryStatus, "status"), default=EntryStatus.PLANNED
    )
    timing: Mapped[Timing] = mapped_column(enum_type(Timing, "timing"), default=Timing.SOFT)
    media_id: Mapped[uuid.UUID | None] = _set_null("media_items")
    webstream_id: Mapped[uuid.UUID | None] = _set_null("webstreams")
    playlist_id: Mapped[uuid.UUID | None] = _set_null("playlists")
    smart_block_id: Mapped[uuid.UUID | None] = _set_null("smart_blocks")
    show_id: Mapped[uuid.UUID | None] = _set_null("shows")
    cue_in_ms: Mapped[int] = mapped_column(Integer, default=0)
    cue_out_ms: Mapped[int | None] = mapped_column(Integer)
    fade_in_ms: Mapped[int] = mapped_column(Integer, default=0)
    fade_out_ms: Mapped[int] = mapped_column(Integer, default=0)
    fade_curve: Mapped[FadeCurve] = mapped_column(
        enum_type(FadeCurve, "fade_curve"), default=FadeCurve.S_CURVE
    )
    gain_db: Mapped[float] = mapped_column(Double, default=0.0)
    seed: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(255))
    artist: Mapped[str | None] = mapped_column(String(255))
    # NOTE: ``metadata`` is reserved by SQLAlchemy's declarative base.
    meta: Mapped[JsonDict] = mapped_column("metadata", default=json_dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AsRun(UuidPk, Base):
    """What actually aired, written from engine events (not from the plan).

    ``ended_at``/``end_reason`` stay NULL while the item is on air. ``layer``
    names the engine layer it played on (``automation``, ``live``…).
    """

    __tablename__ = "as_run"
    __table_args__ = (
        Index(None, "station_id", "started_at"),
        CheckConstraint(_PRIORITY_RANGE, name="priority_range"),
    )

    station_id: Mapped[uuid.UUID] = _station()
    timeline_entry_id: Mapped[uuid.UUID | None] = _set_null("timeline_entries")
    media_id: Mapped[uuid.UUID | None] = _set_null("media_items")
    title: Mapped[str | None] = mapped_column(String(255))
    artist: Mapped[str | None] = mapped_column(String(255))
    album: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[EndReason | None] = mapped_column(enum_type(EndReason, "end_reason"))
    priority: Mapped[Priority] = mapped_column(PriorityType, default=Priority.AUTOMATION)
    layer: Mapped[str] = mapped_column(String(32), default="automation")


class LiveSession(UuidPk, Base):
    """A live source connected to the station's harbor (a DJ, a remote studio)."""

    __tablename__ = "live_sessions"
    __table_args__ = (Index(None, "station_id", "connected_at"),)

    station_id: Mapped[uuid.UUID] = _station()
    user_id: Mapped[uuid.UUID | None] = _set_null("users")
    mount: Mapped[str] = mapped_column(String(255))
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    disconnected_at: Mapped[datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class PrioritySource(UuidPk, Base):
    """A source claiming the air at a priority (0 emergency … 4 fallback).

    ``kind`` says what it is (``emergency``, ``live``, ``webstream``…), ``ref``
    identifies it (a live session or alert id) and ``params`` carries the rest.
    """

    __tablename__ = "priority_sources"
    __table_args__ = (
        Index(None, "station_id", "active"),
        CheckConstraint(_PRIORITY_RANGE, name="priority_range"),
    )

    station_id: Mapped[uuid.UUID] = _station()
    priority: Mapped[Priority] = mapped_column(PriorityType)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(255))
    params: Mapped[JsonDict] = mapped_column(default=json_dict)
    active: Mapped[bool] = mapped_column(default=True)
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]


class ExecutorStateRecord(Base):
    """The last state a station's executor reported, so a restart can resume."""

    __tablename__ = "executor_states"
    __table_args__ = (CheckConstraint("position_ms >= 0", name="position_nonneg"),)

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[ExecutorState] = mapped_column(
        enum_type(ExecutorState, "state"), default=ExecutorState.IDLE
    )
    current_entry_id: Mapped[uuid.UUID | None] = _set_null("timeline_entries")
    position_ms: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
