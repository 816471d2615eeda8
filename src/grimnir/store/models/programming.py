"""What the planner schedules from: playlists, smart blocks, clocks and shows."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grimnir.domain import ShowExceptionKind, SlotKind, Timing
from grimnir.store.models._base import Base, JsonDict, Timestamps, UuidPk, json_dict
from grimnir.store.types import enum_type, utcnow

HOUR_MS = 3_600_000


class ShowContent(StrEnum):
    """What fills a show's air time.

    NOTE: belongs in ``grimnir.domain.catalog`` next to ``SlotKind``; it lives
    here until the domain grows it, and the stored values will not change.
    """

    CLOCK = "clock"
    PLAYLIST = "playlist"
    SMART_BLOCK = "smart_block"
    WEBSTREAM = "webstream"
    LIVE = "live"


def _ref(table: str) -> Mapped[uuid.UUID | None]:
    """An optional reference to programme material; cleared when the target goes."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete="SET NULL"), index=True)


class Playlist(UuidPk, Timestamps, Base):
    """An ordered list of media items, played in order or shuffled."""

    __tablename__ = "playlists"
    __table_args__ = (UniqueConstraint("station_id", "name"),)

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    shuffle: Mapped[bool] = mapped_column(default=False)
    rotation: Mapped[JsonDict] = mapped_column(default=json_dict)
    """How often its items may air: {"type": "default" | "once_per_n_songs" |
    "once_per_n_minutes" | "once_per_hour", "n": N} (the planner owns the schema)."""
    jingle: Mapped[bool] = mapped_column(default=False)
    """Jingles and station IDs: they air without now-playing metadata."""

    items: Mapped[list[PlaylistItem]] = relationship(
        back_populates="playlist",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PlaylistItem.position",
        lazy="raise",
    )


class PlaylistItem(UuidPk, Base):
    """One media item at one position of a playlist."""

    __tablename__ = "playlist_items"
    __table_args__ = (
        UniqueConstraint("playlist_id", "position"),
        CheckConstraint("position >= 0", name="position_nonneg"),
    )

    playlist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE"), index=True
    )
    overrides: Mapped[JsonDict] = mapped_column(default=json_dict)
    """Per-item cue_in_ms, cue_out_ms, fade_in_ms, fade_out_ms over the media's own."""

    playlist: Mapped[Playlist] = relationship(back_populates="items", lazy="raise")


class SmartBlock(UuidPk, Timestamps, Base):
    """A rule-based selection of tracks.

    ``rules`` holds filters, weights, quotas, separation and the relaxation
    order (the planner owns its schema); the block aims at ``target_duration_ms``
    ± ``tolerance_ms`` and falls back to ``fallback_block_id`` when it cannot fill.
    """

    __tablename__ = "smart_blocks"
    __table_args__ = (
        UniqueConstraint("station_id", "name"),
        CheckConstraint("target_duration_ms > 0", name="target_positive"),
        CheckConstraint("tolerance_ms >= 0", name="tolerance_nonneg"),
    )

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[JsonDict] = mapped_column(default=json_dict)
    target_duration_ms: Mapped[int | None] = mapped_column(Integer)
    tolerance_ms: Mapped[int] = mapped_column(Integer, default=0)
    fallback_block_id: Mapped[uuid.UUID | None] = _ref("smart_blocks")


class Clock(UuidPk, Timestamps, Base):
    """An hour template: slots at offsets from the top of the hour."""

    __tablename__ = "clocks"
    __table_args__ = (UniqueConstraint("station_id", "name"),)

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")

    slots: Mapped[list[ClockSlot]] = relationship(
        back_populates="clock",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ClockSlot.offset_ms",
        lazy="raise",
    )


class ClockSlot(UuidPk, Base):
    """A span of a clock's hour and what fills it; it may not run past the hour."""

    __tablename__ = "clock_slots"
    __table_args__ = (
        UniqueConstraint("clock_id", "position"),
        CheckConstraint("offset_ms >= 0", name="offset_nonneg"),
        CheckConstraint("duration_ms > 0", name="duration_positive"),
        CheckConstraint(f"offset_ms + duration_ms <= {HOUR_MS}", name="within_hour"),
    )

    clock_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clocks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    offset_ms: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SlotKind] = mapped_column(enum_type(SlotKind, "kind"))
    timing: Mapped[Timing] = mapped_column(enum_type(Timing, "timing"), default=Timing.SOFT)
    smart_block_id: Mapped[uuid.UUID | None] = _ref("smart_blocks")
    playlist_id: Mapped[uuid.UUID | None] = _ref("playlists")
    media_id: Mapped[uuid.UUID | None] = _ref("media_items")
    webstream_id: Mapped[uuid.UUID | None] = _ref("webstreams")
    params: Mapped[JsonDict] = mapped_column(default=json_dict)

    clock: Mapped[Clock] = relationship(back_populates="slots", lazy="raise")


class Show(UuidPk, Timestamps, Base):
    """A recurring programme.

    ``rrule`` is an RFC 5545 rule evaluated in the station's time zone from
    ``dtstart`` (stored in UTC; the planner converts at the edges, so a show at
    08:00 stays at 08:00 local across DST changes).
    """

    __tablename__ = "shows"
    __table_args__ = (
        UniqueConstraint("station_id", "name"),
        CheckConstraint("duration_ms > 0", name="duration_positive"),
    )

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    rrule: Mapped[str] = mapped_column(Text)
    dtstart: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(default=True)
    host_user_id: Mapped[uuid.UUID | None] = _ref("users")
    content: Mapped[ShowContent] = mapped_column(enum_type(ShowContent, "content"))
    clock_id: Mapped[uuid.UUID | None] = _ref("clocks")
    playlist_id: Mapped[uuid.UUID | None] = _ref("playlists")
    smart_block_id: Mapped[uuid.UUID | None] = _ref("smart_blocks")
    webstream_id: Mapped[uuid.UUID | None] = _ref("webstreams")

    exceptions: Mapped[list[ShowException]] = relationship(
        back_populates="show",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ShowException.occurrence_start",
        lazy="raise",
    )


class ShowException(UuidPk, Base):
    """One occurrence of a show cancelled, moved or given substitute content.

    ``occurrence_start`` is the UTC start the rule produces for that occurrence;
    ``new_start``/``new_duration_ms`` apply to moves, ``substitute`` to substitutions
    (same keys as a show's content: ``content``, ``clock_id``, ``playlist_id``…).
    """

    __tablename__ = "show_exceptions"
    __table_args__ = (
        UniqueConstraint("show_id", "occurrence_start"),
        CheckConstraint("new_duration_ms > 0", name="new_duration_positive"),
    )

    show_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    occurrence_start: Mapped[datetime]
    kind: Mapped[ShowExceptionKind] = mapped_column(enum_type(ShowExceptionKind, "kind"))
    new_start: Mapped[datetime | None]
    new_duration_ms: Mapped[int | None] = mapped_column(Integer)
    substitute: Mapped[JsonDict] = mapped_column(default=json_dict)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    show: Mapped[Show] = relationship(back_populates="exceptions", lazy="raise")
