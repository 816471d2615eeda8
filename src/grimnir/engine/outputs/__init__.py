"""Outputs: where a station's encoded audio goes (files, Icecast, HLS, recordings).

Every output takes bytes through ``write`` without ever stalling the block
loop and reports its health through ``state``, ``last_error`` and counters.
"""

from grimnir.engine.outputs._base import DropOldestQueue, Output, OutputState
from grimnir.engine.outputs._file import DEFAULT_MAX_QUEUED_BYTES, FileOutput, Finalizer
from grimnir.engine.outputs._hls import PLAYLIST_NAME, HlsOutput
from grimnir.engine.outputs._icecast import (
    IcecastOutput,
    IcecastTarget,
    StreamInfo,
    parse_listclients,
)
from grimnir.engine.outputs._null import NullOutput
from grimnir.engine.outputs._recording import RecordingOutput

__all__ = [
    "DEFAULT_MAX_QUEUED_BYTES",
    "PLAYLIST_NAME",
    "DropOldestQueue",
    "FileOutput",
    "Finalizer",
    "HlsOutput",
    "IcecastOutput",
    "IcecastTarget",
    "NullOutput",
    "Output",
    "OutputState",
    "RecordingOutput",
    "StreamInfo",
    "parse_listclients",
]
