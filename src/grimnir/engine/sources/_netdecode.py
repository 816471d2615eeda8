"""The machinery every live network input shares: a byte pipe, a decoder, a jitter buffer.

Live audio (a DJ on the harbor, a web stream, RTP, SRT) arrives at the pace
of the sender, not of our clock. A worker thread decodes it with FFmpeg
(PyAV) to 48 kHz stereo float32 into a bounded buffer; the block loop only
copies out of it and never waits. A short prebuffer absorbs network jitter,
and a buffer that overflows (a sender faster than real time, or nobody
reading) drops its oldest audio so latency stays bounded.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import av
import av.error
import numpy as np

from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import RATE, Block, silence
from grimnir.engine.outputs import DropOldestQueue
from grimnir.engine.sources._base import FrameBuffer, Source, Stalling

_FORMATS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
    "audio/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/webm": "webm",
}
"""Content types a source client sends, mapped to FFmpeg demuxers (AAC is ADTS)."""

PROBE_OPTIONS = {"probesize": "16384", "analyzeduration": "200000"}
"""Keep FFmpeg's stream probing short so live audio starts within a fraction of a second."""

_MAX_BAD_PACKETS = 100
"""Corrupt packets in a row skipped (as ffmpeg does) before the stream counts as broken."""

_JOIN_S = 0.5


def format_for(content_type: str | None) -> str | None:
    """The FFmpeg demuxer for a content type; None lets FFmpeg probe the bytes."""
    if not content_type:
        return None
    return _FORMATS.get(content_type.split(";")[0].strip().lower())


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's (or the OS's) short reason for ``exc``."""
    if isinstance(exc, av.error.FFmpegError | OSError) and exc.strerror:
        reason = str(exc.strerror)
        # NOTE: FFmpeg has no text for some demuxer codes; say what they mean here.
        return "no readable audio in the data" if reason.startswith("Error number") else reason
    return str(exc) or type(exc).__name__


class BytePipe:
    """A thread-safe, bounded byte queue with a blocking file-like ``read`` for FFmpeg.

    ``write`` never waits: past ``max_bytes`` the oldest bytes go (counted in
    ``dropped_bytes``), because the writer is a network server thread that
    must not stall. ``read`` waits for data and returns b"" (end of file)
    after ``end`` once everything was read, or at once after ``close``.
    """

    def __init__(self, max_bytes: int) -> None:
        self._queue = DropOldestQueue(max_bytes)
        self._buf = b""
        self._pos = 0
        self._ended = False
        self._closed = False
        self.dropped_bytes = 0
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)

    def write(self, data: bytes) -> None:
        """Queue ``data``; dropped when the pipe has ended or closed."""
        with self._lock:
            if self._ended or self._closed:
                self.dropped_bytes += len(data)
                return
            self.dropped_bytes += self._queue.push(data)
            self._ready.notify()

    def end(self) -> None:
        """No more data: the reader gets end of file once it has read what is queued."""
        with self._lock:
            self._ended = True
            self._ready.notify_all()

    def close(self) -> None:
        """Drop what is queued and make ``read`` return end of file at once."""
        with self._lock:
            self._closed = True
            self._queue.drain()
            self._buf = b""
            self._ready.notify_all()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (at least one), waiting for them; b"" at the end."""
        with self._lock:
            while True:
                if self._closed:
                    return b""
                if self._pos >= len(self._buf) and self._queue:
                    self._buf, self._pos = b"".join(self._queue.drain()), 0
                if self._pos < len(self._buf):
                    end = len(self._buf) if size < 0 else self._pos + size
                    out = self._buf[self._pos : end]
                    self._pos += len(out)
                    return out
                if self._ended:
                    return b""
                self._ready.wait()


def decode_audio(container: Any, stopping: threading.Event) -> Iterator[Block]:
    """The first audio stream of an open container as 48 kHz stereo float32 chunks.

    Timestamps are ignored (live streams jump and wrap); chunks follow each
    other without gaps. Mono plays on both channels at full level. A change
    of format mid-stream (a DJ's encoder restarting, chained Ogg) gets a new
    resampler. Raises FFmpeg's error when the stream cannot be decoded.
    """
    if not container.streams.audio:
        raise EngineError("the stream has no audio")
    stream = container.streams.audio[0]
    resampler: av.AudioResampler | None = None
    key: tuple[str, str, int] | None = None
    mono = False
    bad = 0
    for packet in container.demux(stream):
        if stopping.is_set():
            return
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad += 1
            if bad > _MAX_BAD_PACKETS:
                raise
            continue
        bad = 0
        for frame in frames:
            frame_key = (frame.format.name, frame.layout.name, frame.sample_rate)
            if resampler is None or frame_key != key:
                key, mono = frame_key, frame.layout.nb_channels == 1
                resampler = av.AudioResampler(
                    format="fltp", layout="mono" if mono else "stereo", rate=RATE
                )
            frame.pts = None  # NOTE: live timestamps jump; the resampler must not fill gaps
            for out in resampler.resample(frame):
                data = np.asarray(out.to_ndarray(), dtype=np.float32)
                yield np.concatenate((data, data)) if mono else data


class LiveSource(Stalling, Source):
    """A source fed by a worker thread at the sender's pace, read without waiting.

    ``read`` delivers nothing until ``prebuffer_ms`` of audio is decoded, then
    plays; a read it cannot fill counts as an underrun, reports the real
    frame count (so the mixer sees the gap) and prebuffers again. The buffer
    holds at most ``buffer_ms``; beyond that the oldest audio is dropped
    (``dropped_frames``). Subclasses implement ``_work`` (run on the worker
    thread) and call ``_deliver`` with each decoded chunk.
    """

    def __init__(self, name: str, *, prebuffer_ms: int = 200, buffer_ms: int = 2000) -> None:
        if prebuffer_ms < 0 or buffer_ms <= prebuffer_ms:
            raise EngineError(
                f"{name}: buffer_ms ({buffer_ms}) must be larger than prebuffer_ms "
                f"({prebuffer_ms}), and prebuffer_ms 0 or more"
            )
        self.name = name
        self._buffer = FrameBuffer(millis_to_frames(Millis(buffer_ms)))
        self._prebuffer = int(millis_to_frames(Millis(prebuffer_ms)))
        self._primed = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._error: str | None = None
        self._underruns = 0
        self._position = 0
        self.dropped_frames = 0
        self._started_at = time.monotonic()
        self._last_audio_at: float | None = None
        self._title: str | None = None
        self._on_metadata: Callable[[str], None] | None = None

    # -- Source ------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (once; later calls do nothing)."""
        if self._thread is not None or self._closed:
            return
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def read(self, frames: int) -> tuple[Block, int]:
        """The next ``frames`` frames, never waiting; zeros where no audio has arrived."""
        out = silence(frames)
        got = self._take(out)
        self._count_dry(got, frames)
        return out, got

    def _take(self, out: Block) -> int:
        frames = int(out.shape[1])
        buffer = self._buffer
        if self._closed:
            return 0
        if not self._primed:
            if buffer.frames < max(1, self._prebuffer) and not buffer.done:
                return 0
            self._primed = True
        got = buffer.take(out, wait=False)
        self._position += got
        if got < frames and not buffer.done:
            self._underruns += 1
            self._primed = False
        return got

    @property
    def finished(self) -> bool:
        return self._closed or self._buffer.drained

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def position_frames(self) -> int:
        return self._position

    @property
    def duration_frames(self) -> int | None:
        """None: a live stream has no known length."""
        return None

    @property
    def buffered_frames(self) -> int:
        return self._buffer.frames

    def close(self) -> None:
        """Stop the worker, drop the buffer and wait briefly for the thread."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._interrupt()
        self._buffer.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_JOIN_S)

    # -- live state --------------------------------------------------------

    @property
    def last_audio_at(self) -> float | None:
        """``time.monotonic()`` when audio was last decoded; None before the first."""
        return self._last_audio_at

    def stalled_for(self, now: float) -> float:
        """Seconds without decoded audio at ``now`` (counted from ``start`` before any)."""
        last = self._last_audio_at if self._last_audio_at is not None else self._started_at
        return max(0.0, now - last)

    @property
    def title(self) -> str | None:
        """The latest now-playing title the sender gave; None if none yet."""
        return self._title

    def _set_title(self, title: str) -> None:
        if title == self._title:
            return
        self._title = title
        callback = self._on_metadata
        if callback is not None:
            try:
                callback(title)
            except Exception as exc:  # NOTE: a listener's bug must not kill the input
                self._error = f"{self.name}: the metadata callback failed: {exc!r}"

    # -- worker ------------------------------------------------------------

    @abc.abstractmethod
    def _work(self) -> None:
        """Produce audio with ``_deliver`` until stopped or the stream ends; may raise."""

    def _interrupt(self) -> None:
        """Wake a worker blocked on I/O so it sees the stop (close calls it)."""

    def _describe(self, exc: BaseException) -> str:
        """The ``error`` text for a failure of the worker."""
        return f"{self.name}: cannot decode the stream ({ffmpeg_reason(exc)})"

    def _run(self) -> None:
        try:
            self._work()
        except Exception as exc:  # NOTE: every failure ends as `error`, never escapes
            if not self._stopping.is_set():
                self._error = self._describe(exc)
        finally:
            self._buffer.finish()

    def _deliver(self, chunk: Block) -> bool:
        """Buffer a decoded chunk, dropping the oldest audio if full; False once closed."""
        buffer = self._buffer
        excess = buffer.frames + chunk.shape[1] - buffer.capacity_frames
        if excess > 0:
            self.dropped_frames += buffer.take(silence(excess), wait=False)
        self._last_audio_at = time.monotonic()
        return buffer.put(chunk)
