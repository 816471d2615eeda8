"""The SAME modem's numbers and the phase-continuous AFSK modulator (private).

§11.31(a): bit period 1.92 ms (520.83 bit/s); a mark (1) is 2083.3 Hz, four
cycles per bit, a space (0) 1562.5 Hz, three cycles per bit; each byte is
7-bit ASCII with a zero 8th bit, sent least significant bit first with no
start or stop bits, after a preamble of sixteen 0xAB bytes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BAUD = 1 / 0.00192
MARK_HZ = 4 * BAUD
SPACE_HZ = 3 * BAUD
PREAMBLE = bytes([0xAB] * 16)

Pcm = npt.NDArray[np.float32]


def text_bits(data: bytes) -> npt.NDArray[np.uint8]:
    """The bits of ``data`` in the order they go on air (LSB first per byte)."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")


def modulate(bits: npt.NDArray[np.uint8], rate: int, amplitude: float) -> Pcm:
    """Phase-continuous AFSK of ``bits`` at ``rate``; each bit's samples start at
    round(k · rate / baud), so the bit clock never drifts at any sample rate."""
    edges = np.round(np.arange(len(bits) + 1) * (rate / BAUD)).astype(np.int64)
    freq = np.repeat(np.where(bits == 1, MARK_HZ, SPACE_HZ), np.diff(edges))
    phase = 2 * np.pi * np.cumsum(freq) / rate
    out: Pcm = (amplitude * np.sin(phase - phase[0])).astype(np.float32)
    return out


def tones(freqs: tuple[float, ...], seconds: float, rate: int, amplitude: float) -> Pcm:
    """Equal-level sines summed to a peak of at most ``amplitude``, with 5 ms
    raised-cosine edges so the tone starts and stops without a click."""
    t = np.arange(round(seconds * rate)) / rate
    out = sum(np.sin(2 * np.pi * f * t) for f in freqs) * (amplitude / len(freqs))
    return ramp(np.asarray(out, dtype=np.float32), rate)


def ramp(pcm: Pcm, rate: int, seconds: float = 0.005) -> Pcm:
    """``pcm`` faded in and out over ``seconds`` (raised cosine)."""
    n = min(round(seconds * rate), len(pcm) // 2)
    if n:
        edge = (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)).astype(np.float32)
        pcm = pcm.copy()
        pcm[:n] *= edge
        pcm[-n:] *= edge[::-1]
    return pcm


def silence(seconds: float, rate: int) -> Pcm:
    """``seconds`` of digital silence."""
    return np.zeros(round(seconds * rate), dtype=np.float32)
