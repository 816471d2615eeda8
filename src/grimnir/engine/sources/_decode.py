"""Decode a file's audio to the engine's format, from a cue-in to a cue-out, exactly.

FFmpeg (through PyAV) decodes; its resampler converts to 48 kHz stereo
float32. Positions are exact to the frame: after a seek the decoder runs up
for a moment before the cue and the resampler starts on the same sample grid
a decode from the start would, so a cued file plays the very samples the
uncued file has from that point on.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from grimnir.domain.errors import EngineError
from grimnir.engine.audio import RATE, Block

_PREROLL_S = 0.5
"""Decode this much before a cue-in and throw it away: decoders need a run-up
after a seek (MP3's bit reservoir, AAC/Opus overlap) and the resampler's filter
settles in it, so audio from the cue on is what a decode from the start gives."""

_EXACT_SEEK = frozenset(
    {"wav", "w64", "aiff", "caf", "flac", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
)
"""Demuxers whose timestamps after a seek are exact. Others (MP3, ADTS AAC)
estimate them from the byte offset (wrong for VBR), so for those we decode from
the start and discard, unless the cue is further in than ``_MAX_DISCARD_S``."""

_MAX_DISCARD_S = 900
_MAX_BAD_PACKETS = 100
"""Corrupt packets in a row we skip (as ffmpeg does) before giving up."""
_BATCH_SAMPLES = 32768
"""Decoded audio goes to the resampler in runs of at least this many samples.
FFmpeg's resampler (a filter graph under PyAV) costs mostly per call: fed
MP3's 1152-sample frames one by one it takes about three times the CPU of the
resampling itself (21 µs per 20 ms of 44.1 kHz stereo; 11 µs in runs of 8192,
8 µs in runs of 32768). It gives the same samples however its input is cut."""
_FIRST_BATCH_SAMPLES = 8192
"""The first run after a start or a seek is shorter: audio is there sooner."""


class DecodedStream:
    """The first audio stream of a file as 48 kHz stereo float32 chunks, ``start`` to ``stop``.

    Positions are 48 kHz frames from the start of the stream. Mono plays on
    both channels at full level; more channels are downmixed by FFmpeg.
    Opening raises the FFmpeg error; use it as a context manager.
    """

    def __init__(
        self, path: str, start: int, stop: int | None, stopping: threading.Event | None = None
    ) -> None:
        self._container = av.open(path, metadata_errors="ignore")
        if not self._container.streams.audio:
            self._container.close()
            raise EngineError("the file has no audio stream")
        self._stream = self._container.streams.audio[0]
        self._start, self._stop = start, stop
        self._stopping = stopping if stopping is not None else threading.Event()
        tb = self._stream.time_base or Fraction(1, RATE)
        self._origin = Fraction(self._stream.start_time or 0) * tb
        self.length_frames: int | None = None
        if self._stream.duration:
            self.length_frames = round(self._stream.duration * tb * RATE)
        elif self._container.duration:
            self.length_frames = round(Fraction(self._container.duration, 1_000_000) * RATE)
        self._feed_from = 0  # input sample where resampling begins (cue-in minus preroll)
        self._in_pos: int | None = None  # input sample position of the next decoded frame
        self._out_pos = 0  # 48 kHz position of the next resampled frame
        self._resampler: av.AudioResampler | None = None
        self._fifo = av.AudioFifo()  # decoded input waiting for the resampler
        self._batch = _FIRST_BATCH_SAMPLES
        self._key: tuple[str, str, int] | None = None
        self._mono = False
        self._done = False

    def __enter__(self) -> DecodedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()

    def chunks(self) -> Iterator[Block]:
        """Decoded chunks in order; each is a new array the caller may modify."""
        rate = self._stream.codec_context.sample_rate or RATE
        target = self._start * rate // RATE
        self._feed_from = max(0, target - int(_PREROLL_S * rate))
        seek = self._feed_from > 0 and (
            self._container.format.name in _EXACT_SEEK or target > _MAX_DISCARD_S * rate
        )
        if seek:
            self._seek(Fraction(self._feed_from, rate))
        bad = 0
        while not self._done:
            restart = False
            for packet in self._container.demux(self._stream):
                if self._stopping.is_set():
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
                    if self._in_pos is None:
                        pos = self._position_of(frame, rate)
                        if seek and (pos is None or pos > self._feed_from):
                            restart = True  # landed after the cue: decode from the start
                            break
                        self._in_pos = pos or 0
                    yield from self._convert(frame)
                    if self._done:
                        return
                if restart:
                    break
            if not restart:
                break
            seek = False
            self._seek(Fraction(0))
        yield from self._drain()

    def _seek(self, seconds: Fraction) -> None:
        tb = self._stream.time_base or Fraction(1, RATE)
        self._container.seek(int((self._origin + seconds) / tb), stream=self._stream)
        self._stream.codec_context.flush_buffers()
        self._in_pos = None

    def _position_of(self, frame: av.AudioFrame, rate: int) -> int | None:
        if frame.pts is None:
            return None
        tb = frame.time_base or self._stream.time_base or Fraction(1, rate)
        return round((frame.pts * tb - self._origin) * rate)

    def _convert(self, frame: av.AudioFrame) -> Iterator[Block]:
        pos = self._in_pos or 0
        self._in_pos = pos + frame.samples
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self._resampler is None:
            if pos + frame.samples <= self._feed_from:
                return  # before the preroll: not even resampled
            trimmed = self._begin(frame, pos)
            if trimmed is None:
                return
            frame = trimmed
        elif key != self._key:
            # NOTE: the format changed mid-stream (chained Ogg, odd MP3s): a new
            # resampler continues where the old one's flushed output ends.
            yield from self._drain()
            self._new_resampler(frame)
        if self._resampler is None:
            return
        fifo = self._fifo
        batch = self._batch
        if not fifo.samples and frame.samples >= batch:
            self._batch = _BATCH_SAMPLES
            yield from self._emit_all(self._resampler.resample(frame))  # big enough alone
            return
        # NOTE: the FIFO checks timestamps against its own count from 0, where a
        # stream's need not start; positions are tracked here instead.
        frame.pts = None
        fifo.write(frame)
        if fifo.samples >= batch:
            self._batch = _BATCH_SAMPLES
            yield from self._emit_all(self._resampler.resample(fifo.read()))

    def _drain(self) -> Iterator[Block]:
        """Resample what the FIFO holds, then flush the resampler's own tail."""
        if self._resampler is None:
            return
        if self._fifo.samples:
            yield from self._emit_all(self._resampler.resample(self._fifo.read()))
        yield from self._emit_all(self._resampler.resample(None))

    def _begin(self, frame: av.AudioFrame, pos: int) -> av.AudioFrame | None:
        """Start resampling on an input sample that lands exactly on a 48 kHz frame.

        The resampler's output grid starts at its first input sample; starting
        on a multiple of ``rate / gcd(rate, 48000)`` puts it on the grid a
        decode from the very start has, so cued and uncued playback agree.
        """
        rate = frame.sample_rate
        step = rate // math.gcd(rate, RATE)
        aligned = pos + (-pos) % step
        target = self._start * rate // RATE
        if pos <= target < aligned:
            aligned = pos  # the grid is coarser than the preroll: keep the cue sample
        skip = aligned - pos
        if skip >= frame.samples:
            return None
        if skip:
            frame = _drop_head(frame, skip)
        self._out_pos = (
            aligned * RATE // rate if aligned % step == 0 else round(aligned * RATE / rate)
        )
        self._new_resampler(frame)
        return frame

    def _new_resampler(self, frame: av.AudioFrame) -> None:
        self._key = (frame.format.name, frame.layout.name, frame.sample_rate)
        self._mono = frame.layout.nb_channels == 1
        layout = "mono" if self._mono else "stereo"
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
        self._fifo = av.AudioFifo()  # a FIFO keeps the format of its first frame
        self._batch = _FIRST_BATCH_SAMPLES

    def _emit_all(self, frames: list[av.AudioFrame]) -> Iterator[Block]:
        for out in frames:
            if out is None or self._done:
                continue
            n = out.samples
            pos = self._out_pos
            self._out_pos = pos + n
            lo = max(0, self._start - pos)
            hi = n if self._stop is None else min(n, self._stop - pos)
            if self._stop is not None and self._out_pos >= self._stop:
                self._done = True
            if hi <= lo:
                continue
            yield _stereo(out, lo, hi)


def _stereo(frame: av.AudioFrame, lo: int, hi: int) -> Block:
    """Samples ``lo:hi`` of a resampled (fltp, mono or stereo) frame as a new stereo block.

    NOTE: read straight from the frame's planes: a quarter of ``to_ndarray``'s
    cost, and a mono plane fills both channels without a second copy.
    """
    n = frame.samples
    planes = frame.planes
    out = np.empty((2, hi - lo), dtype=np.float32)
    left = np.frombuffer(memoryview(planes[0]), dtype=np.float32, count=n)
    out[0] = left[lo:hi]
    if len(planes) == 1:
        out[1] = left[lo:hi]
    else:
        out[1] = np.frombuffer(memoryview(planes[1]), dtype=np.float32, count=n)[lo:hi]
    return out


def _drop_head(frame: av.AudioFrame, skip: int) -> av.AudioFrame:
    """``frame`` without its first ``skip`` samples."""
    data: npt.NDArray[Any] = frame.to_ndarray()
    cut = skip if frame.format.is_planar else skip * frame.layout.nb_channels
    trimmed = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(data[:, cut:]), format=frame.format.name, layout=frame.layout.name
    )
    trimmed.sample_rate = frame.sample_rate
    trimmed.time_base = frame.time_base
    if frame.pts is not None and frame.time_base is not None:
        trimmed.pts = frame.pts + round(Fraction(skip, frame.sample_rate) / frame.time_base)
    return trimmed
