"""Layers by priority, the switch between them, ducking and the fallback rule.

Four layers feed the master bus: emergency (0), live (1–2), automation (3),
fallback (4). The highest-priority layer with audio is on air; a change fades
over ``layer_fade_ms``. A ``mix`` node in the DSP graph lets several layers
sound together (a DJ's voice over the music), and a ``duck`` node lowers the
lower-priority ones while a higher one is above its threshold.

Fallback goes on air two ways. When the engine *knows* the programme (every
layer but fallback) has nothing — nothing plays, nothing is due (``mix``'s
``empty``) — it goes on at once, joining where the programme's audio ended,
and leaves the moment a programme layer plays again: the programme takes the
air on its own frame at full level while fallback fades out under it. When
programme audio is there but silent, it is decided by ear: after
``silence_duration_sec`` of silence fallback goes on air, and when programme
audio is heard again it fades out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from grimnir.domain.layers import Layer
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, SILENCE_FLOOR_DB, Block, db_to_gain, rms_db, silence
from grimnir.engine.events import MixChange

PROGRAMME_LAYERS = (Layer.EMERGENCY, Layer.LIVE, Layer.AUTOMATION)


class LayerPlayer(Protocol):
    """What plays on one layer: an input of the layer switch (``LayerMixer``).

    As in Liquidsoap's ``switch`` every input is a child of the switch: each
    block the engine asks the layers' players for their audio and the mixer
    decides what is on air. ``AutomationPlayer`` (automation, emergency),
    ``LivePlayer`` and ``FallbackPlayer`` implement it; how each is fed (a
    queue, a routed DJ, a rotation) is its own.
    """

    @property
    def active(self) -> bool:
        """True while something plays on the layer."""

    def render(self, frame0: int, n: int) -> Block | None:
        """The layer's audio for engine frames ``[frame0, frame0 + n)`` (None: nothing)."""

    def close(self) -> None:
        """Close what plays or decodes ahead (the engine closes)."""


@dataclass(frozen=True, slots=True)
class DuckSettings:
    """Lower lower-priority layers by ``amount_db`` while a higher one is loud."""

    amount_db: float = 12.0
    attack_ms: float = 50.0
    release_ms: float = 500.0
    threshold_db: float = -40.0


@dataclass(frozen=True, slots=True)
class MixSettings:
    """Layers that sound together instead of replacing each other, with gains."""

    inputs: tuple[Layer, ...]
    gains_db: tuple[float, ...] = ()


class SilenceWatch:
    """Counts how long a signal stayed below a threshold, block by block."""

    def __init__(self, threshold_db: float, duration_ms: int) -> None:
        self.threshold_db = threshold_db
        self.duration_ms = duration_ms
        self.silent_ms = 0
        self._one = silence(BLOCK)

    def update(self, block: Block | None, frames: int) -> bool:
        """Feed one block (None: nothing played); True while it counts as dead air.

        A span of several 20 ms blocks counts block by block, as if fed one at a time.
        """
        if frames > BLOCK and frames % BLOCK == 0:
            self._update_blocks(block, frames // BLOCK)
            return self.silent_ms >= self.duration_ms
        block_ms = frames * 1000 // 48_000
        if block is None or rms_db(block) < self.threshold_db:
            self.silent_ms += block_ms
        else:
            self.silent_ms = 0
        return self.silent_ms >= self.duration_ms

    def _update_blocks(self, block: Block | None, count: int) -> None:
        """``update`` for ``count`` whole blocks, with the very decisions one at a time gives."""
        block_ms = BLOCK * 1000 // 48_000
        if block is None:
            self.silent_ms += count * block_ms
            return
        if self.threshold_db <= SILENCE_FLOOR_DB + 1.0 or not block.flags.c_contiguous:
            silent = [self._silent(block[:, k * BLOCK : (k + 1) * BLOCK]) for k in range(count)]
        else:
            # NOTE: a vectorised level screens the blocks; only one within 0.05 dB of
            # the threshold is measured again exactly as a single block is.
            rows = block.reshape(block.shape[0], count, BLOCK)
            mean_square = np.einsum("ijk,ijk->j", rows, rows) / np.float32(rows[:, 0].size)
            limit = 10.0 ** (self.threshold_db / 10.0)
            silent = list(mean_square < limit * 0.99)
            for k in np.flatnonzero(np.abs(mean_square - limit) <= limit * 0.01):
                silent[k] = self._silent(block[:, k * BLOCK : (k + 1) * BLOCK])
        for is_silent in silent:
            self.silent_ms = self.silent_ms + block_ms if is_silent else 0

    def _silent(self, part: Block) -> bool:
        # NOTE: copied to a contiguous block first: the very sum a single block gets.
        self._one[...] = part
        return rms_db(self._one) < self.threshold_db

    def blocks_to_dead_air(self) -> int:
        """How many more silent 20 ms blocks reach dead air (at least 1)."""
        block_ms = BLOCK * 1000 // 48_000
        return max(1, -(-(self.duration_ms - self.silent_ms) // block_ms))


class LayerMixer:
    """Mixes the layers' blocks into the master bus with fades between layers."""

    def __init__(
        self,
        *,
        layer_fade_ms: int = 500,
        silence_threshold_db: float = -50.0,
        silence_duration_ms: int = 10_000,
        fallback_enabled: bool = True,
        mix: MixSettings | None = None,
        duck: DuckSettings | None = None,
    ) -> None:
        self._fade_frames = max(1, int(millis_to_frames(Millis(layer_fade_ms))))
        self.gains = {layer: 0.0 for layer in Layer}
        self.on_air: Layer | None = None
        self.fallback_enabled = fallback_enabled
        """Whether fallback has anything to play (the engine updates it every block)."""
        self.fallback_on = False
        self._fallback_by_ear = False
        """Fallback went on for silence (not for an empty programme)."""
        self.silence = SilenceWatch(silence_threshold_db, silence_duration_ms)
        self._duck_gain = 1.0
        self.configure(mix, duck)

    def configure(self, mix: MixSettings | None, duck: DuckSettings | None) -> None:
        """Set (or replace, on a new DSP graph) which layers mix and what ducks."""
        self._mix = mix
        self._mix_gain = {layer: 1.0 for layer in Layer}
        if mix is not None:
            for layer, gain_db in zip(mix.inputs, mix.gains_db, strict=False):
                self._mix_gain[layer] = db_to_gain(gain_db)
        self._duck = duck

    def targets(self, active: dict[Layer, bool]) -> dict[Layer, float]:
        """Where each layer's gain is heading, given which layers have audio."""
        target = dict.fromkeys(Layer, 0.0)
        if self.fallback_on:
            target[Layer.FALLBACK] = 1.0
            return target
        playing = [layer for layer in PROGRAMME_LAYERS if active.get(layer)]
        if not playing:
            # NOTE: a moment with nothing playing changes nobody's gain: the layer
            # on air stays on air (silent; dead-air detection judges it), so the
            # next item does not fade in from a layer switch that never happened.
            return dict(self.gains)
        top = min(playing, key=lambda layer: layer.priority)
        target[top] = 1.0
        if self._mix is not None and top in self._mix.inputs:
            for layer in self._mix.inputs:
                if active.get(layer):
                    target[layer] = 1.0
        return target

    def _ramp(self, layer: Layer, goal: float, n: int) -> np.ndarray | float:
        current = self.gains[layer]
        if current == goal:
            return current
        step = n / self._fade_frames
        new = min(goal, current + step) if goal > current else max(goal, current - step)
        if abs(new - goal) < 1e-9:
            new = goal  # NOTE: ten steps of 0.1 must end the fade, not leave 1e-17 of it
        self.gains[layer] = new
        return np.linspace(current, new, n, endpoint=False, dtype=np.float32)

    def mix(
        self,
        blocks: dict[Layer, Block],
        active: dict[Layer, bool],
        *,
        empty: bool = False,
        frames: int | None = None,
    ) -> tuple[Block, list[MixChange]]:
        """Master-bus block for this block's layer audio; returns changes that happened.

        ``blocks`` holds the audio each programme layer rendered (and fallback's
        when asked for via ``wants_fallback_audio``, or when ``empty``);
        ``active`` says which layers have something playing; ``empty`` that the
        programme has nothing now nor soon (fallback, if enabled, goes on now).
        """
        changes: list[MixChange] = []
        if frames is not None:
            n = frames  # NOTE: several blocks at once only where ``steady`` said so
        else:
            n = next(iter(blocks.values())).shape[1] if blocks else BLOCK
        hold: list[Layer] = []
        if self.fallback_on and not self._fallback_by_ear:
            if any(active.get(layer) for layer in PROGRAMME_LAYERS):
                self.fallback_on = False
                self.silence.silent_ms = 0  # the empty stretch was no dead air
                changes.append("fallback.ended")
        elif not self.fallback_on and empty and self.fallback_enabled:
            self.fallback_on = True
            self._fallback_by_ear = False
            changes.append("fallback.started")
        target = self.targets(active)
        if all(gain == 0.0 for gain in self.gains.values()):
            # Nothing was audible: there is nothing to fade from.
            self.gains.update(target)
        elif "fallback.started" in changes:
            # NOTE: the programme layers play nothing after this block: fallback
            # joins at full level where their audio ended (its first item starts
            # there), and what they played before that keeps its gain.
            hold = [layer for layer in PROGRAMME_LAYERS if self.gains[layer] > 0.0]
            self.gains[Layer.FALLBACK] = 1.0
        elif "fallback.ended" in changes:
            # The programme takes the air on its own frame (its audio starts in this
            # block); fallback fades out under it.
            for layer in PROGRAMME_LAYERS:
                if target[layer] > 0.0:
                    self.gains[layer] = target[layer]
        # NOTE: dead air is judged on the programme layers as they are, before
        # layer gains: while fallback is on air they are faded down, but their
        # return must still be heard.
        programme = [blocks[layer] for layer in PROGRAMME_LAYERS if layer in blocks]
        if len(programme) > 1:
            programme = [sum(programme[1:], programme[0].copy())]
        duck = self._duck_gains(blocks, target, n)
        out: Block | None = None
        owned = False  # whether ``out`` is ours to add into (not a layer's own block)
        for layer in Layer:
            gain = self.gains[layer] if layer in hold else self._ramp(layer, target[layer], n)
            block = blocks.get(layer)
            if block is None:
                continue
            scale = gain * self._mix_gain[layer]
            if layer in duck:
                scale = scale * duck[layer]
            unity = isinstance(scale, float) and scale == 1.0
            if isinstance(scale, float) and scale == 0.0:
                continue
            if out is None:
                # The common case, one layer at unity gain, costs no copy at all.
                out, owned = (block, False) if unity else (block * scale, True)
            elif owned:
                out += block if unity else block * scale
            else:
                out, owned = out + (block if unity else block * scale), True
        for layer in hold:
            self.gains[layer] = 0.0
        if out is None:
            out = silence(n)
        on_air = max(target, key=lambda layer: (target[layer], -layer.priority))
        new_on_air = on_air if target[on_air] > 0 else None
        if new_on_air != self.on_air:
            self.on_air = new_on_air
            changes.append("layer.changed")
        dead_air = self.silence.update(programme[0] if programme else None, n)
        if self.fallback_enabled and dead_air and not self.fallback_on:
            self.fallback_on = True
            self._fallback_by_ear = True
            changes.append("silence.detected")
        elif self.fallback_on and self._fallback_by_ear and self.silence.silent_ms == 0:
            self.fallback_on = False
            changes.append("silence.cleared")
        return out, changes

    def steady(self, active: dict[Layer, bool], *, fallback: bool = False) -> bool:
        """Whether mixing changes nothing while ``active`` holds and fallback stays as it is.

        Steady: fallback is off and silent, every layer gain sits at its target
        (no layer fade runs), the layer on air stays and nothing ducks. Blocks
        that also cannot reach dead air (``silence.blocks_to_dead_air``) or an
        empty air with fallback ready may then mix in one call (``frames``),
        with the very samples and counts they get block by block.

        With ``fallback``: the same, with fallback on the air because the air was
        empty (not by ear: the programme's level decides when that ends); it stays
        until a programme layer is ``active`` again.
        """
        if fallback:
            if not self.fallback_on or self._fallback_by_ear:
                return False
            if any(active.get(layer) for layer in PROGRAMME_LAYERS):
                return False
        elif self.fallback_on or self.wants_fallback_audio:
            return False
        target = self.targets(active)
        if any(self.gains[layer] != target[layer] for layer in Layer):
            return False
        on_air = max(target, key=lambda layer: (target[layer], -layer.priority))
        if (on_air if target[on_air] > 0 else None) != self.on_air:
            return False
        if self._duck is not None and self._mix is not None:
            return sum(1 for layer in self._mix.inputs if target[layer] > 0) < 2
        return True

    @property
    def wants_fallback_audio(self) -> bool:
        """True while fallback is audible or fading, so its player must advance."""
        return self.fallback_on or self.gains[Layer.FALLBACK] > 0.0

    def _duck_gains(
        self, blocks: dict[Layer, Block], target: dict[Layer, float], n: int
    ) -> dict[Layer, float]:
        if self._duck is None or self._mix is None:
            return {}
        audible = [layer for layer in self._mix.inputs if target[layer] > 0 and layer in blocks]
        if len(audible) < 2:
            self._duck_gain = 1.0
            return {}
        top = min(audible, key=lambda layer: layer.priority)
        loud = rms_db(blocks[top]) > self._duck.threshold_db
        goal = db_to_gain(-self._duck.amount_db) if loud else 1.0
        time_ms = self._duck.attack_ms if goal < self._duck_gain else self._duck.release_ms
        # NOTE: one-pole smoothing per block; a block is 20 ms.
        coeff = 1.0 - float(np.exp(-(n / 48.0) / max(time_ms, 1.0)))
        self._duck_gain += (goal - self._duck_gain) * coeff
        return {layer: self._duck_gain for layer in audible if layer is not top}
