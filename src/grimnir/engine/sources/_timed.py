"""A live source given a slot of programme time (a web stream in a clock slot)."""

from __future__ import annotations

from grimnir.engine.audio import Block
from grimnir.engine.sources._base import Source, Stalling


class TimedSource(Stalling, Source):
    """Plays ``inner`` for exactly ``frames`` engine frames, then finishes.

    A relayed stream has no length of its own; the timeline gives it one.
    Time passes whether or not the stream delivers: an underrun is reported
    (``underruns``) and heard as silence, but the slot still ends on time, so
    the next item starts where the plan says.
    """

    def __init__(self, inner: Source, frames: int) -> None:
        self.inner = inner
        self.frames = max(0, frames)
        self._pos = 0

    def read(self, frames: int) -> tuple[Block, int]:
        want = min(frames, self.frames - self._pos)
        block, got = self.inner.read(frames)
        self._count_dry(got, frames)
        if want < frames:
            block[:, want:] = 0.0
        self._pos += max(want, 0)
        return block, max(want, 0)

    def read_into(self, out: Block) -> int:
        frames = int(out.shape[1])
        want = max(0, min(frames, self.frames - self._pos))
        self._count_dry(self.inner.read_into(out), frames)
        if want < frames:
            out[:, want:] = 0.0
        self._pos += want
        return want

    @property
    def finished(self) -> bool:
        return self._pos >= self.frames

    @property
    def error(self) -> str | None:
        return self.inner.error

    @property
    def stalls(self) -> bool:
        """As the inner source: the slot's time runs on, its audio may not."""
        return self.inner.stalls

    @property
    def steady_frames(self) -> int:
        return self.inner.steady_frames

    @property
    def underruns(self) -> int:
        return self.inner.underruns

    @property
    def position_frames(self) -> int:
        return self._pos

    @property
    def duration_frames(self) -> int | None:
        return self.frames

    @property
    def buffered_frames(self) -> int:
        return self.inner.buffered_frames

    def start(self) -> None:
        self.inner.start()

    def close(self) -> None:
        self.inner.close()
