"""Dynamics nodes: compressor and gate (pedalboard) and a true-peak limiter (numpy).

pedalboard's own Limiter watches sample peaks only, and the peaks between
samples (what a DAC or an MP3 decoder reconstructs, and what EBU R128 calls
true peak) overshoot it by up to 3 dB. ``LimiterNode`` therefore estimates
the true peak with the very 4× interpolator libebur128 measures with, and
looks ahead far enough to turn the gain down before each peak arrives.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
import pedalboard

from grimnir.engine.audio import RATE, Block, db_to_gain
from grimnir.engine.dsp._base import F32, DspNode, PluginNode

_TAPS: Final = 49
_FACTOR: Final = 4
_SPAN: Final = (_TAPS - 1) // _FACTOR  # 12 frames of history feed the interpolator
_PHASE0_DELAY: Final = _SPAN // 2  # the un-interpolated phase is the input 6 frames ago
_SUPPORT: Final = 6  # frames either side of a peak whose gain shapes the interpolated value
_SAFETY_DB: Final = 0.05  # float32 arithmetic and gain curvature between samples
_TINY_DB: Final = 1e-9


def _interpolator() -> npt.NDArray[np.float32]:
    """The three fractional phases of libebur128's 49-tap Hann-windowed sinc (4×).

    Row ``12 - d`` holds the coefficient applied to the input ``d`` frames
    back, so a (13, frames) window matrix times this gives the phases at
    1/4, 2/4 and 3/4 of a frame after the input 6 frames back. (Phase 0 is
    that input itself.)
    """
    coeffs = np.zeros((_FACTOR - 1, _SPAN + 1), dtype=np.float64)
    for j in range(_TAPS):
        phase = j % _FACTOR
        if phase == 0:
            continue
        m = j - (_TAPS - 1) / 2.0
        c = math.sin(m * math.pi / _FACTOR) / (m * math.pi / _FACTOR)
        c *= 0.5 * (1.0 - math.cos(2.0 * math.pi * j / (_TAPS - 1)))
        coeffs[phase - 1, _SPAN - j // _FACTOR] = c
    return coeffs.astype(F32)


_PHASES: Final = _interpolator()
_PHASE_GAIN: Final = max(1.0, float(np.abs(_PHASES.astype(np.float64)).sum(axis=1).max()))
"""Largest possible interpolated value for inputs within ±1: a block whose sample
peak times this stays under the ceiling cannot have an inter-sample peak over it."""


def interpolated_peaks(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per-channel true peak (4× oversampled, as libebur128 measures it) of a stretch.

    ``audio`` is shaped (2, 12 + frames): the 12 frames before the stretch (zeros
    at the start of a programme) and then the stretch itself. Like libebur128,
    the last 6 frames are only covered by the next stretch.
    """
    frames = audio.shape[1] - _SPAN
    if frames <= 0:
        return np.zeros(audio.shape[0], dtype=F32)
    rows = np.lib.stride_tricks.as_strided(
        audio,
        shape=(_SPAN + 1, audio.shape[0], frames),
        strides=(audio.strides[1], audio.strides[0], audio.strides[1]),
    )
    phases = np.abs(_PHASES @ rows.reshape(_SPAN + 1, -1)).reshape(_FACTOR - 1, -1, frames)
    peaks: npt.NDArray[np.float32] = np.maximum(
        phases.max(axis=(0, 2)), np.abs(rows[_PHASE0_DELAY]).max(axis=1)
    )
    return peaks


def _running_max(values: npt.NDArray[np.float32], window: int) -> npt.NDArray[np.float32]:
    """Maximum of every ``window`` consecutive values (``len - window + 1`` results).

    Doubling: maxima over 1, 2, 4, … values, then two overlapping power-of-two
    windows cover any width, in log2(window) vector operations.
    """
    span = 1
    acc = values
    while span * 2 <= window:
        acc = np.maximum(acc[:-span], acc[span:])
        span *= 2
    count = values.size - window + 1
    return np.maximum(acc[:count], acc[window - span : window - span + count])


class LimiterNode(DspNode):
    """Look-ahead brick-wall limiter that keeps the *true* peak under ``threshold_db``.

    Per block, all vectorised: the 4× interpolated peak of every frame (both
    channels), the gain reduction each frame needs, held over the look-ahead
    window, released exponentially (in dB, with time constant ``release_ms``),
    and averaged over the look-ahead so the gain glides down before a peak
    instead of stepping. The audio is delayed by ``latency_frames`` so the
    gain is already down when the peak passes. While the input stays clearly
    under the ceiling the limiter only delays it (the cheap path).
    """

    def __init__(
        self,
        threshold_db: float = -1.0,
        release_ms: float = 10.0,
        *,
        lookahead_ms: float = 1.0,
        name: str = "limiter",
    ) -> None:
        self.name = name
        self.threshold_db = threshold_db
        self.release_ms = release_ms
        self._ceiling = db_to_gain(threshold_db - _SAFETY_DB)
        self._fast_ceiling = self._ceiling / _PHASE_GAIN
        self._box = max(1, round(lookahead_ms * RATE / 1000.0))
        self._hold = self._box + 2 * _SUPPORT + 1
        self.latency_frames = _PHASE0_DELAY + self._box - 1 + _SUPPORT
        self._decay = 1.0 / (release_ms * RATE / 1000.0)  # ln(reduction) lost per frame
        self.reset()

    def reset(self) -> None:
        self._ext = np.zeros((2, _SPAN), dtype=F32)
        self._frames = 0
        self._delay = np.zeros((2, self.latency_frames), dtype=F32)
        self._need = np.zeros(self._hold - 1, dtype=F32)
        self._held = np.zeros(self._box - 1, dtype=np.float64)
        self._log_reduction = math.log(_TINY_DB)
        self._idle = True
        self._last_peak = 0.0
        self._stack = np.zeros((0, 2, 0), dtype=F32)
        self._steps = np.zeros(0, dtype=np.float64)
        self.max_reduction_db = 0.0
        """Deepest gain reduction since the last ``take_max_reduction()`` (telemetry)."""

    def _resize(self, frames: int) -> None:
        ext = np.zeros((2, _SPAN + frames), dtype=F32)
        ext[:, :_SPAN] = self._ext[:, :_SPAN]
        self._ext = ext
        self._stack = np.empty((_SPAN + 1, 2, frames), dtype=F32)
        self._steps = np.arange(1, frames + 1, dtype=np.float64) * self._decay
        self._frames = frames

    def take_max_reduction(self) -> float:
        """Deepest gain reduction (dB, ≥ 0) since the last call; resets the figure."""
        value, self.max_reduction_db = self.max_reduction_db, 0.0
        return value

    def process(self, block: Block) -> Block:
        frames = block.shape[1]
        if frames == 0:
            return block
        if frames != self._frames:
            self._resize(frames)
        ext = self._ext
        peak = float(np.abs(block).max())
        gain = None
        if not self._idle or max(peak, self._last_peak) > self._fast_ceiling:
            ext[:, _SPAN:] = block
            gain = self._gain(ext, frames)
        self._last_peak = peak
        if frames >= _SPAN:
            ext[:, :_SPAN] = block[:, frames - _SPAN :]
        else:  # NOTE: blocks shorter than the interpolator's history (not the engine's 960)
            ext[:, :_SPAN] = np.concatenate((ext[:, :_SPAN], block), axis=1)[:, -_SPAN:]

        lat = self.latency_frames
        out = np.empty((2, frames), dtype=F32)
        if frames >= lat:
            out[:, :lat] = self._delay
            out[:, lat:] = block[:, : frames - lat]
            self._delay[...] = block[:, frames - lat :]
        else:
            joined = np.concatenate((self._delay, block), axis=1)
            out[...] = joined[:, :frames]
            self._delay = joined[:, frames:].copy()
        if gain is not None:
            out *= gain
        return out

    def _gain(self, ext: npt.NDArray[np.float32], frames: int) -> npt.NDArray[np.float32] | None:
        """Per-frame gain for the audio leaving the delay line now (None: unity throughout)."""
        stack = self._stack
        np.copyto(
            stack,
            np.lib.stride_tricks.as_strided(
                ext, shape=stack.shape, strides=(ext.strides[1], ext.strides[0], ext.strides[1])
            ),
        )
        phases = _PHASES @ stack.reshape(_SPAN + 1, 2 * frames)
        np.abs(phases, out=phases)
        envelope = phases.reshape(2 * (_FACTOR - 1), frames).max(axis=0)
        np.maximum(envelope, np.abs(stack[_PHASE0_DELAY]).max(axis=0), out=envelope)

        over = np.flatnonzero(envelope > self._ceiling)
        if self._idle and not over.size:
            return None  # near the ceiling but not over it: nothing to do yet
        need = np.zeros(self._hold - 1 + frames, dtype=F32)
        need[: self._hold - 1] = self._need
        if over.size:
            need[self._hold - 1 + over] = 20.0 * np.log10(envelope[over] / self._ceiling)
        self._need = need[frames:]
        held = _running_max(need, self._hold)

        # Release: reduction r[n] = max(held[n], r[n-1]·e^-decay), solved without a loop
        # as a running maximum in the log domain (a fixed decay is a straight line there).
        steps = self._steps
        logs = np.empty(frames + 1, dtype=np.float64)
        logs[0] = self._log_reduction
        np.log(held + _TINY_DB, out=logs[1:])
        logs[1:] += steps
        np.maximum.accumulate(logs, out=logs)
        logs[1:] -= steps
        self._log_reduction = max(float(logs[-1]), math.log(_TINY_DB))
        reduction = np.exp(logs[1:])

        # Average over the look-ahead: the gain ramps down before a peak and stays down.
        box = self._box
        padded = np.concatenate((self._held, reduction))
        self._held = padded[frames:]
        sums = np.cumsum(padded)
        smooth = sums[box - 1 :].copy()
        smooth[1:] -= sums[: frames - 1]
        deepest = float(smooth.max()) / box
        self.max_reduction_db = max(self.max_reduction_db, deepest)
        self._idle = (
            deepest < 1e-6 and not self._need.any() and float(self._held.max(initial=0.0)) < 1e-6
        )
        return np.exp(smooth * (-math.log(10.0) / 20.0 / box)).astype(F32)


class CompressorNode(PluginNode):
    """Downward compressor (pedalboard/JUCE, peak envelope) plus optional make-up gain."""

    def __init__(
        self,
        threshold_db: float = -20.0,
        ratio: float = 3.0,
        attack_ms: float = 5.0,
        release_ms: float = 50.0,
        makeup_gain_db: float = 0.0,
        *,
        name: str = "compressor",
    ) -> None:
        comp = pedalboard.Compressor(
            threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms
        )
        if makeup_gain_db:
            super().__init__(name, pedalboard.Chain([comp, pedalboard.Gain(makeup_gain_db)]))
        else:
            super().__init__(name, comp)


class GateNode(PluginNode):
    """Noise gate / downward expander (pedalboard/JUCE) below ``threshold_db``."""

    def __init__(
        self,
        threshold_db: float = -60.0,
        ratio: float = 10.0,
        attack_ms: float = 1.0,
        release_ms: float = 100.0,
        *,
        name: str = "gate",
    ) -> None:
        super().__init__(
            name,
            pedalboard.NoiseGate(
                threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms
            ),
        )
