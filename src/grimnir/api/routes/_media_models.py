"""Bodies of the media routes: an item out, a tag and cue point edit in, a waveform out."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from grimnir.domain import MediaState
from grimnir.library import MAX_CUSTOM_BYTES, MAX_TAG_BYTES
from grimnir.store.models import MediaItem

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")

Tag255 = Annotated[str, Field(max_length=255)]
Tag128 = Annotated[str, Field(max_length=128)]
CustomValue = str | int | float | bool | None
CUES = frozenset({"cue_in_ms", "cue_out_ms", "intro_end_ms", "segue_ms"})
_MAX_MS = 2**31 - 1
"""The largest time the database holds (a 32-bit integer column)."""


def _cue(what: str) -> Any:
    return Field(default=None, ge=0, le=_MAX_MS, description=what)


class MediaOut(BaseModel):
    """A library item: its tags, what the analysis measured and its ingest state."""

    id: uuid.UUID
    station_id: uuid.UUID
    state: MediaState
    failed_reason: str | None
    title: str | None
    artist: str | None
    album: str | None
    album_artist: str | None
    genre: str | None
    mood: str | None
    year: int | None
    bpm: float | None
    isrc: str | None
    label: str | None
    composer: str | None
    language: str | None
    track_number: int | None
    disc_number: int | None
    explicit: bool
    comment: str | None
    custom_tags: dict[str, Any]
    format: str | None
    sample_rate_hz: int | None
    channels: int | None
    bitrate_kbps: int | None
    size_bytes: int
    sha256: str
    duration_ms: int | None
    loudness_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    gain_db: float | None
    cue_in_ms: int
    cue_out_ms: int | None
    intro_end_ms: int | None
    segue_ms: int | None
    has_artwork: bool
    has_waveform: bool
    play_count: int
    last_played_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: MediaItem) -> MediaOut:
        values = {name: getattr(item, name) for name in cls.model_fields if hasattr(item, name)}
        values["has_artwork"] = item.artwork_path is not None
        values["has_waveform"] = bool(item.waveform)
        values["custom_tags"] = dict(item.custom_tags or {})
        values["cue_in_ms"] = item.cue_in_ms or 0
        return cls.model_validate(values)


class MediaUploaded(MediaOut):
    """An upload that was kept: always ``ready``, and what is wrong with it that it
    plays through (an upload that cannot go on air is refused instead)."""

    warnings: list[str] = Field(
        default_factory=list,
        description=(
            "Problems the item can live with: unreadable tags, a few corrupt packets, "
            "a file cut short (it plays the audio that decodes)."
        ),
    )


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class MediaPatch(BaseModel):
    """Tags and cue points to change; fields left out stay, ``null`` clears one.

    Cue points are milliseconds from the start of the file, checked together
    (the new ones with the stored ones not sent) against the item's duration:
    0 ≤ cue_in_ms < cue_out_ms ≤ duration_ms, at least 1000 ms apart;
    cue_in_ms ≤ intro_end_ms ≤ cue_out_ms; cue_in_ms < segue_ms ≤ cue_out_ms.
    Only a ready item takes them.
    """

    model_config = ConfigDict(extra="forbid")

    title: Tag255 | None = None
    artist: Tag255 | None = None
    album: Tag255 | None = None
    album_artist: Tag255 | None = None
    genre: Tag128 | None = None
    mood: Tag128 | None = None
    year: int | None = Field(default=None, ge=1000, le=2999)
    bpm: float | None = Field(default=None, gt=0, le=999, allow_inf_nan=False)
    isrc: str | None = Field(
        default=None, max_length=15, description="e.g. USRC17607839 (hyphens allowed)."
    )
    label: Tag255 | None = None
    composer: Tag255 | None = None
    language: str | None = Field(default=None, max_length=32)
    track_number: int | None = Field(default=None, ge=1, le=9999)
    disc_number: int | None = Field(default=None, ge=1, le=999)
    explicit: bool | None = None
    comment: str | None = Field(default=None, max_length=MAX_TAG_BYTES)
    custom_tags: dict[Annotated[str, Field(min_length=1, max_length=255)], CustomValue] | None = (
        Field(default=None, description="Replaces all custom tags (values: text, number, bool).")
    )
    cue_in_ms: int | None = _cue("Where airplay starts; null: at the start of the file (0).")
    cue_out_ms: int | None = _cue("Where airplay ends; null: at the end of the file.")
    intro_end_ms: int | None = _cue("Where the intro ends (talk-over up to here); null: none.")
    segue_ms: int | None = _cue("Where the next item may start; null: at cue_out_ms.")

    _strings = field_validator(
        "title",
        "artist",
        "album",
        "album_artist",
        "genre",
        "mood",
        "label",
        "composer",
        "language",
        "comment",
    )(_no_nul)

    @field_validator("isrc")
    @classmethod
    def _isrc(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.replace("-", "").strip().upper()
        if not _ISRC.match(code):
            raise ValueError("an ISRC is 12 characters: CC-XXX-YY-NNNNN, e.g. USRC17607839")
        return code

    @field_validator("custom_tags")
    @classmethod
    def _custom(cls, value: dict[str, CustomValue] | None) -> dict[str, CustomValue] | None:
        if value is None:
            return None
        size = 0
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
            length = len(key.encode()) + (len(item.encode()) if isinstance(item, str) else 8)
            if length > MAX_TAG_BYTES:
                raise ValueError(f"custom tag {key[:40]!r} is over {MAX_TAG_BYTES} bytes")
            size += length
        if size > MAX_CUSTOM_BYTES:
            raise ValueError(f"custom tags hold over {MAX_CUSTOM_BYTES} bytes in all")
        if any(isinstance(v, float) and v != v for v in value.values()):
            raise ValueError("custom tag numbers must be finite")
        return value

    def cue_points(self) -> dict[str, int | None]:
        """The cue points the client sent (``null`` as sent: the service reads it)."""
        return {name: getattr(self, name) for name in self.model_fields_set & CUES}

    def changes(self) -> dict[str, Any]:
        """The tags the client sent, cleaned (text trimmed, empty text as ``null``)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set - CUES:
            value = getattr(self, name)
            if isinstance(value, str):
                value = value.strip() or None
            if name == "explicit" and value is None:
                value = False
            if name == "custom_tags" and value is None:
                value = {}
            out[name] = value
        return out


class WaveformOut(BaseModel):
    """Peaks of the mono mix: ``min[i]``/``max[i]`` cover ``resolution_ms`` each."""

    resolution_ms: int
    duration_ms: int
    min: list[int]
    max: list[int]


def waveform_out(data: bytes, duration_ms: int) -> WaveformOut:
    """Split the stored (min, max) signed byte pairs; the step is the divisor of a
    second that gives as many pairs as stored (the analysis picks one)."""
    values = memoryview(data).cast("b").tolist()
    pairs = len(values) // 2
    steps = [d for d in range(10, 1001) if 1000 % d == 0 and -(-duration_ms // d) == pairs]
    step = steps[0] if steps else max(1, round(duration_ms / max(pairs, 1)))
    return WaveformOut(
        resolution_ms=step, duration_ms=duration_ms, min=values[0::2], max=values[1::2]
    )


class MediaBulkPatch(BaseModel):
    """The same tag changes for several items at once (all of them or none)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] = Field(min_length=1, max_length=500, description="Up to 500 items.")
    changes: MediaPatch = Field(description="Tags to set on each; cue points are per item.")

    @field_validator("ids")
    @classmethod
    def _unique(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(value))

    @field_validator("changes")
    @classmethod
    def _tags_only(cls, value: MediaPatch) -> MediaPatch:
        cues = sorted(value.model_fields_set & CUES)
        if cues:
            raise ValueError(
                f"{', '.join(cues)}: cue points belong to one item; set them on each "
                "(PATCH …/media/{id})"
            )
        if not value.model_fields_set:
            raise ValueError('say which tags to change (e.g. {"genre": "Jazz"})')
        return value


class MediaBulkOut(BaseModel):
    """What a change of several items did."""

    updated: int
    items: list[MediaOut]


class ReanalyzeBody(BaseModel):
    """Items to analyse again."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] = Field(
        min_length=1, max_length=20, description="Up to 20 items (send more in turns)."
    )


class ReanalyzeOut(BaseModel):
    """The items as the new analysis left them (ready, or failed with the reason)."""

    ready: int
    failed: int
    items: list[MediaOut]
