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
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, validates

from grimnir.domain import MediaState
from grimnir.domain.text import fold
from grimnir.store.models._base import Base, JsonDict, Timestamps, UuidPk, json_dict
from grimnir.store.types import enum_type

# NOTE: MariaDB's BLOB holds only 64 KiB; a detailed waveform can be larger.
Waveform = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

SEARCH_SEPARATOR = "\x1f"
"""Between the fields of ``search_text`` (a control character no search holds)."""


def search_key(title: str | None, artist: str | None, album: str | None) -> str:
    """What the library's text search looks in: title, artist and album, folded."""
    return fold(SEARCH_SEPARATOR.join(v or "" for v in (title, artist, album)))


_SEARCH_PREFIX = {"search_text": 100}


def _search_default(context: DefaultExecutionContext) -> str:
    # NOTE: rows inserted without the ORM (bulk imports, tests) get theirs too
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return search_key(row.get("title"), row.get("artist"), row.get("album"))


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
        # NOTE: an index per sort key of the library's pages, with the tie-breaks
        # (title, id) and the search text: a page, searched or not, is a walk of one
        # index, and rows a deep offset skips are never read (SQLite keeps the
        # waveforms in the rows: reading 100k of them reads hundreds of MB).
        # MariaDB indexes a prefix of the search text (its key length limit).
        Index(
            None, "station_id", "artist", "title", "id", "search_text", mysql_length=_SEARCH_PREFIX
        ),
        Index(None, "station_id", "title", "id", "search_text", mysql_length=_SEARCH_PREFIX),
        Index(
            None,
            "station_id",
            "created_at",
            "title",
            "id",
            "search_text",
            mysql_length=_SEARCH_PREFIX,
        ),
        Index(
            None,
            "station_id",
            "duration_ms",
            "title",
            "id",
            "search_text",
            mysql_length=_SEARCH_PREFIX,
        ),
        # NOTE: the narrowest: how many match a search
        Index(None, "station_id", "search_text", mysql_length=_SEARCH_PREFIX),
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
    search_text: Mapped[str] = mapped_column(String(800), default=_search_default)
    """Title, artist and album folded, for the library's search (kept by the ORM)."""
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

    @validates("title", "artist", "album")
    def _keep_search_text(self, key: str, value: str | None) -> str | None:
        values = {"title": self.title, "artist": self.artist, "album": self.album, key: value}
        self.search_text = search_key(values["title"], values["artist"], values["album"])
        return value

    def __repr__(self) -> str:
        return f"<MediaItem {self.artist!r} – {self.title!r} ({self.state.value})>"
