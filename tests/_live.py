"""Live sources for tests: a DJ feed scripted in the engine's own frames."""

from __future__ import annotations

import numpy as np

from grimnir.engine.audio import BLOCK, RATE, Block
from grimnir.engine.engine import Engine
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.sources import Source, Stalling, TimedSource

_PERIOD = RATE // 1000
"""The feeds' 1 kHz tone repeats every 48 frames: reads copy from one table."""
_TONE = np.zeros(0, dtype=np.float32)


def _tone(frames: int) -> np.ndarray:
    """At least ``frames`` frames of the tone from phase 0."""
    global _TONE
    if _TONE.size < frames:
        period = 0.3 * np.sin(2 * np.pi * np.arange(_PERIOD) / _PERIOD)
        # NOTE: one period repeated: the same samples whatever phase a read starts at
        _TONE = np.tile(period.astype(np.float32), -(-max(frames, 2 * _TONE.size, RATE) // _PERIOD))
    return _TONE


class ScriptedLive(Stalling, Source):
    """A DJ feed for tests: a tone during given windows of its own frames, then the end.

    ``windows`` are (start_s, end_s) of audio; between them the feed is
    connected but silent-and-missing (an underrun, as a stalled network gives);
    at ``end_s`` it disconnects. Fed from outside, it ``stalls`` as the harbor's
    sources do, and knows its script (``steady_frames``), so offline renders mix
    its steady stretches in one call.
    """

    def __init__(self, windows: list[tuple[float, float]], end_s: float | None) -> None:
        self._windows = [(int(a * RATE), int(b * RATE)) for a, b in windows]
        self._end = None if end_s is None else int(end_s * RATE)
        self._pos = 0
        self._underruns = 0
        self.closed = False

    def read(self, frames: int) -> tuple[Block, int]:
        out = np.zeros((2, frames), dtype=np.float32)
        start = self._pos
        self._pos += frames
        real = 0
        for a, b in self._windows:
            if a <= start < b:
                real = min(frames, b - start)
                phase = start % _PERIOD
                out[:, :real] = _tone(phase + real)[phase : phase + real]
        if real < frames:
            # one per block short of audio, however many blocks one read spans
            self._underruns += -(-(frames - real) // BLOCK)
        self._count_dry(real, frames)
        return out, real

    @property
    def steady_frames(self) -> int:
        """Audio to the end of this window, or none until the next (a read delivers
        only from a window it starts in)."""
        pos = self._pos
        for a, b in self._windows:
            if a <= pos < b:
                return self._steady(True, b - pos)
            if pos < a:
                return self._steady(False, a - pos)
        return self._steady(False, 1 << 40)  # nothing more

    @property
    def finished(self) -> bool:
        return self.closed or (self._end is not None and self._pos >= self._end)

    @property
    def error(self) -> str | None:
        return None

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def position_frames(self) -> int:
        return self._pos

    @property
    def duration_frames(self) -> int | None:
        return None

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    @classmethod
    def with_drops(cls, seconds: float, drops: list[tuple[float, float]]) -> ScriptedLive:
        """A feed of ``seconds`` that drops out at (after s, for s), then disconnects."""
        windows, at = [], 0.0
        for after, length in sorted(drops):
            windows.append((at, after))
            at = after + length
        windows.append((at, seconds))
        return cls([(a, b) for a, b in windows if b > a], end_s=seconds)


class ToneLive(ScriptedLive):
    """A DJ feed: a 1 kHz tone for ``seconds`` of its own frames, then it disconnects."""

    def __init__(self, seconds: float) -> None:
        super().__init__([(0, seconds)], end_s=seconds)


class ScriptedRelay(ScriptedLive):
    """A relayed web stream for tests: a tone during ``windows`` of its own frames,
    nothing between (a stalled network, or no URL that works) and it never ends by
    itself, as a web stream chain keeps retrying."""

    def __init__(self, windows: list[tuple[float, float]]) -> None:
        super().__init__(windows, end_s=None)


class RelayEngine(Engine):
    """An engine whose ``http://relay.test/`` URLs are scripted relays (what the
    remote server sends: audio in ``relay_windows``, nothing between), each given
    its entry's slot (``cue_out``) as a web stream is."""

    relay_windows: tuple[tuple[float, float], ...] = ()

    def _make_source(self, item: PlayItem) -> Source:
        if not item.path.startswith("http://relay.test/"):
            return super()._make_source(item)
        frames = round(int(item.cue.cue_out or 0) * RATE / 1000)
        return TimedSource(ScriptedRelay(list(self.relay_windows)), frames)
