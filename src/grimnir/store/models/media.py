"""The music library: one row per audio file, with its tags and analysis."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from grimnir.domain import MediaState
from grimnir.store.models._base import Base, JsonDict, Timestamps, UuidPk, json_dict
from grimnir.store.types import enum_type

# NOTE: MariaDB's BLOB holds only 64 KiB; a detailed waveform can be larger.
Waveform = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class MediaItem(UuidPk, Timestamps, Base):
    """An audio file in a station's library.

    A file is identified by its content (``sha256``, unique per station) so a
    moved or renamed file is not ingested twice. Times are in milliseconds
    from the start of the file; levels in LUFS/LU/dBTP/dB as measured by the
    analyser. Only ``READY`` items are scheduled.
    """

    __tablename__ = "media_items"
    __table_args__ = (
        UniqueConstraint("station_id", "sha256"),
        Index(None, "station_id", "state"),
        Index(None, "station_id", "artist"),
        # NOTE: the library's other sort keys: a page is a walk of the index, not a
        # sort of every item of the station (migration 0005)
        Index(None, "station_id", "title"),
        Index(None, "station_id", "created_at"),
        Index(None, "station_id", "duration_ms"),
        CheckConstraint("size_bytes >= 0", name="size_nonneg"),
        CheckConstraint("duration_ms >= 0", name="duration_nonneg"),
        CheckConstraint("cue_in_ms >= 0", name="cue_in_nonneg"),
        CheckConstraint("cue_out_ms > cue_in_ms", name="cue_out_after_cue_in"),
        CheckConstraint("analysis_attempts >= 0", name="attempts_nonneg"),
        CheckConstraint("play_count >= 0", name="play_count_nonneg"),
    )

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))

    # the file
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(String(32))
    sample_rate_hz: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)

    # tags
    title: Mapped[str | None] = mapped_column(String(255))
    artist: Mapped[str | None] = mapped_column(String(255))
    album: Mapped[str | None] = mapped_column(String(255))
    album_artist: Mapped[str | None] = mapped_column(String(255))
    genre: Mapped[str | None] = mapped_column(String(128))
    mood: Mapped[str | None] = mapped_column(String(128))
    year: Mapped[int | None] = mapped_column(Integer)
    bpm: Mapped[float | None] = mapped_column(Double)
    isrc: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(255))
    composer: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(32))
    track_number: Mapped[int | None] = mapped_column(Integer)
    disc_number: Mapped[int | None] = mapped_column(Integer)
    explicit: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    replaygain_track_gain_db: Mapped[float | None] = mapped_column(Double)
    replaygain_track_peak: Mapped[float | None] = mapped_column(Double)
    replaygain_album_gain_db: Mapped[float | None] = mapped_column(Double)
    replaygain_album_peak: Mapped[float | None] = mapped_column(Double)
    custom_tags: Mapped[JsonDict] = mapped_column(default=json_dict)
    artwork_path: Mapped[str | None] = mapped_column(String(1024))

    # analysis
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    loudness_lufs: Mapped[float | None] = mapped_column(Double)
    loudness_range_lu: Mapped[float | None] = mapped_column(Double)
    true_peak_dbtp: Mapped[float | None] = mapped_column(Double)
    gain_db: Mapped[float | None] = mapped_column(Double)
    cue_in_ms: Mapped[int] = mapped_column(Integer, default=0)
    cue_out_ms: Mapped[int | None] = mapped_column(Integer)
    intro_end_ms: Mapped[int | None] = mapped_column(Integer)
    segue_ms: Mapped[int | None] = mapped_column(Integer)
    waveform: Mapped[bytes | None] = mapped_column(Waveform)

    # ingest state
    state: Mapped[MediaState] = mapped_column(
        enum_type(MediaState, "state"), default=MediaState.PENDING
    )
    failed_reason: Mapped[str | None] = mapped_column(Text)
    analysis_attempts: Mapped[int] = mapped_column(Integer, default=0)
    analysis_started_at: Mapped[datetime | None]

    # airplay
    play_count: Mapped[int] = mapped_column(Integer, default=0)
    last_played_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<MediaItem {self.artist!r} – {self.title!r} ({self.state.value})>"
