"""Fade ramps as arrays: gains for any run of frames, vectorised.

The formulas are those of ``grimnir.domain.FadeCurve.gain`` (the reference);
here they are evaluated on whole blocks at once and multiplied in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from grimnir.domain.fades import FadeCurve

Gains = npt.NDArray[np.float32]


def curve_gains(curve: FadeCurve, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Fade-in gains for progress values ``t`` (clamped to 0…1)."""
    t = np.clip(t, 0.0, 1.0)
    match curve:
        case FadeCurve.LINEAR:
            return t
        case FadeCurve.LOGARITHMIC:
            return np.log10(1.0 + 9.0 * t)
        case FadeCurve.EXPONENTIAL:
            return (np.power(10.0, t) - 1.0) / 9.0
        case FadeCurve.S_CURVE | FadeCurve.SMART:
            return (1.0 - np.cos(np.pi * t)) / 2.0


@dataclass(frozen=True, slots=True)
class Ramp:
    """A fade over engine frames ``[start, start + length)``.

    Before the ramp the gain is its starting value, after it its end value:
    a fade in goes 0 → 1, a fade out 1 → 0. Frame ``start + k`` gets progress
    ``k / length``; the frame at ``start + length`` is the first at the end value.
    """

    start: int
    length: int
    curve: FadeCurve
    fade_in: bool

    def gains(self, frame0: int, n: int) -> Gains | None:
        """Gains for frames ``[frame0, frame0 + n)``, or None when all are 1.0."""
        end = self.start + self.length
        if self.fade_in and frame0 >= end:
            return None
        if self.length <= 0:
            value = 1.0 if self.fade_in else 0.0
            if not self.fade_in and frame0 + n <= self.start:
                return None
            out = np.ones(n, dtype=np.float32)
            cut = max(0, min(n, self.start - frame0))
            out[cut:] = value
            return out
        if not self.fade_in and frame0 + n <= self.start:
            return None
        k = np.arange(frame0 - self.start, frame0 - self.start + n, dtype=np.float64)
        progress = k / self.length
        if self.fade_in:
            g = curve_gains(self.curve, progress)
        else:
            # NOTE: a fade out is the fade in read backwards: gain(1 - t).
            g = curve_gains(self.curve, 1.0 - progress)
        return g.astype(np.float32)

    @property
    def end(self) -> int:
        """First frame after the ramp."""
        return self.start + self.length
