"""Fade ramps as arrays: gains for any run of frames, vectorised.

The formulas are those of ``grimnir.domain.FadeCurve.gain`` (the reference);
here they are evaluated once per fade shape into a table, and each block
multiplies in a slice of it: no per-block maths, no per-block allocation, and
the same gains whichever way a fade is cut into blocks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
        """Gains for frames ``[frame0, frame0 + n)``, or None when all are 1.0.

        Inside the ramp this is a read-only view of a shared table: multiply it
        in, never write to it.
        """
        end = self.start + self.length
        if self.fade_in and frame0 >= end:
            return None
        if not self.fade_in and frame0 + n <= self.start:
            return None
        if self.length <= 0:
            value = 1.0 if self.fade_in else 0.0
            out = np.ones(n, dtype=np.float32)
            cut = max(0, min(n, self.start - frame0))
            out[cut:] = value
            return out
        table, before, after = _table(self.curve, self.length, self.fade_in)
        lo = frame0 - self.start
        if lo >= 0 and lo + n <= self.length:
            return table[lo : lo + n]
        # NOTE: only the blocks holding the ramp's first or last frame get here.
        out = np.empty(n, dtype=np.float32)
        a = max(0, min(n, -lo))  # frames before the ramp
        b = max(a, min(n, self.length - lo))  # frames before its end
        out[:a] = before
        out[a:b] = table[lo + a : lo + b]
        out[b:] = after
        return out

    @property
    def end(self) -> int:
        """First frame after the ramp."""
        return self.start + self.length


_TABLE_BUDGET = 8 * 1024 * 1024
"""Samples the fade tables may hold together (32 MiB): the most recently used stay."""
_tables: OrderedDict[tuple[FadeCurve, int, bool], tuple[Gains, float, float]] = OrderedDict()
_table_samples = 0
_table_lock = threading.Lock()  # engines of several stations may share a process


def _table(curve: FadeCurve, length: int, fade_in: bool) -> tuple[Gains, float, float]:
    """The ramp's gains for progress ``k / length`` (k = 0 … length-1) and its end values.

    Values before and after the ramp are the formula's at progress 0 and 1
    (clamped), so a block that straddles an edge gets exactly what an
    evaluation of every frame would give. Tables are shared by every ramp of
    the same shape (a station's crossfades mostly have one or two).
    """
    key = (curve, length, fade_in)
    with _table_lock:
        found = _tables.get(key)
        if found is not None:
            _tables.move_to_end(key)
            return found
    progress = np.arange(length, dtype=np.float64) / length
    edges = np.array([0.0, 1.0])
    if fade_in:
        table = curve_gains(curve, progress).astype(np.float32)
        before, after = curve_gains(curve, edges).astype(np.float32)
    else:
        # NOTE: a fade out is the fade in read backwards: gain(1 - t).
        table = curve_gains(curve, 1.0 - progress).astype(np.float32)
        after, before = curve_gains(curve, edges).astype(np.float32)
    table.setflags(write=False)
    entry = (table, float(before), float(after))
    with _table_lock:
        _remember(key, entry)
    return entry


def _remember(key: tuple[FadeCurve, int, bool], entry: tuple[Gains, float, float]) -> None:
    global _table_samples
    if key not in _tables:
        _table_samples += entry[0].size
    _tables[key] = entry
    while _table_samples > _TABLE_BUDGET and len(_tables) > 1:
        _, (old, _, _) = _tables.popitem(last=False)
        _table_samples -= old.size
