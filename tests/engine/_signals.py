"""Synthetic programme for engine tests: music-like signals at a chosen loudness."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyebur128

if TYPE_CHECKING:
    from grimnir.engine.engine import Engine

RATE = 48_000
Audio = npt.NDArray[np.float32]
MODE = pyebur128.MeasurementMode


def music_track(
    rng: np.random.Generator, seconds: float, lufs: float | None = None, phrase: bool = True
) -> Audio:
    """Stereo pink-ish noise with a beat and (``phrase``) a slow ±1–3 dB envelope, at ``lufs``."""
    n = int(seconds * RATE)
    size = 1 << (n - 1).bit_length()  # a power of two: FFTs of prime-ish lengths crawl
    spectrum = np.fft.rfft(rng.standard_normal((2, size), dtype=np.float32), axis=1)
    freqs = np.fft.rfftfreq(size, 1 / RATE).astype(np.float32)
    spectrum /= (np.maximum(freqs, 40) / 40) ** np.float32(rng.uniform(0.8, 1.2) / 2)
    spectrum[:, freqs > rng.uniform(12000, 18000)] *= 0.05
    spectrum[1] = 0.6 * spectrum[0] + 0.4 * spectrum[1]
    audio = np.fft.irfft(spectrum, size, axis=1)[:, :n]
    t = np.arange(n, dtype=np.float32) / np.float32(RATE)
    beats = t * np.float32(rng.uniform(80, 150) / 60) + np.float32(rng.uniform())
    pulse = np.abs(np.sin(np.float32(np.pi) * beats)) ** 4
    swing = np.float32(rng.uniform(1, 3) * phrase / 20)
    phrase_db = swing * np.sin(t * np.float32(2 * np.pi / rng.uniform(8, 20)) + rng.uniform(0, 6))
    audio *= (0.5 + 0.5 * pulse) * np.float32(10) ** phrase_db
    out = audio.astype(np.float32)
    if lufs is not None:
        out *= np.float32(10 ** ((lufs - integrated(out)) / 20))
    return out


def integrated(audio: Audio) -> float:
    state = pyebur128.R128State(2, RATE, MODE.MODE_I)
    state.add_frames(np.ascontiguousarray(audio.T).reshape(-1), audio.shape[1])
    return float(pyebur128.get_loudness_global(state))


def run_engine(engine: Engine, seconds: float) -> Audio:
    """Step ``engine`` block by block for ``seconds``; the master bus it produced."""
    blocks = []
    for _ in range(round(seconds * RATE / 960)):
        engine.clock.wait()
        blocks.append(engine.step())
    return np.concatenate(blocks, axis=1)
