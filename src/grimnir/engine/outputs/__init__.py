"""Outputs: where a station's encoded audio goes (files, Icecast servers, counters).

Every output takes bytes through ``write`` without ever stalling the block
loop and reports its health through ``state``, ``last_error`` and counters.
"""

from grimnir.engine.outputs._base import DropOldestQueue, Output, OutputState
from grimnir.engine.outputs._file import DEFAULT_MAX_QUEUED_BYTES, FileOutput, Finalizer
from grimnir.engine.outputs._icecast import IcecastOutput, IcecastTarget, StreamInfo
from grimnir.engine.outputs._null import NullOutput

__all__ = [
    "DEFAULT_MAX_QUEUED_BYTES",
    "DropOldestQueue",
    "FileOutput",
    "Finalizer",
    "IcecastOutput",
    "IcecastTarget",
    "NullOutput",
    "Output",
    "OutputState",
    "StreamInfo",
]
