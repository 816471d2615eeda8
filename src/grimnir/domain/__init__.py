"""Plain domain types shared by every part: no I/O, no imports of ours."""

from grimnir.domain.catalog import (
    AudioFormat,
    EndReason,
    EntryKind,
    EntryStatus,
    MediaState,
    OutputKind,
    Role,
    ShowExceptionKind,
    SlotKind,
)
from grimnir.domain.errors import (
    ConfigError,
    ConflictError,
    EngineError,
    GrimnirError,
    InvalidTransitionError,
    LibraryError,
    NotFoundError,
    PlannerError,
    StoreError,
)
from grimnir.domain.fades import CuePoints, FadeCurve, Timing
from grimnir.domain.layers import COMMAND_LAYERS, Layer
from grimnir.domain.priority import Priority
from grimnir.domain.state import ExecutorState
from grimnir.domain.units import (
    BLOCK_FRAMES,
    BLOCK_MILLIS,
    CHANNELS,
    SAMPLE_RATE,
    Frames,
    Millis,
    blocks_in,
    frames_to_millis,
    millis_to_frames,
    seconds_to_millis,
)
from grimnir.domain.urls import mask_url

__all__ = [
    "BLOCK_FRAMES",
    "BLOCK_MILLIS",
    "CHANNELS",
    "COMMAND_LAYERS",
    "SAMPLE_RATE",
    "AudioFormat",
    "ConfigError",
    "ConflictError",
    "CuePoints",
    "EndReason",
    "EngineError",
    "EntryKind",
    "EntryStatus",
    "ExecutorState",
    "FadeCurve",
    "Frames",
    "GrimnirError",
    "InvalidTransitionError",
    "Layer",
    "LibraryError",
    "MediaState",
    "Millis",
    "NotFoundError",
    "OutputKind",
    "PlannerError",
    "Priority",
    "Role",
    "ShowExceptionKind",
    "SlotKind",
    "StoreError",
    "Timing",
    "blocks_in",
    "frames_to_millis",
    "mask_url",
    "millis_to_frames",
    "seconds_to_millis",
]
