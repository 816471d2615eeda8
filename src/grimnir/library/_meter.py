"""One pass of measurements over decoded chunks, in bounded memory.

Per chunk of whole hops the meter feeds libebur128 (integrated loudness and
loudness range), finds the first and last sample above the silence threshold,
keeps one mean square per hop (the energy envelope) and one int8 min/max pair
per hop of the mono mix (the waveform).

True peak: libebur128's 4× oversampled true peak costs about four times as
much as everything else together, so it runs only on the ``TRUE_PEAK_HOPS``
hops with the highest sample peak in each chunk (4 of every 100). A true peak
higher than the one reported would need an inter-sample over in a hop whose
sample peak is not among its chunk's loudest — possible, rare, and never
worse than the sample peak, which is always included.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# NOTE: pyebur128 ships no type information (no py.typed, no stubs).
import pyebur128

from grimnir.library._decode import Chunk
from grimnir.library._envelope import waveform_pairs

TRUE_PEAK_HOPS = 4
_TP_CONTEXT = 32
"""Frames either side of a hop fed to the true-peak filter, so its delay line
is full at the hop's first sample and drained after its last."""
_MODE = pyebur128.MeasurementMode


class Meter:
    """Accumulates measurements over chunks fed in order."""

    def __init__(self, rate: int, channels: int, hop: int, threshold: float) -> None:
        self.rate, self.channels, self.hop = rate, channels, hop
        self._threshold = threshold
        self._ebu = pyebur128.R128State(channels, rate, _MODE.MODE_I | _MODE.MODE_LRA)
        if channels == 1:
            # the engine plays mono on both channels: measure it as it is heard
            self._ebu.set_channel(0, pyebur128.ChannelType.DUAL_MONO)
        self.frames = 0
        self.first: int | None = None
        self.last: int | None = None
        self.sample_peak = 0.0
        self.true_peak = 0.0
        self._energy: list[npt.NDArray[np.float64]] = []
        self._wave: list[bytes] = []

    def feed(self, chunk: Chunk) -> None:
        """Measure the next chunk (shape (channels, n), n a whole number of hops but the last)."""
        ch, n = chunk.shape
        if n == 0:
            return
        flat = np.empty(ch * n, dtype=np.float32)  # libebur128 wants L R L R …
        for c in range(ch):
            flat[c::ch] = chunk[c]
        self._ebu.add_frames(flat, n)
        hop = self.hop
        whole = n // hop * hop
        rows = chunk[:, :whole].reshape(ch, -1, hop)
        highs, lows = [rows.max(axis=2).max(axis=0)], [rows.min(axis=2).min(axis=0)]
        energy = [np.einsum("chk,chk->h", rows, rows) / hop]
        mono = chunk[0] if ch == 1 else (chunk[0] + chunk[1]) * np.float32(0.5)
        if whole < n:
            tail = chunk[:, whole:]
            highs.append(np.atleast_1d(tail.max()))
            lows.append(np.atleast_1d(tail.min()))
            energy.append(np.atleast_1d(np.einsum("ck,ck->", tail, tail) / tail.shape[1]))
        hop_peak = np.maximum(np.concatenate(highs), -np.concatenate(lows))
        self._energy.append(np.concatenate(energy).astype(np.float64))
        self._wave.append(waveform_pairs(mono, hop))
        self._edges(chunk, hop_peak)
        self.sample_peak = max(self.sample_peak, float(hop_peak.max()))
        self._true_peak(chunk, hop_peak)
        self.frames += n

    def _edges(self, chunk: Chunk, hop_peak: Chunk) -> None:
        loud_hops = np.flatnonzero(hop_peak > self._threshold)
        if loud_hops.size == 0:
            return
        hop = self.hop
        if self.first is None:
            start = int(loud_hops[0]) * hop
            inside = _loud(chunk[:, start : start + hop], self._threshold)
            self.first = self.frames + start + int(inside[0])
        start = int(loud_hops[-1]) * hop
        inside = _loud(chunk[:, start : start + hop], self._threshold)
        self.last = self.frames + start + int(inside[-1])

    def _true_peak(self, chunk: Chunk, hop_peak: Chunk) -> None:
        ch, n = chunk.shape
        count = min(TRUE_PEAK_HOPS, hop_peak.shape[0])
        picks = np.argpartition(hop_peak, -count)[-count:]
        for i in picks:
            if float(hop_peak[i]) * 2.0 <= self.true_peak:
                continue  # even a 6 dB inter-sample over could not beat what we have
            lo = max(0, int(i) * self.hop - _TP_CONTEXT)
            hi = min(n, (int(i) + 1) * self.hop + _TP_CONTEXT)
            state = pyebur128.R128State(ch, self.rate, _MODE.MODE_TRUE_PEAK)
            state.add_frames(np.ascontiguousarray(chunk[:, lo:hi].T).reshape(-1), hi - lo)
            peak = max(pyebur128.get_true_peak(state, c) for c in range(ch))
            self.true_peak = max(self.true_peak, float(peak))

    def energy(self) -> npt.NDArray[np.float64]:
        """Mean square per hop over everything fed."""
        return np.concatenate(self._energy) if self._energy else np.zeros(0)

    def waveform(self) -> bytes:
        """int8 min/max pairs per hop over everything fed."""
        return b"".join(self._wave)

    def loudness(self) -> tuple[float | None, float | None]:
        """Integrated loudness (LUFS) and loudness range (LU); None where unmeasurable."""
        lufs = float(pyebur128.get_loudness_global(self._ebu))
        lra = float(pyebur128.get_loudness_range(self._ebu))
        return (lufs if math.isfinite(lufs) else None), (lra if math.isfinite(lra) else None)


def _loud(part: Chunk, threshold: float) -> npt.NDArray[np.intp]:
    """Indices of the frames of ``part`` whose sample peak exceeds ``threshold``."""
    return np.flatnonzero(np.abs(part).max(axis=0) > threshold)
