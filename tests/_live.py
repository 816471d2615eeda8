"""Live sources for tests: a DJ feed scripted in the engine's own frames."""

from __future__ import annotations

import numpy as np

from grimnir.engine.audio import RATE, Block
from grimnir.engine.sources import Source, Stalling


class ScriptedLive(Source):
    """A DJ feed for tests: a tone during given windows of its own frames, then the end.

    ``windows`` are (start_s, end_s) of audio; between them the feed is
    connected but silent-and-missing (an underrun, as a stalled network gives);
    at ``end_s`` it disconnects.
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
                t = np.arange(start, start + real) / RATE
                out[:, :real] = 0.3 * np.sin(2 * np.pi * 1000 * t)
        if real < frames:
            self._underruns += 1
        return out, real

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


class ScriptedRelay(Stalling, ScriptedLive):
    """A relayed web stream for tests: a tone during ``windows`` of its own frames,
    nothing between (a stalled network, or no URL that works) and it never ends by
    itself, as a web stream chain keeps retrying."""

    def __init__(self, windows: list[tuple[float, float]]) -> None:
        super().__init__(windows, end_s=None)

    def read(self, frames: int) -> tuple[Block, int]:
        out, real = super().read(frames)
        self._count_dry(real, frames)
        return out, real
