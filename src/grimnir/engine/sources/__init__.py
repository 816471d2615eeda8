"""Where the engine's audio comes from: files, and the interface every source implements."""

from grimnir.engine.sources._analysis import AnalysisRequest, AnalysisResult, Analyzer
from grimnir.engine.sources._base import FrameBuffer, Source
from grimnir.engine.sources._decode import DecodedStream
from grimnir.engine.sources._file import FileSource

__all__ = [
    "AnalysisRequest",
    "AnalysisResult",
    "Analyzer",
    "DecodedStream",
    "FileSource",
    "FrameBuffer",
    "Source",
]
