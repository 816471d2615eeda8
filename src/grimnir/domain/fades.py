"""Fade curves and cue points: how an item enters and leaves the air."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from grimnir.domain.units import Millis


class FadeCurve(StrEnum):
    """The shape of a fade. ``gain(t)`` maps progress 0…1 to gain 0…1 (a fade in).

    A fade out uses ``gain(1 - t)``. ``SMART`` is not a shape but a policy: it
    decides from both tracks' levels whether to crossfade, fade only one side
    or just sequence them, and shapes whatever fades it keeps with the S-curve.
    """

    LINEAR = "linear"
    LOGARITHMIC = "logarithmic"
    EXPONENTIAL = "exponential"
    S_CURVE = "s_curve"
    SMART = "smart"

    def gain(self, t: float) -> float:
        """Gain at progress ``t`` (clamped to 0…1) of a fade in."""
        t = min(1.0, max(0.0, t))
        match self:
            case FadeCurve.LINEAR:
                return t
            case FadeCurve.LOGARITHMIC:  # fast rise, slow finish
                return math.log10(1.0 + 9.0 * t)
            case FadeCurve.EXPONENTIAL:  # slow start, fast finish
                return float((10.0**t - 1.0) / 9.0)
            case FadeCurve.S_CURVE | FadeCurve.SMART:
                return (1.0 - math.cos(math.pi * t)) / 2.0


_ZERO = Millis(0)


class Timing(StrEnum):
    """``HARD`` starts exactly on time, fading out what plays; ``SOFT`` waits for
    the current item's segue point."""

    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True, slots=True)
class CuePoints:
    """Where an item really starts and ends inside its file, in milliseconds.

    ``cue_out`` and ``segue`` of ``None`` mean "the end of the audio".
    ``intro_end`` is where the vocals start (talk-over ends); ``segue`` is where
    the next item may begin to overlap.
    """

    cue_in: Millis = _ZERO
    cue_out: Millis | None = None
    intro_end: Millis | None = None
    segue: Millis | None = None

    def __post_init__(self) -> None:
        if self.cue_in < 0:
            raise ValueError(f"cue_in must be ≥ 0 ms, got {self.cue_in}")
        end = self.cue_out
        if end is not None and end <= self.cue_in:
            raise ValueError(f"cue_out ({end} ms) must be after cue_in ({self.cue_in} ms)")
        for name in ("intro_end", "segue"):
            point: Millis | None = getattr(self, name)
            if point is None:
                continue
            if point < self.cue_in or (end is not None and point > end):
                raise ValueError(
                    f"{name} ({point} ms) must lie between cue_in ({self.cue_in} ms) "
                    f"and cue_out ({end if end is not None else 'end'} ms)"
                )

    def playable(self, duration: Millis) -> Millis:
        """How long the item plays between its cues in a file of ``duration``."""
        end = duration if self.cue_out is None else min(self.cue_out, duration)
        return Millis(max(0, end - self.cue_in))
