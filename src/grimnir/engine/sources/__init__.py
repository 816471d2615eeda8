"""Where the engine's audio comes from: files, feeds (``feeds.open_feed``: a URL item
by its scheme) and live inputs, and the interface every source implements."""

from grimnir.engine.sources._analysis import AnalysisRequest, AnalysisResult, Analyzer
from grimnir.engine.sources._base import FrameBuffer, Source, Stalling
from grimnir.engine.sources._decode import DecodedStream
from grimnir.engine.sources._file import FileSource
from grimnir.engine.sources._live import PushSource
from grimnir.engine.sources._netdecode import LiveSource
from grimnir.engine.sources._network import ReopeningSource, RtpSource, SrtSource
from grimnir.engine.sources._timed import TimedSource
from grimnir.engine.sources._webchain import StreamHealth, WebStreamChain
from grimnir.engine.sources._webstream import WebStreamSource
from grimnir.engine.sources.feeds import FEED_SCHEMES, is_feed, open_feed

__all__ = [
    "FEED_SCHEMES",
    "AnalysisRequest",
    "AnalysisResult",
    "Analyzer",
    "DecodedStream",
    "FileSource",
    "FrameBuffer",
    "LiveSource",
    "PushSource",
    "ReopeningSource",
    "RtpSource",
    "Source",
    "SrtSource",
    "Stalling",
    "StreamHealth",
    "TimedSource",
    "WebStreamChain",
    "WebStreamSource",
    "is_feed",
    "open_feed",
]
