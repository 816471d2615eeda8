"""The engine's audio model: 48 kHz stereo float32 blocks shaped (channels, frames).

Every part of the engine passes audio as a ``Block``: a C-contiguous float32
array of shape ``(2, n)`` (the layout pedalboard takes), nominally ``n = 960``
frames (20 ms). Levels are linear, full scale ±1.0.
"""

from __future__ import annotations

import math
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from grimnir.domain.units import BLOCK_FRAMES, CHANNELS, SAMPLE_RATE

Block: TypeAlias = npt.NDArray[np.float32]
"""Audio of shape (CHANNELS, frames), float32."""

RATE: Final = SAMPLE_RATE
NCH: Final = CHANNELS
BLOCK: Final = int(BLOCK_FRAMES)
SILENCE_FLOOR_DB: Final = -150.0
HOLD_FRAMES: Final = 5 * BLOCK
"""A source fed from outside (a DJ, a relayed stream) holds the air this long after its
audio last arrived (100 ms: network jitter); then what plays underneath or the
fallback is heard, until its audio flows again."""


def silence(frames: int = BLOCK) -> Block:
    """A new block of digital silence."""
    return np.zeros((NCH, frames), dtype=np.float32)


class BlockBuffer:
    """A reusable work area for blocks of any length, so the block loop allocates nothing.

    ``view(n)`` is a C-contiguous ``(2, n)`` block over the first ``2·n``
    samples of one flat array (the layout pedalboard and the encoders take),
    whatever ``n`` is; the array grows only when a longer block is asked for.
    A view stays valid until the next ``view`` call that grows the buffer and
    is overwritten by the next user: hand out copies, not views.
    """

    __slots__ = ("_flat",)

    def __init__(self, frames: int = BLOCK) -> None:
        self._flat: npt.NDArray[np.float32] = np.zeros(NCH * frames, dtype=np.float32)

    def view(self, frames: int) -> Block:
        """The first ``frames`` frames as a ``(2, frames)`` block (contents undefined)."""
        size = NCH * frames
        if size > self._flat.size:
            self._flat = np.zeros(size, dtype=np.float32)
        return self._flat[:size].reshape(NCH, frames)

    def zeros(self, frames: int) -> Block:
        """``view(frames)`` filled with silence."""
        block = self.view(frames)
        block.fill(0.0)
        return block


def db_to_gain(db: float) -> float:
    """Linear gain for ``db`` decibels."""
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    """Decibels for linear ``gain`` (floored at −150 dB for silence)."""
    if gain <= 0.0:
        return SILENCE_FLOOR_DB
    return max(SILENCE_FLOOR_DB, 20.0 * math.log10(gain))


def peak_db(block: Block) -> float:
    """Sample peak of ``block`` over all channels, in dBFS."""
    if block.size == 0:
        return SILENCE_FLOOR_DB
    return gain_to_db(float(np.max(np.abs(block))))


def rms_db(block: Block) -> float:
    """RMS level of ``block`` over all channels, in dBFS."""
    if block.size == 0:
        return SILENCE_FLOOR_DB
    flat = block.reshape(-1)
    # NOTE: a float32 dot product is exact enough for a level and allocates nothing.
    return gain_to_db(math.sqrt(max(float(np.dot(flat, flat)), 0.0) / flat.size))


def to_int16_interleaved(block: Block) -> npt.NDArray[np.int16]:
    """``block`` clipped and converted to interleaved 16-bit PCM (L R L R …)."""
    clipped = np.clip(block, -1.0, 1.0)
    return np.round(clipped.T * 32767.0).astype(np.int16).reshape(-1)
