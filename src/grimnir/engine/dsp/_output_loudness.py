"""Output loudness: the closed loop that holds what leaves the chain at the target.

``loudness_normalize`` rides its *input* toward ``target_lufs``, but the nodes
after it change the level again: an RMS AGC undoes any gain put before it, a
compressor and a limiter take the peaks down. With the example station's chain
(normaliser, AGC, compressor, limiter) a −16 LUFS target left music at −17.5
LUFS, speech at −17.8 and white noise at −13.9, and moving the normaliser's
target by 12 dB moved those by 1.3 LU at most. So ``build_chain`` closes a
loop over the whole chain, with two nodes sharing one ``OutputLoudnessLoop``:

- ``OutputProbeNode``, last in the chain, measures what listeners get;
- ``LoudnessTrimNode``, just before the chain's last limiter (which then still
  holds the true peak), applies the correction the loop decides.

Every 100 ms the loop reads the K-weighted loudness of the last 400 ms of
output (the gating blocks of ITU-R BS.1770), divides out the trim in force and
keeps 20 s of these readings. Their gated mean (BS.1770's relative gate, −10
LU) is how loud the chain is without the trim; the trim aims at the target
minus that, within ±12 dB (boosting no more than the node's ``max_gain_db``),
and moves at most 0.3 dB/s (after a reset it first catches up, with a 1 s time
constant, until within 0.5 dB of that aim). Dividing the trim out keeps the window's delay out
of the loop, so the trim does not overshoot on its own history; what the
limiter after the trim takes off stays in the readings, so the trim keeps
pushing until the output itself is on target.

Pauses hold the trim: a reading counts only when the output is within 20 LU
of the target and the normaliser's input is programme, not more than 10 LU
under the quietest input it lifts to the target (``target_lufs −
max_gain_db``). The second test matters because the AGC and the normaliser
lift room tone by 20 dB or more before the loop sees it.

Per block the cost is libebur128's K-weighting filter on every other sample,
like the normaliser's own input meter (it reads 0.1–0.2 LU off a full-rate
meter on broadband noise); no true peak is computed here, the limiter does
that once.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import numpy as np
import numpy.typing as npt

from grimnir.engine.audio import RATE, Block, db_to_gain
from grimnir.engine.dsp._base import DspNode, GainRamp
from grimnir.engine.dsp._dynamics import LimiterNode
from grimnir.engine.dsp._loudness import (
    _ABSOLUTE_GATE_LUFS,
    _LIMITER_RELEASE_MS,
    KWeightedLevel,
    LoudnessNormalizerNode,
    _energy,
    _lufs,
)

_HOP: Final = RATE // 10
"""A reading every 100 ms (the BS.1770 gating-block hop), whatever the chunk size."""
_HOPS_PER_BLOCK: Final = 4
"""Each reading covers the last four hops, 400 ms (a BS.1770 gating block)."""
WINDOW_SEC: Final = 20.0
"""How much programme the loop's loudness covers."""
_WINDOW_READINGS: Final = round(WINDOW_SEC * RATE / _HOP)
_RELATIVE_GATE: Final = 0.1
"""BS.1770's relative gate: readings 10 LU under the window's mean do not count."""
QUIET_LU: Final = 20.0
"""Output readings this far under the target are pauses, fades or room tone, not programme."""
PAUSE_LU: Final = 10.0
"""Input this far (BS.1770's relative gate) under the quietest input the normaliser lifts to
the target (``target_lufs - max_gain_db``) is a pause, even where later nodes boost it."""
SLEW_DB_PER_SEC: Final = 0.3
"""Fastest trim change (3 dB per 10 s): a correction of the chain, never a ride of the music."""
_CATCH_UP_SEC: Final = 1.0
"""After a reset (engine start, new graph) the trim closes its gap with this time constant,
until within ``_CAUGHT_UP_DB`` of its aim: a chain 8 dB off would take half a minute at
the riding speed."""
_CAUGHT_UP_DB: Final = 0.5
TRIM_RANGE_DB: Final = 12.0


class OutputLoudnessLoop:
    """The measurement and the trim of the output loop (see the module docstring).

    ``observe`` takes what leaves the chain; ``trim_db`` is the correction to
    apply before the chain's last limiter. Same audio in, same trims out.
    """

    def __init__(
        self,
        target_lufs: float,
        max_gain_db: float = TRIM_RANGE_DB,
        normalizer: LoudnessNormalizerNode | None = None,
    ) -> None:
        self.target_lufs = target_lufs
        self._low = -TRIM_RANGE_DB
        self._high = max(0.0, min(TRIM_RANGE_DB, max_gain_db))
        self._quiet = _energy(max(target_lufs - QUIET_LU, _ABSOLUTE_GATE_LUFS))
        self._normalizer = normalizer
        self._pause_lufs = max(target_lufs - max_gain_db - PAUSE_LU, _ABSOLUTE_GATE_LUFS)
        self._step_limit = SLEW_DB_PER_SEC * _HOP / RATE
        self._catch_up_step = 1.0 - math.exp(-_HOP / RATE / _CATCH_UP_SEC)
        self.reset()

    def reset(self) -> None:
        self._level = KWeightedLevel()
        self._phase = 0  # frames since the last reading
        # NOTE: energies add up, so the last four 100 ms reads make the 400 ms gating block;
        # reading libebur128's 400 ms window itself would filter-sum 4× the samples every hop.
        self._hops: deque[float] = deque(maxlen=_HOPS_PER_BLOCK)
        self._readings: npt.NDArray[np.float64] = np.zeros(_WINDOW_READINGS, dtype=np.float64)
        self._count = 0
        self._next = 0
        self._catch_up = True
        self.trim_db = 0.0
        """The correction applied now, in dB."""
        self.chain_lufs = -math.inf
        """Gated loudness of the last 20 s of output with the trim divided out (telemetry)."""

    @property
    def level(self) -> KWeightedLevel:
        """The K-weighted measurement of the output (momentary and short-term readings)."""
        return self._level

    @property
    def output_lufs(self) -> float:
        """Loudness the chain gives with the present trim (−inf before any programme)."""
        return self.chain_lufs + self.trim_db

    def observe(self, block: Block) -> None:
        """Measure a block that left the chain; may move ``trim_db``."""
        frames = block.shape[1]
        if self._phase + frames < _HOP:  # most blocks: no reading due
            self._level.add(block)
            self._phase += frames
            return
        start = 0
        while start < frames:
            take = min(frames - start, _HOP - self._phase)
            piece = block if take == frames else block[:, start : start + take]
            self._level.add(piece)
            start += take
            self._phase += take
            if self._phase >= _HOP:
                self._phase = 0
                self._read()

    def _read(self) -> None:
        self._hops.append(self._level.energy(_HOP))
        if len(self._hops) < _HOPS_PER_BLOCK:
            return  # the first 400 ms after a reset
        energy = sum(self._hops) / _HOPS_PER_BLOCK
        if energy < self._quiet or (
            self._normalizer is not None and self._normalizer.input_lufs < self._pause_lufs
        ):
            return  # silence or a pause: neither measured nor acted on
        self._readings[self._next] = energy / db_to_gain(self.trim_db) ** 2
        self._next = (self._next + 1) % _WINDOW_READINGS
        self._count = min(self._count + 1, _WINDOW_READINGS)
        window = self._readings[: self._count]
        total = float(window.sum())
        gate = total / self._count * _RELATIVE_GATE
        # NOTE: within a programme no reading is 10 LU under the mean; checking the
        # minimum first skips the masking (most of this method's cost) in that case.
        if float(window.min()) < gate:
            gated = window[window >= gate]
            total, count = float(gated.sum()), gated.size
        else:
            count = self._count
        self.chain_lufs = _lufs(total / count)
        wanted = max(self._low, min(self._high, self.target_lufs - self.chain_lufs))
        gap = wanted - self.trim_db
        if self._catch_up:
            self._catch_up = abs(gap) >= _CAUGHT_UP_DB
            self.trim_db += gap * self._catch_up_step
        else:
            self.trim_db += max(-self._step_limit, min(self._step_limit, gap))


class LoudnessTrimNode(DspNode):
    """Applies the output loop's trim (a gain ramped across each block).

    ``build_chain`` puts it just before the chain's last limiter. When no
    limiter there holds the normaliser's ``true_peak_limit``, this node
    carries one after the trim (``true_peak_limit`` not None), so the ceiling
    still holds at the output.
    """

    def __init__(
        self, loop: OutputLoudnessLoop, true_peak_limit: float | None = None, *, name: str
    ) -> None:
        self.name = name
        self.loop = loop
        self._limiter = (
            None
            if true_peak_limit is None
            else LimiterNode(true_peak_limit, _LIMITER_RELEASE_MS, name=f"{name}.limiter")
        )
        self.latency_frames = 0 if self._limiter is None else self._limiter.latency_frames
        self.reset()

    def reset(self) -> None:
        self._ramp = GainRamp()
        if self._limiter is not None:
            self._limiter.reset()

    @property
    def trim_db(self) -> float:
        """The trim applied now, in dB."""
        return self.loop.trim_db

    def process(self, block: Block) -> Block:
        if block.shape[1] == 0:
            return block
        block = self._ramp.apply(block, db_to_gain(self.loop.trim_db))
        if self._limiter is not None:
            block = self._limiter.process(block)
        return block


class OutputProbeNode(DspNode):
    """Pass-through at the end of the chain: feeds what listeners get to the loop."""

    def __init__(self, loop: OutputLoudnessLoop, *, name: str) -> None:
        self.name = name
        self.loop = loop

    def reset(self) -> None:
        self.loop.reset()

    def process(self, block: Block) -> Block:
        if block.shape[1]:
            self.loop.observe(block)
        return block
