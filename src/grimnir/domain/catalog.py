"""Small enums shared by the store, the planner and the executor."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

MP3_BITRATES: Final = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
"""The bitrates (kbit/s) an MPEG-1 Layer III stream at 48 kHz can have (CBR)."""


class Role(StrEnum):
    """What a user may do on a station (``ADMIN`` may do everything everywhere)."""

    ADMIN = "admin"
    MANAGER = "manager"
    DJ = "dj"


class MediaState(StrEnum):
    """Where a media item is in ingest. Only ``READY`` items reach the planner."""

    PENDING = "pending"
    ANALYZING = "analyzing"
    READY = "ready"
    FAILED = "failed"


class SlotKind(StrEnum):
    """What a clock slot is filled with."""

    SMART_BLOCK = "smart_block"
    PLAYLIST = "playlist"
    HARD_ITEM = "hard_item"
    STOPSET = "stopset"
    WEBSTREAM = "webstream"
    LIVE = "live"


class ShowExceptionKind(StrEnum):
    """How one occurrence of a recurring show differs from its rule."""

    CANCEL = "cancel"
    MOVE = "move"
    SUBSTITUTE = "substitute"


class EntryKind(StrEnum):
    """What a timeline entry puts on air."""

    TRACK = "track"
    JINGLE = "jingle"
    WEBSTREAM = "webstream"
    LIVE = "live"
    STOPSET = "stopset"


class EntryStatus(StrEnum):
    """A timeline entry's life: planned until it airs; aired entries never change."""

    PLANNED = "planned"
    QUEUED = "queued"
    ON_AIR = "on_air"
    AIRED = "aired"
    SKIPPED = "skipped"


class EndReason(StrEnum):
    """How an aired item left the air (the as-run log records it)."""

    FINISHED = "finished"
    SKIPPED = "skipped"
    PREEMPTED = "preempted"
    ERROR = "error"


class OutputKind(StrEnum):
    """Where a mount's encoded audio goes."""

    ICECAST = "icecast"
    HTTP = "http"
    HLS = "hls"
    RECORDING = "recording"
    FILE = "file"
    NULL = "null"


class AudioFormat(StrEnum):
    """Encoded formats the outputs speak."""

    MP3 = "mp3"
    AAC = "aac"
    OPUS = "opus"
    VORBIS = "vorbis"
    FLAC = "flac"
    WAV = "wav"
