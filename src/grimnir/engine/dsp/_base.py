"""What every DSP node is, and the shared pieces of the nodes.

A node takes one master-bus block and returns a block of the same shape. Nodes
keep their state between calls (filter memories, envelopes, delay lines), so a
programme processed block by block sounds exactly as if it were processed in
one piece; ``reset()`` forgets that state (a new programme, a seek in tests).
"""

from __future__ import annotations

import abc
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from grimnir.engine.audio import RATE, Block

F32: Final = np.float32


class DspNode(abc.ABC):
    """One processing step of the master bus.

    ``latency_frames`` is how many frames the node delays the audio (look-ahead
    limiters do); it never changes while the node lives, so the chain's total
    latency is a constant the engine can account for.
    """

    name: str
    latency_frames: int = 0

    @abc.abstractmethod
    def process(self, block: Block) -> Block:
        """Process ``block`` (shape (2, frames)); may modify and return the same buffer."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all state, as if freshly built."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class _Plugin(Protocol):
    """The slice of ``pedalboard.Plugin`` (and ``Pedalboard``) the nodes call."""

    def __call__(
        self,
        audio: npt.NDArray[np.float32],
        sample_rate: float,
        /,
        buffer_size: int = ...,
        reset: bool = ...,
    ) -> npt.NDArray[np.float32]: ...

    def reset(self) -> None: ...


class PluginNode(DspNode):
    """A node backed by one pedalboard plugin (or a ``Pedalboard`` of several).

    The plugin is created once and called with ``reset=False``, so its
    envelopes and filter memories run on across blocks (block-wise output
    equals one-shot output). ``plugin`` None makes a pass-through node (an
    equalizer whose bands are all 0 dB, say).
    """

    def __init__(self, name: str, plugin: _Plugin | None) -> None:
        self.name = name
        self._plugin = plugin

    def process(self, block: Block) -> Block:
        if self._plugin is None:
            return block
        return self._plugin(block, RATE, buffer_size=block.shape[1], reset=False)

    def reset(self) -> None:
        if self._plugin is not None:
            self._plugin.reset()


class GainRamp:
    """Applies a gain that changes once per block, ramped linearly across the block.

    Stepping a gain at block edges clicks (a 20 ms staircase is audible as
    zipper noise); a straight ramp from the last block's gain to this one's
    costs three small vector operations and is inaudible. Changes under
    0.01 dB are applied as a plain gain: far below audibility, and cheaper.
    """

    _TINY: Final = 1e-3  # relative change, ≈ 0.009 dB

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain
        self._ramp: npt.NDArray[np.float32] = np.zeros(0, dtype=F32)
        self._curve: npt.NDArray[np.float32] = np.zeros(0, dtype=F32)

    def apply(self, block: Block, target: float) -> Block:
        """Multiply ``block`` in place by a ramp from the current gain to ``target``."""
        start = self.gain
        self.gain = target
        if abs(target - start) <= self._TINY * start:
            if target != 1.0:
                block *= F32(target)
            return block
        frames = block.shape[1]
        if self._ramp.size != frames:
            self._ramp = (np.arange(1, frames + 1, dtype=np.float64) / frames).astype(F32)
            self._curve = np.empty(frames, dtype=F32)
        curve = self._curve
        np.multiply(self._ramp, F32(target - start), out=curve)
        curve += F32(start)
        block *= curve
        return block
