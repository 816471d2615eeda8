"""A live DJ's stream pushed to the harbor, decoded as it arrives.

The harbor's HTTP server owns the connection and hands each body chunk to
``PushSource.feed``; a worker thread decodes the bytes with FFmpeg. The
server thread never waits on us: the byte queue is bounded and drops its
oldest bytes when a client pushes faster than real time.
"""

from __future__ import annotations

from collections.abc import Callable

import av

from grimnir.domain.errors import EngineError
from grimnir.engine.sources._netdecode import (
    PROBE_OPTIONS,
    BytePipe,
    LiveSource,
    decode_audio,
    ffmpeg_reason,
    format_for,
)

DEFAULT_MAX_QUEUED_BYTES = 256 * 1024
"""Encoded bytes waiting for the decoder: ~16 s of 128 kbit/s MP3 before the oldest go."""


class PushSource(LiveSource):
    """Audio whose encoded bytes another thread pushes in (a harbor source client).

    ``content_type`` (the client's Content-Type header) picks the demuxer:
    MP3, ADTS AAC, Ogg (Vorbis, Opus, FLAC) or WebM; anything else is probed.
    ``feed`` and ``metadata`` are cheap and never raise or block, so the
    server's event loop can call them directly. ``end`` marks the client's
    disconnect: the source finishes once the buffered audio has played.
    Bytes that cannot be decoded set ``error`` and finish the source.
    """

    def __init__(
        self,
        content_type: str | None = None,
        *,
        name: str = "live",
        prebuffer_ms: int = 200,
        buffer_ms: int = 2000,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        on_metadata: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, prebuffer_ms=prebuffer_ms, buffer_ms=buffer_ms)
        self.content_type = content_type
        self._format = format_for(content_type)
        self._pipe = BytePipe(max_queued_bytes)
        self._on_metadata = on_metadata
        self._ended = False
        self.end_reason: str | None = None
        self.bytes_in = 0

    # -- called by the server ------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Take a chunk of the client's body (from any thread; never blocks)."""
        if self._ended or self._closed or not data:
            return
        self.bytes_in += len(data)
        self._pipe.write(data)

    def end(self, reason: str = "the source client disconnected") -> None:
        """The client has gone: play out what is buffered, then finish."""
        if self._ended:
            return
        self._ended = True
        self.end_reason = reason
        self._pipe.end()

    def metadata(self, title: str) -> None:
        """The DJ's now-playing title (from ``/admin/metadata``)."""
        self._set_title(title)

    # -- state ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """The client is still connected (``end`` not called, not closed)."""
        return not self._ended and not self._closed

    @property
    def dropped_bytes(self) -> int:
        """Pushed bytes thrown away: the queue overflowed, or they came after the end."""
        return self._pipe.dropped_bytes

    # -- worker --------------------------------------------------------------

    def _interrupt(self) -> None:
        self._pipe.close()

    def _describe(self, exc: BaseException) -> str:
        kind = self.content_type or "unknown content type"
        return (
            f"{self.name}: cannot decode the pushed stream ({kind}): {ffmpeg_reason(exc)}; "
            "check the encoder's format and Content-Type (MP3, AAC, Ogg Vorbis/Opus)"
        )

    def _work(self) -> None:
        try:
            with av.open(
                self._pipe, format=self._format, options=PROBE_OPTIONS, metadata_errors="ignore"
            ) as container:
                for chunk in decode_audio(container, self._stopping):
                    if not self._deliver(chunk):
                        return
            if self._last_audio_at is None and not self._stopping.is_set():
                raise EngineError("no audio found in the data")
        finally:
            self._pipe.close()  # later feeds are dropped, not queued for nobody
