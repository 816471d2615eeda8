"""Small, vectorised synthesis pieces for the demo library: oscillators, envelopes,
drum hits and stereo placement.

Everything works on float32 arrays at :data:`SR` (the engine's internal rate,
so nothing is resampled on air). Notes are rendered one by one over their own
span with numpy, never sample by sample in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

SR = 48_000
"""Sample rate of everything the demo generates."""

Audio = npt.NDArray[np.float32]
_TABLE = 16_384  # a power of two: the phase wraps with a bit mask


def midi_hz(note: float) -> float:
    """Frequency of a MIDI note number (69 = A4 = 440 Hz)."""
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def adsr(
    gate: int, release: int, attack: float, decay: float, sustain: float, *, curve: float = 1.6
) -> Audio:
    """An envelope held for ``gate`` samples then released over ``release`` samples.

    ``attack``/``decay`` are seconds, ``sustain`` a level 0…1; a gate shorter than
    attack + decay releases from wherever the envelope got to. ``curve`` > 1 makes
    decays and releases fall faster at first, as struck or plucked sounds do.
    """
    a = max(1, int(attack * SR))
    d = max(1, int(decay * SR))
    t = np.arange(gate, dtype=np.float32)
    held = np.interp(t, [0.0, a, a + d], [0.0, 1.0, sustain]).astype(np.float32)
    fall = held[a:] if gate > a else held[:0]
    if fall.size:  # shape only the falling part: 1 → sustain, bent by ``curve``
        span = 1.0 - sustain
        if span > 0:
            rel = np.clip((fall - sustain) / span, 0.0, 1.0)
            held[a:] = sustain + span * rel**curve
    start = float(held[-1]) if gate else 0.0
    tail = start * np.linspace(1.0, 0.0, max(1, release), dtype=np.float32) ** curve
    return np.concatenate([held, tail]).astype(np.float32)


class Wavetable:
    """A single-cycle waveform from harmonic amplitudes (additive synthesis),
    played at any pitch by stepping through the table (nearest sample of a
    table long enough that the error stays far below what MP3 keeps)."""

    def __init__(self, harmonics: Sequence[float]) -> None:
        x = np.arange(_TABLE, dtype=np.float64) / _TABLE
        wave = np.zeros(_TABLE, dtype=np.float64)
        for k, amp in enumerate(harmonics, start=1):
            wave += amp * np.sin(2.0 * np.pi * k * x)
        wave /= max(1e-9, float(np.max(np.abs(wave))))
        self.table = wave.astype(np.float32)
        self.top_harmonic = len(harmonics)

    def render(self, hz: float, n: int, *, detune_cents: float = 0.0) -> Audio:
        """``n`` samples at ``hz`` (harmonics above 18 kHz are damped against aliasing)."""
        hz *= 2.0 ** (detune_cents / 1200.0)
        index = (np.arange(n, dtype=np.float64) * (hz * _TABLE / SR)).astype(np.int64)
        index &= _TABLE - 1
        out = self.table[index]
        if hz * self.top_harmonic > 18_000:
            out *= np.float32(min(1.0, 18_000 / (hz * self.top_harmonic)))
        return out


def fm(hz: float, n: int, ratio: float, index: float, index_decay: float) -> Audio:
    """Two-operator FM: a carrier at ``hz`` modulated at ``ratio``·``hz`` with an index
    that decays (bright attack, mellow tail: bells, electric pianos)."""
    t = np.arange(n, dtype=np.float32) / SR
    depth = index * np.exp(-t / max(1e-3, index_decay))
    mod = np.sin(np.float32(2.0 * np.pi * hz * ratio) * t)
    return np.sin(np.float32(2.0 * np.pi * hz) * t + depth * mod).astype(np.float32)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power gains (left, right) for ``pan`` in -1 (left) … 1 (right)."""
    angle = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def add(out: Audio, at: int, sound: Audio, pan: float, gain: float = 1.0) -> None:
    """Mix mono ``sound`` into stereo ``out`` (2, n) from sample ``at``, panned."""
    if at >= out.shape[1] or sound.size == 0:
        return
    end = min(out.shape[1], at + sound.size)
    left, right = pan_gains(pan)
    part = sound[: end - at]
    out[0, at:end] += np.float32(gain * left) * part
    out[1, at:end] += np.float32(gain * right) * part


def kick(rng: np.random.Generator, *, tune: float = 1.0) -> Audio:
    """A synthesized bass drum: a sine swept down from ~155 Hz, with a short click."""
    n = int(0.38 * SR)
    t = np.arange(n, dtype=np.float64) / SR
    freq = tune * (46.0 + 110.0 * np.exp(-t / 0.035))
    body = np.sin(2.0 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / 0.13)
    click = rng.standard_normal(n) * np.exp(-t / 0.002) * 0.3
    return (body + click).astype(np.float32)


def snare(rng: np.random.Generator) -> Audio:
    """A snare: bright noise (first difference of white noise) over a 190 Hz tone."""
    n = int(0.22 * SR)
    t = np.arange(n, dtype=np.float64) / SR
    noise = np.diff(rng.standard_normal(n + 1)) * 0.5 * np.exp(-t / 0.055)
    tone = np.sin(2.0 * np.pi * 190.0 * t) * np.exp(-t / 0.03)
    return (0.7 * noise + 0.6 * tone).astype(np.float32)


def hat(rng: np.random.Generator, *, open_: bool = False) -> Audio:
    """A hi-hat: white noise differenced twice (only the top octaves left), very short."""
    n = int((0.2 if open_ else 0.06) * SR)
    t = np.arange(n, dtype=np.float64) / SR
    noise = np.diff(rng.standard_normal(n + 2), n=2) * 0.25
    return (noise * np.exp(-t / (0.06 if open_ else 0.012))).astype(np.float32)


def fade(
    audio: Audio, fade_in_s: float, fade_out_s: float, *, head_s: float, tail_s: float
) -> None:
    """In place: silence of ``head_s``/``tail_s`` at the ends, then S-curve fades, so
    the analyser finds real cue points, an intro and a segue."""
    n = audio.shape[1]
    head, tail = int(head_s * SR), int(tail_s * SR)
    audio[:, :head] = 0.0
    if tail:
        audio[:, n - tail :] = 0.0
    fi = min(int(fade_in_s * SR), max(0, n - head - tail))
    if fi:
        curve = np.sin(np.linspace(0.0, np.pi / 2.0, fi, dtype=np.float32)) ** 2
        audio[:, head : head + fi] *= curve
    fo = min(int(fade_out_s * SR), max(0, n - head - tail - fi))
    if fo:
        curve = np.cos(np.linspace(0.0, np.pi / 2.0, fo, dtype=np.float32)) ** 2
        audio[:, n - tail - fo : n - tail] *= curve
