"""Play a media file: decode ahead on a worker thread, sample-accurate cue points.

Anything FFmpeg decodes plays (MP3, AAC/M4A, Ogg Vorbis, Opus, FLAC, WAV; mono
or stereo; any sample rate). PyAV releases the GIL while decoding, so the
worker keeps a bounded buffer full while the block loop only copies from it.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import av
import av.error
import numpy as np

from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import Block, db_to_gain, silence
from grimnir.engine.sources._analysis import AnalysisRequest, AnalysisResult, Analyzer
from grimnir.engine.sources._base import FrameBuffer, Source
from grimnir.engine.sources._decode import DecodedStream

_STALL_S = 30.0
"""Blocking reads give up on a decoder that made no progress for this long
(a hung network share, say), so an offline render ends instead of hanging."""

_JOIN_S = 0.5
"""``close`` waits at most this long for the worker; it checks for a stop
between packets, so it normally ends within a millisecond."""


class FileSource(Source):
    """One media file between its cue points, at a fixed gain.

    ``blocking=True`` (virtual clock: offline render, tests) makes ``read``
    wait for the decoder, so output is deterministic and never underruns.
    ``blocking=False`` (real time) makes ``read`` return at once: whatever is
    buffered plus zeros, counted as an underrun once the item has begun
    (before its first frames, as ``start_waits``). A file that cannot be
    decoded finishes the source with ``error`` set; ``read`` never raises.

    With ``analyze`` the worker first measures the whole file and then plays
    it levelled to the target loudness and trimmed to the audio above the
    silence threshold, within any cue points given (see ``AnalysisRequest``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        cue_in_ms: int = 0,
        cue_out_ms: int | None = None,
        gain_db: float = 0.0,
        blocking: bool,
        buffer_ms: int = 10_000,
        analyze: AnalysisRequest | None = None,
    ) -> None:
        self.path = Path(path)
        if cue_in_ms < 0:
            raise EngineError(f"{self.path}: cue-in must be 0 ms or later, got {cue_in_ms} ms")
        if cue_out_ms is not None and cue_out_ms <= cue_in_ms:
            raise EngineError(
                f"{self.path}: cue-out ({cue_out_ms} ms) must come after cue-in "
                f"({cue_in_ms} ms); fix the item's cue points"
            )
        if not math.isfinite(gain_db):
            raise EngineError(f"{self.path}: gain must be a finite number of dB, got {gain_db}")
        if buffer_ms <= 0:
            raise EngineError(f"{self.path}: buffer_ms must be positive, got {buffer_ms}")
        self._start_frame = int(millis_to_frames(Millis(cue_in_ms)))
        self._stop_frame = None if cue_out_ms is None else int(millis_to_frames(Millis(cue_out_ms)))
        self._gain_db = gain_db
        self._blocking = blocking
        self._request = analyze
        self._buffer = FrameBuffer(millis_to_frames(Millis(buffer_ms)))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._error: str | None = None
        self._underruns = 0
        self.start_waits = 0
        """Reads before the decoder delivered its first frames (not underruns)."""
        self._position = 0
        self._duration: int | None = None
        self._progress_at = time.monotonic()  # the worker's last sign of life
        if self._stop_frame is not None and analyze is None:
            self._duration = self._stop_frame - self._start_frame
        self._analysis: AnalysisResult | None = None

    # -- Source ------------------------------------------------------------

    def start(self) -> None:
        """Start the decoder thread (once; later calls do nothing)."""
        if self._thread is not None or self._closed:
            return
        self._progress_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"decode {self.path.name}", daemon=True
        )
        self._thread.start()

    def read(self, frames: int) -> tuple[Block, int]:
        """The next ``frames`` frames; starts the decoder if ``start`` was not called."""
        out = silence(frames)
        return out, self.read_into(out)

    def read_into(self, out: Block) -> int:
        """The next ``out.shape[1]`` frames, copied straight from the decode buffer."""
        frames = out.shape[1]
        if self._closed:
            out.fill(0.0)
            return 0
        if self._thread is None:
            self.start()
        got = self._buffer.take(out, wait=self._blocking, timeout=1.0)
        while self._blocking and got < frames and not self._buffer.done:
            if self._stalled():
                break
            got += self._buffer.take(out[:, got:], wait=True, timeout=1.0)
        self._position += got
        if got < frames:
            out[:, got:] = 0.0
            if not self._buffer.done:
                if self._position:
                    self._underruns += 1
                else:
                    # NOTE: nothing delivered yet (an item started at once, the engine's
                    # first): the item starts that much later, with no gap in it, so no
                    # dropout (the wait shows as lag and, when long, as silence on air)
                    self.start_waits += 1
        return got

    def settle(self, frames: int) -> None:
        """Offline: wait until ``frames`` are decoded ahead or the decoder reached the end."""
        if not self._blocking or self._closed or frames <= 0:
            return
        if self._thread is None:
            self.start()
        while not self._buffer.wait_for(frames, timeout=1.0):
            if self._stalled():
                return

    def _stalled(self) -> bool:
        """True (and the source failed) once the decoder made no progress for ``_STALL_S``."""
        if time.monotonic() - self._progress_at <= _STALL_S:
            return False
        self._error = (
            f"cannot play {self.path}: the decoder made no progress for "
            f"{_STALL_S:.0f} s; check the disk or network share the file is on"
        )
        self._buffer.close()
        return True

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
        """Playable length between the cue points.

        Before the decoder reaches the end this is the cue span or the
        container's estimate; once it has, it is exact.
        """
        return self._duration

    @property
    def buffered_frames(self) -> int:
        return self._buffer.frames

    @property
    def length_final(self) -> bool:
        """The decoder reached the end (it sets the exact length first) or the source closed."""
        return self._buffer.done

    def close(self) -> None:
        """Stop the decoder, drop the buffer and wait briefly for the thread."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._buffer.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_JOIN_S)

    # -- extras ------------------------------------------------------------

    @property
    def analysis(self) -> AnalysisResult | None:
        """What the analysis pass measured, once it has finished."""
        return self._analysis

    # -- worker ------------------------------------------------------------

    def _run(self) -> None:
        try:
            start, stop, gain_db = self._start_frame, self._stop_frame, self._gain_db
            if self._request is not None:
                result = self._analyse(self._request)
                if result is None:
                    return
                self._analysis = result
                start = max(start, int(millis_to_frames(result.cue_in_ms)))
                end = int(millis_to_frames(result.cue_out_ms))
                stop = max(start, end if stop is None else min(stop, end))
                gain_db = result.gain_db
                self._duration = stop - start
            self._play(start, stop, np.float32(db_to_gain(gain_db)))
        except Exception as exc:  # NOTE: every failure ends as `error`, never escapes
            self._error = _describe(self.path, exc)
        finally:
            self._buffer.finish()

    def _analyse(self, request: AnalysisRequest) -> AnalysisResult | None:
        analyzer = Analyzer(request)
        with DecodedStream(str(self.path), 0, None, self._stopping) as decoded:
            for chunk in decoded.chunks():
                analyzer.feed(chunk)
                self._progress_at = time.monotonic()
        if self._stopping.is_set():
            return None
        return analyzer.result(extra_gain_db=self._gain_db)

    def _play(self, start: int, stop: int | None, gain: np.float32) -> None:
        pushed = 0
        try:
            with DecodedStream(str(self.path), start, stop, self._stopping) as decoded:
                if self._duration is None and decoded.length_frames is not None:
                    self._duration = max(0, decoded.length_frames - start)
                for chunk in decoded.chunks():
                    if gain != 1.0:
                        chunk *= gain
                    self._progress_at = time.monotonic()
                    if not self._buffer.put(chunk):
                        return
                    pushed += chunk.shape[1]
        finally:
            if not self._stopping.is_set():
                self._duration = pushed  # the end (or a failure) makes it exact


def _describe(path: Path, exc: Exception) -> str:
    """A message naming the file and FFmpeg's reason, and what to do about it."""
    if isinstance(exc, av.error.FFmpegError | OSError) and exc.strerror:
        reason = str(exc.strerror)
    else:
        reason = str(exc) or type(exc).__name__
    return (
        f"cannot play {path}: {reason}; check that the file exists and plays "
        "(ffprobe), then replace it or ingest it again"
    )
