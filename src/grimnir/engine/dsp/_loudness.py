"""Level riding: loudness normalisation (BS.1770 loudness) and RMS automatic gain control.

Both nodes compute one gain per block from a slow measurement and glide to it
across the block (``GainRamp``), so the per-block cost is a few vector
operations plus, for the loudness node, libebur128's K-weighting filter.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import numpy as np
import numpy.typing as npt
import pyebur128

from grimnir.engine.audio import RATE, Block, db_to_gain
from grimnir.engine.dsp._base import F32, DspNode, GainRamp
from grimnir.engine.dsp._dynamics import LimiterNode

_STEP_FRAMES: Final = RATE // 10
"""Loudness is read every 100 ms (the BS.1770 gating-block hop)."""
_ABSOLUTE_GATE_LUFS: Final = -70.0
_DECIMATE: Final = 2
_CHANGE_LU: Final = 10.0
_CHANGE_SEC: Final = 0.3
"""When the last 0.3 s sit 10 LU or more away from the rest of the window, a new
programme has started (a track mastered at another level, a quiet speaker after
loud music): the window restarts from those 0.3 s and the gain catches up."""
_RIDE_DB_PER_SEC: Final = 3.0
"""Gain speed while riding within a programme: slow enough not to pump with the music."""
_CATCH_UP_SEC: Final = 0.15
"""After a programme change the gain closes the gap with this time constant."""
_OVERLOAD_DB: Final = 6.0
"""More than this over target is never music being loud on purpose: come down fast."""
_OVERLOAD_SEC: Final = 0.1
_LIMITER_RELEASE_MS: Final = 50.0


def _energy(lufs: float) -> float:
    return 0.0 if lufs == -math.inf else 10.0 ** ((lufs + 0.691) / 10.0)


def _lufs(energy: float) -> float:
    return -math.inf if energy <= 0.0 else 10.0 * math.log10(energy) - 0.691


class KWeightedLevel:
    """K-weighted (ITU-R BS.1770) energy of the latest audio, from libebur128's filter.

    It runs on every other sample: half the cost, and folding the top octave
    (12–24 kHz) down moves a music reading by well under 0.2 LU.
    """

    def __init__(self) -> None:
        self._interleaved: npt.NDArray[np.float32] = np.zeros(0, dtype=F32)
        self.reset()

    def reset(self) -> None:
        # NOTE: MODE_S keeps 3 s of filtered audio instead of 400 ms (for the short-term
        # reading); the filtering, which is the cost, is the same.
        modes = pyebur128.MeasurementMode.MODE_M | pyebur128.MeasurementMode.MODE_S
        self._state = pyebur128.R128State(2, RATE // _DECIMATE, modes)

    def add(self, block: Block) -> None:
        """Feed one block."""
        frames = -(-block.shape[1] // _DECIMATE)  # as many as block[:, ::_DECIMATE] has
        if self._interleaved.size != 2 * frames:
            self._interleaved = np.empty(2 * frames, dtype=F32)
        # NOTE: one strided copy per channel into a kept buffer: a third of the cost of
        # interleaving through a transposed reshape, which also allocates every call.
        interleaved = self._interleaved
        interleaved[0::2] = block[0, ::_DECIMATE]
        interleaved[1::2] = block[1, ::_DECIMATE]
        self._state.add_frames(interleaved, frames)

    def readings(self) -> tuple[float, float]:
        """Momentary (400 ms) and short-term (3 s) loudness of what was fed, in LUFS."""
        return (
            _lufs(_energy(pyebur128.get_loudness_momentary(self._state))),
            _lufs(_energy(pyebur128.get_loudness_shortterm(self._state))),
        )

    def energy(self, frames: int) -> float:
        """Energy (BS.1770: K-weighted mean squares of both channels added) of the
        last ``frames`` frames (at most 400 ms); ``_lufs`` turns it into LUFS."""
        window_ms = max(1, min(400, round(frames * 1000 / RATE)))
        return _energy(pyebur128.get_loudness_window(self._state, window_ms))


class LoudnessNormalizerNode(DspNode):
    """Rides the gain so the programme sits at ``target_lufs`` (ITU-R BS.1770 loudness).

    Every 100 ms the K-weighted loudness of the input is read (libebur128);
    the gain aims at ``target_lufs`` minus the loudness of the last
    ``window_sec``, within ±``max_gain_db``, and moves at most 3 dB/s, so it
    follows songs and speakers but not beats. Two exceptions keep level
    jumps short: more than 6 dB too loud comes down within about 0.1 s, and
    after a programme change (see ``_CHANGE_SEC``) the gain catches up within
    about 0.15 s. Readings under −70 LUFS (silence, gaps, hiss) are ignored
    and freeze the gain, so silence is never boosted. An internal look-ahead
    limiter keeps true peaks under ``true_peak_limit``; None leaves that to a
    limiter later in the chain.

    This node rides its own input. In a chain from ``build_chain`` the last
    normaliser's target holds at the chain's *output*: an output loop
    (``_output_loudness``) trims the level just before the chain's last
    limiter, and the true-peak limit holds there instead of here.
    """

    def __init__(
        self,
        target_lufs: float = -16.0,
        true_peak_limit: float | None = -1.0,
        window_sec: float = 3.0,
        max_gain_db: float = 12.0,
        *,
        name: str = "loudness_normalize",
    ) -> None:
        self.name = name
        self.target_lufs = target_lufs
        self.max_gain_db = max_gain_db
        self._window_steps = max(1, round(window_sec * 10))
        self._change_steps = min(self._window_steps, round(_CHANGE_SEC * 10))
        self._limiter = (
            None
            if true_peak_limit is None
            else LimiterNode(true_peak_limit, _LIMITER_RELEASE_MS, name=f"{name}.limiter")
        )
        self.latency_frames = 0 if self._limiter is None else self._limiter.latency_frames
        self.reset()

    def reset(self) -> None:
        self._level = KWeightedLevel()
        self._pending = 0
        self._steps: deque[float] = deque(maxlen=self._window_steps)
        self._recent: deque[float] = deque(maxlen=4)  # the last readings, silent ones too
        self._gain_db = 0.0
        self._catch_up = False
        self._ramp = GainRamp()
        if self._limiter is not None:
            self._limiter.reset()
        self.loudness_lufs = -math.inf
        """Input loudness over the window, as last measured (telemetry)."""

    @property
    def gain_db(self) -> float:
        """The gain applied now, in dB."""
        return self._gain_db

    @property
    def input_lufs(self) -> float:
        """Loudness of the input's last four readings (400 ms in 20 ms blocks; −inf before any).

        The chain's output loop reads it to tell pauses from programme.
        """
        return _lufs(sum(self._recent) / len(self._recent)) if self._recent else -math.inf

    def process(self, block: Block) -> Block:
        frames = block.shape[1]
        if frames == 0:
            return block
        self._level.add(block)
        self._pending += frames
        if self._pending >= _STEP_FRAMES:
            self._measure()
        block = self._ramp.apply(block, db_to_gain(self._gain_db))
        if self._limiter is not None:
            block = self._limiter.process(block)
        return block

    def _measure(self) -> None:
        seconds = self._pending / RATE
        step = self._level.energy(self._pending)
        self._pending = 0
        self._recent.append(step)
        if _lufs(step) < _ABSOLUTE_GATE_LUFS:
            return  # silence: neither measured nor acted on
        if not self._steps:
            self._catch_up = True  # the first reading of a programme: no need to creep
        self._steps.append(step)
        steps = list(self._steps)
        recent, older = steps[-self._change_steps :], steps[: -self._change_steps]
        latest = _lufs(sum(recent) / len(recent))
        if older and abs(latest - _lufs(sum(older) / len(older))) > _CHANGE_LU:
            self._steps.clear()
            self._steps.extend(recent)
            self._catch_up = True
        window = _lufs(sum(self._steps) / len(self._steps))
        self.loudness_lufs = window
        wanted = max(-self.max_gain_db, min(self.max_gain_db, self.target_lufs - window))
        gap = wanted - self._gain_db
        if gap < -_OVERLOAD_DB:
            move = gap * (1.0 - math.exp(-seconds / _OVERLOAD_SEC))
        elif self._catch_up:
            move = gap * (1.0 - math.exp(-seconds / _CATCH_UP_SEC))
            if abs(gap) < 1.0:
                self._catch_up = False
        else:
            limit = _RIDE_DB_PER_SEC * seconds
            move = max(-limit, min(limit, gap))
        self._gain_db += move


class AgcNode(DspNode):
    """Automatic gain control toward an RMS level (``target_level_db``, dBFS over both channels).

    The level is each block's RMS in dB, averaged over about 400 ms in the
    log domain, so a short burst moves it by its share of the time rather
    than by its energy. The gain aiming at the target falls with ``attack_ms``
    and rises with ``release_ms`` (time constants), stays within
    [``min_gain_db``, ``max_gain_db``], and holds while a block is under
    ``gate_db`` so pauses and fades are not pumped up.
    """

    _DETECT_SEC: Final = 0.4

    def __init__(
        self,
        target_level_db: float = -14.0,
        max_gain_db: float = 10.0,
        min_gain_db: float = -10.0,
        attack_ms: float = 500.0,
        release_ms: float = 2000.0,
        gate_db: float = -50.0,
        *,
        name: str = "agc",
    ) -> None:
        self.name = name
        self.target_level_db = target_level_db
        self.max_gain_db = max_gain_db
        self.min_gain_db = min_gain_db
        self.attack_ms = attack_ms
        self.release_ms = release_ms
        self._gate_energy = 10.0 ** (gate_db / 10.0)
        self._coeffs: tuple[int, float, float, float] = (0, 0.0, 0.0, 0.0)
        self.reset()

    def reset(self) -> None:
        self._level_db: float | None = None
        self._gain_db = 0.0
        self._ramp = GainRamp()

    @property
    def gain_db(self) -> float:
        """The gain applied now, in dB."""
        return self._gain_db

    def _smoothing(self, frames: int) -> tuple[float, float, float]:
        if self._coeffs[0] != frames:
            seconds = frames / RATE
            self._coeffs = (
                frames,
                1.0 - math.exp(-seconds / self._DETECT_SEC),
                1.0 - math.exp(-seconds * 1000.0 / self.attack_ms),
                1.0 - math.exp(-seconds * 1000.0 / self.release_ms),
            )
        return self._coeffs[1:]

    def process(self, block: Block) -> Block:
        frames = block.shape[1]
        if frames == 0:
            return block
        flat = block.reshape(-1)
        energy = float(np.dot(flat, flat)) / flat.size
        if energy > self._gate_energy:
            detect, attack, release = self._smoothing(frames)
            level_db = 10.0 * math.log10(energy)
            if self._level_db is None:
                self._level_db = level_db
            else:
                self._level_db += (level_db - self._level_db) * detect
            wanted = self.target_level_db - self._level_db
            wanted = max(self.min_gain_db, min(self.max_gain_db, wanted))
            rate = attack if wanted < self._gain_db else release
            self._gain_db += (wanted - self._gain_db) * rate
        return self._ramp.apply(block, db_to_gain(self._gain_db))
