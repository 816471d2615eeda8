"""The SAME demodulator's signal processing (private to the decoder).

Per sample position ``i`` a one-bit window starting at ``i`` is correlated with
the mark and the space frequency (non-coherent quadrature detection, the
optimum for FSK with unknown phase); their normalised difference ``d[i]`` in
[−1, 1] is positive for a mark and does not depend on the level. Sync is a
correlation of ``d`` at bit spacing with the last eight preamble bytes, then
with ``ZCZC`` or ``NNNN``; bytes are then read with a bit clock that follows
the sender's drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from grimnir.eas._afsk import BAUD, MARK_HZ, PREAMBLE, SPACE_HZ, text_bits

Floats = npt.NDArray[np.float64]

#: Internal rate the input is brought near (an integer decimation keeps it ≥ this).
WORK_RATE = 11_000
#: Preamble bytes the sync pattern uses (a decoder may hear the first ones cut).
SYNC_PREAMBLE_BYTES = 8
#: Mean correlation a sync must reach (1.0 is a perfect, noiseless match).
SYNC_THRESHOLD = 0.45
#: Longest header text: ZCZC-ORG-EEE- + 31 locations + +TTTT-JJJHHMM-LLLLLLLL-.
MAX_TEXT = 16 + 31 * 7 + 22


def _pattern(data: bytes) -> Floats:
    return np.where(text_bits(data) == 1, 1.0, -1.0)


PRE_PATTERN = _pattern(PREAMBLE[:SYNC_PREAMBLE_BYTES])
ZCZC_PATTERN = _pattern(b"ZCZC")
NNNN_PATTERN = _pattern(b"NNNN")


def decimate(x: Floats, rate: int) -> tuple[Floats, int]:
    """``x`` low-passed (windowed sinc at 3.4 kHz) and decimated by an integer
    factor to near :data:`WORK_RATE`; returns it and the factor."""
    factor = max(1, rate // WORK_RATE)
    if factor == 1:
        return x, 1
    taps = 12 * factor + 1
    n = np.arange(taps) - (taps - 1) / 2
    cutoff = 3400.0 / rate
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    kernel /= kernel.sum()
    filtered = np.convolve(x, kernel, mode="same")
    return filtered[::factor], factor


@dataclass(frozen=True, slots=True)
class Discriminator:
    """``d`` (mark − space over mark + space) for every bit window start."""

    d: Floats
    samples_per_bit: float

    @classmethod
    def of(cls, x: Floats, rate: float) -> Discriminator:
        spb = rate / BAUD
        width = round(spb)
        n = np.arange(len(x))
        power = []
        for freq in (MARK_HZ, SPACE_HZ):
            mixed = x * np.exp(-2j * np.pi * freq / rate * n)
            acc = np.concatenate([[0], np.cumsum(mixed)])
            window = acc[width:] - acc[:-width]
            power.append(window.real**2 + window.imag**2)
        mark, space = power
        total = mark + space
        floor = 1e-9 * width * width
        return cls((mark - space) / (total + floor), spb)

    def at(self, positions: npt.NDArray[np.floating[Any]]) -> Floats:
        """``d`` at (fractional) sample positions, nearest sample; 0 outside."""
        index = np.rint(positions).astype(np.int64)
        inside = (index >= 0) & (index < len(self.d))
        out = np.zeros(len(index))
        out[inside] = self.d[index[inside]]
        return out

    def correlate(self, pattern: Floats, starts: npt.NDArray[np.int64]) -> Floats:
        """Mean of ``pattern · d`` at bit spacing from each of ``starts``."""
        offsets = np.rint(np.arange(len(pattern)) * self.samples_per_bit).astype(np.int64)
        index = starts[:, None] + offsets[None, :]
        inside = index < len(self.d)
        values = np.where(inside, self.d[np.minimum(index, len(self.d) - 1)], 0.0)
        return np.asarray((values @ pattern) / len(pattern), dtype=np.float64)

    def preamble_scan(self) -> Floats:
        """Preamble correlation at every start, using its byte periodicity: one
        byte's correlation summed over eight byte-spaced shifts."""
        spb = self.samples_per_bit
        length = len(self.d)
        byte = np.zeros(length)
        for k, sign in enumerate(PRE_PATTERN[:8]):
            shift = round(k * spb)
            byte[: length - shift] += sign * self.d[shift:]
        out = np.zeros(length)
        for m in range(SYNC_PREAMBLE_BYTES):
            shift = round(8 * m * spb)
            out[: length - shift] += byte[shift:]
        return out / (8 * SYNC_PREAMBLE_BYTES)

    def sync_points(self) -> list[tuple[int, str]]:
        """Starts of the sync pattern (the 8th-last preamble byte) and which code
        follows (``ZCZC`` or ``NNNN``), one per burst, in order."""
        spb = self.samples_per_bit
        pre = self.preamble_scan()
        candidates = np.flatnonzero(pre > SYNC_THRESHOLD)
        if len(candidates) == 0:
            return []
        text_at = candidates + round(8 * SYNC_PREAMBLE_BYTES * spb)
        zczc = self.correlate(ZCZC_PATTERN, text_at)
        nnnn = self.correlate(NNNN_PATTERN, text_at)
        score = (pre[candidates] * 2 + np.maximum(zczc, nnnn)) / 3
        breaks = np.flatnonzero(np.diff(candidates) > 12 * spb) + 1
        found: list[tuple[int, str]] = []
        for group in np.split(np.arange(len(candidates)), breaks):
            best = group[np.argmax(score[group])]
            if score[best] > SYNC_THRESHOLD and max(zczc[best], nnnn[best]) > SYNC_THRESHOLD:
                found.append(
                    (int(candidates[best]), "ZCZC" if zczc[best] >= nnnn[best] else "NNNN")
                )
        return found


@dataclass(frozen=True, slots=True)
class RawBurst:
    """Text read after one sync, in work-rate samples, with its mean confidence."""

    text: str
    start: float
    end: float
    confidence: float
    complete: bool


def read_burst(disc: Discriminator, sync: int, kind: str) -> RawBurst:
    """Read the bytes after the sync pattern at ``sync``, following the bit clock.

    The clock moves by up to one sample per byte towards the offset where the
    byte's bits are read most confidently (|d| peaks when a window lines up
    with a bit), so a sender a little fast or slow is followed.
    """
    spb = disc.samples_per_bit
    bit_offsets = np.arange(8) * spb
    t = sync + 8 * SYNC_PREAMBLE_BYTES * spb
    weights = 1 << np.arange(8)
    chars: list[str] = []
    confidences: list[float] = []
    complete = False
    while len(chars) < (4 if kind == "NNNN" else MAX_TEXT):
        trials = [disc.at(t + o + bit_offsets) for o in (-1.0, 0.0, 1.0)]
        scores = [float(np.abs(v).sum()) for v in trials]
        best = int(np.argmax(scores))
        if scores[best] > scores[1] * 1.02:
            t += best - 1.0
        values = trials[best] if scores[best] > scores[1] * 1.02 else trials[1]
        byte = int(((values > 0) * weights).sum())
        if byte >= 0x80 or byte < 0x20:
            break
        chars.append(chr(byte))
        confidences.append(float(np.abs(values).mean()))
        t += 8 * spb
        text = "".join(chars)
        if kind == "NNNN" and len(text) == 4:
            complete = True
        elif "+" in text and len(text) - text.index("+") == 23:
            complete = True
            break
    start = sync - 8 * (len(PREAMBLE) - SYNC_PREAMBLE_BYTES) * spb
    return RawBurst(
        "".join(chars), start, t, float(np.mean(confidences)) if confidences else 0.0, complete
    )
