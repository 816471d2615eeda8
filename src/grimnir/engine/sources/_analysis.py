"""Loudness and silence analysis of a file before it plays.

Used when a file arrives without known gain or cue points (``grimnir render
--playlist DIR``, a fresh upload): one pass over the decoded audio measures
integrated loudness (ITU-R BS.1770 via libebur128) and where the audio first
and last rises above a silence threshold, so the file can play trimmed and
levelled without keeping it all in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# NOTE: pyebur128 ships no type information (no py.typed, no stubs).
import pyebur128

from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis
from grimnir.engine.audio import NCH, RATE, Block, db_to_gain


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """Ask a file source to measure the file first and play it levelled and trimmed.

    ``target_lufs`` is the integrated loudness the file should play at;
    ``silence_threshold_db`` (dBFS sample peak) decides where the audio
    starts and ends; ``max_gain_db`` caps the boost given to quiet files so
    that noise in a near-silent file is not pushed up to full level.
    """

    target_lufs: float = -16.0
    silence_threshold_db: float = -50.0
    max_gain_db: float = 12.0

    def __post_init__(self) -> None:
        for name in ("target_lufs", "silence_threshold_db", "max_gain_db"):
            if not math.isfinite(getattr(self, name)):
                raise EngineError(f"analysis {name} must be a finite number of dB")
        if self.target_lufs > 0.0 or self.silence_threshold_db >= 0.0:
            raise EngineError(
                "analysis target_lufs and silence_threshold_db must be below 0 dBFS "
                f"(got {self.target_lufs} LUFS and {self.silence_threshold_db} dB); "
                "typical values are -16 LUFS and -50 dB"
            )


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What the analysis found, in the units the library stores.

    ``integrated_lufs`` is ``-inf`` for a file with nothing above the
    loudness gate. ``gain_db`` is the gain the file plays with (levelling
    plus any gain asked for). ``cue_in_ms``/``cue_out_ms`` bracket the audio
    above the silence threshold (the whole file if nothing is); cue-in is
    rounded down and cue-out up, so no audible sample is cut.
    ``duration_ms`` is the length of the whole decoded file (rounded up).
    """

    integrated_lufs: float
    gain_db: float
    cue_in_ms: Millis
    cue_out_ms: Millis
    duration_ms: Millis


class Analyzer:
    """Measures a stream of 48 kHz stereo blocks fed in order, in constant memory."""

    def __init__(self, request: AnalysisRequest) -> None:
        self.request = request
        self._state = pyebur128.R128State(NCH, RATE, pyebur128.MeasurementMode.MODE_I)
        self._threshold = db_to_gain(request.silence_threshold_db)
        self._frames = 0
        self._first: int | None = None
        self._last: int | None = None

    @property
    def frames(self) -> int:
        """Frames fed so far."""
        return self._frames

    def feed(self, chunk: Block) -> None:
        """Measure the next ``chunk`` (shape (2, n))."""
        n = chunk.shape[1]
        if n == 0:
            return
        # libebur128 wants interleaved frames (L R L R …) in one flat array.
        self._state.add_frames(chunk.T.reshape(-1), n)
        peak = np.maximum(np.max(chunk, axis=0), -np.min(chunk, axis=0))
        loud = np.flatnonzero(peak > self._threshold)
        if loud.size:
            if self._first is None:
                self._first = self._frames + int(loud[0])
            self._last = self._frames + int(loud[-1])
        self._frames += n

    def result(self, extra_gain_db: float = 0.0) -> AnalysisResult:
        """The measurement of everything fed, with ``extra_gain_db`` added to the gain."""
        lufs = float(pyebur128.get_loudness_global(self._state))
        if math.isfinite(lufs):
            level = min(self.request.target_lufs - lufs, self.request.max_gain_db)
        else:
            level = 0.0  # nothing measurable: leave the level alone
        duration = _ceil_millis(self._frames)
        if self._first is None or self._last is None:
            cue_in, cue_out = Millis(0), duration
        else:
            cue_in = Millis(self._first * 1000 // RATE)
            cue_out = _ceil_millis(self._last + 1)
        return AnalysisResult(
            integrated_lufs=lufs,
            gain_db=level + extra_gain_db,
            cue_in_ms=cue_in,
            cue_out_ms=cue_out,
            duration_ms=duration,
        )


def _ceil_millis(frames: int) -> Millis:
    """Milliseconds covering ``frames`` frames, rounded up."""
    return Millis(-(-frames * 1000 // RATE))
