"""Pass-through measuring nodes: the level meter (telemetry) and the silence detector.

Neither changes the audio. The meter keeps the per-block work to what must
see every sample (peak, sum of squares, libebur128's K-weighted loudness
state) and computes the rest when a reading is asked for (once a second by
telemetry): true peak only over the blocks that could hold the highest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyebur128

from grimnir.engine.audio import RATE, SILENCE_FLOOR_DB, Block, gain_to_db
from grimnir.engine.dsp._base import F32, DspNode
from grimnir.engine.dsp._dynamics import _PHASE_GAIN, _SPAN, interpolated_peaks

INTEGRATED_HISTORY_MS: Final = 3_600_000
"""Integrated loudness covers at most the last hour, so a meter running for
weeks keeps bounded memory and a constant reading cost."""
_MAX_PENDING: Final = 50
"""Blocks kept for the true-peak reading before they are folded in early."""


def _lufs(value: float) -> float:
    return value if value > SILENCE_FLOOR_DB else SILENCE_FLOOR_DB


@dataclass(frozen=True, slots=True)
class LevelReading:
    """Levels at a meter over one reporting period (loudness per BS.1770 / EBU Tech 3341).

    ``peak_db``, ``rms_db`` (per channel, dBFS) and ``true_peak_dbtp`` (both
    channels, 4× oversampled) cover the ``frames`` since the previous reading;
    momentary (400 ms), short-term (3 s) and integrated loudness end at the
    last block. Silence reads −150 rather than −∞, so readings stay plain numbers.
    """

    peak_db: tuple[float, float]
    rms_db: tuple[float, float]
    momentary_lufs: float
    short_term_lufs: float
    integrated_lufs: float
    true_peak_dbtp: float
    frames: int


class LevelMeterNode(DspNode):
    """Meters the audio passing this point of the chain; ``reading()`` reports."""

    def __init__(self, *, name: str = "level_meter") -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self._state = pyebur128.R128State(
            2, RATE, pyebur128.MeasurementMode.MODE_S | pyebur128.MeasurementMode.MODE_I
        )
        self._state.set_max_history(INTEGRATED_HISTORY_MS)
        self._tail = np.zeros((2, _SPAN), dtype=F32)
        self._start_period()

    def _start_period(self) -> None:
        self._peak = np.zeros(2, dtype=np.float64)
        self._sum_sq = np.zeros(2, dtype=np.float64)
        self._frames = 0
        self._true_peak = 0.0
        self._pending: list[tuple[float, npt.NDArray[np.float32]]] = []

    def process(self, block: Block) -> Block:
        frames = block.shape[1]
        if frames == 0:
            return block
        self._state.add_frames(block.T.reshape(-1), frames)
        peaks = np.abs(block).max(axis=1)
        np.maximum(self._peak, peaks, out=self._peak)
        self._sum_sq += np.einsum("ij,ij->i", block, block, dtype=np.float64)
        self._frames += frames
        # A block can only hold the period's true peak if its interpolated values
        # could beat the loudest sample seen so far.
        top = float(peaks.max())
        if top * _PHASE_GAIN > max(self._true_peak, float(self._peak.max())) and top > 0.0:
            self._pending.append((top, np.concatenate((self._tail, block), axis=1)))
            if len(self._pending) >= _MAX_PENDING:
                self._fold_pending()
        if frames >= _SPAN:
            self._tail = block[:, -_SPAN:].copy()
        else:
            self._tail = np.concatenate((self._tail, block), axis=1)[:, -_SPAN:]
        return block

    def _fold_pending(self) -> None:
        """Measure the kept blocks, loudest first, until none left can beat the maximum."""
        floor = float(self._peak.max())
        for top, audio in sorted(self._pending, key=lambda item: -item[0]):
            if top * _PHASE_GAIN <= max(self._true_peak, floor):
                break
            self._true_peak = max(self._true_peak, float(interpolated_peaks(audio).max()))
        self._pending = []

    def reading(self) -> LevelReading:
        """Levels since the previous reading (loudness up to now); starts a new period."""
        self._fold_pending()
        frames = max(self._frames, 1)
        rms = np.sqrt(self._sum_sq / frames)
        state = self._state
        result = LevelReading(
            peak_db=(gain_to_db(float(self._peak[0])), gain_to_db(float(self._peak[1]))),
            rms_db=(gain_to_db(float(rms[0])), gain_to_db(float(rms[1]))),
            momentary_lufs=_lufs(pyebur128.get_loudness_momentary(state)),
            short_term_lufs=_lufs(pyebur128.get_loudness_shortterm(state)),
            integrated_lufs=_lufs(pyebur128.get_loudness_global(state)),
            true_peak_dbtp=gain_to_db(max(self._true_peak, float(self._peak.max()))),
            frames=self._frames,
        )
        self._start_period()
        return result


class SilenceDetectorNode(DspNode):
    """Tracks how long the audio has stayed under ``threshold_db`` (RMS per block).

    ``silent`` turns true once that lasted ``duration_sec``; the first block
    at or above the threshold clears it. The engine polls it (or reads
    ``silent_ms``) to raise ``silence.detected`` and fail over.
    """

    def __init__(
        self, threshold_db: float = -50.0, duration_sec: float = 10.0, *, name: str = "silence"
    ) -> None:
        self.name = name
        self.threshold_db = threshold_db
        self.duration_sec = duration_sec
        self._limit_energy = 10.0 ** (threshold_db / 10.0)
        self._needed_frames = max(1, round(duration_sec * RATE))
        self.reset()

    def reset(self) -> None:
        self._silent_frames = 0

    @property
    def silent_ms(self) -> int:
        """How long the audio has been silent, in milliseconds (0 when it is not)."""
        return self._silent_frames * 1000 // RATE

    @property
    def silent(self) -> bool:
        """True once the silence has lasted ``duration_sec``."""
        return self._silent_frames >= self._needed_frames

    def process(self, block: Block) -> Block:
        if block.size == 0:
            return block
        flat = block.reshape(-1)
        if float(np.dot(flat, flat)) < self._limit_energy * flat.size:
            self._silent_frames += block.shape[1]
        else:
            self._silent_frames = 0
        return block
