"""The interface every source implements, and the buffer decode-ahead sources fill.

A source turns something outside the engine (a file, a live DJ, a web stream,
a test tone) into 48 kHz stereo float32 audio, one block at a time. The block
loop calls ``read`` once per block and must never wait on a network or a disk
in real time, so sources that decode do it on a worker thread into a
``FrameBuffer`` and the loop only copies out of it.
"""

from __future__ import annotations

import abc
import threading
from collections import deque
from types import TracebackType
from typing import Self

import numpy as np

from grimnir.engine.audio import HOLD_FRAMES, Block


class Source(abc.ABC):
    """Audio coming into the engine, delivered in blocks on demand.

    ``read`` is called from the block loop: it must be cheap and must not
    raise; problems show up as ``error``, ``underruns`` and zeros instead.
    """

    @property
    def stalls(self) -> bool:
        """True for audio fed from outside as it arrives (relays, contribution feeds):
        it may run dry at any block (``dry_frames``), so the engine looks at it every block."""
        return False

    @abc.abstractmethod
    def read(self, frames: int) -> tuple[Block, int]:
        """A new block of exactly ``frames`` frames and how many are real audio.

        Real audio comes first; the rest are zeros. Fewer than ``frames`` are
        real only at the very end of the source or on an underrun.
        """

    @property
    @abc.abstractmethod
    def finished(self) -> bool:
        """True once everything has been delivered (or the source failed)."""

    @property
    @abc.abstractmethod
    def error(self) -> str | None:
        """Why the source failed, written for a station engineer; None if fine."""

    @property
    @abc.abstractmethod
    def underruns(self) -> int:
        """How many reads could not be filled in time."""

    @property
    @abc.abstractmethod
    def position_frames(self) -> int:
        """Frames of real audio delivered since cue-in."""

    @property
    @abc.abstractmethod
    def duration_frames(self) -> int | None:
        """Playable length between the cue points, when known."""

    @property
    def dry_frames(self) -> int:
        """Frames since the source last delivered real audio; 0 while it flows.

        Only sources that ``stalls`` run dry before their end: a relay whose
        network stalled, or whose URLs all failed. Such a source holds the air
        only while its audio flows (``grimnir.engine.audio.HOLD_FRAMES``).
        """
        return 0

    @property
    def steady_frames(self) -> int:
        """For sources that ``stalls``: frames ahead through which it is known to go
        on as it is, holding the air or not (0: it may change in the next block).

        An offline render mixes that many frames at once instead of looking at
        the source every block. A source on a network cannot know; a scripted
        one (tests, simulations) can.
        """
        return 0

    @property
    def buffered_frames(self) -> int:
        """Frames decoded ahead and waiting (buffer depth, for telemetry)."""
        return 0

    @property
    def length_final(self) -> bool:
        """True when ``duration_frames`` will not change any more.

        A decoder may start from the container's estimate and learn the exact
        length only at the end. Sources whose length is what it is say True.
        """
        return True

    def read_into(self, out: Block) -> int:
        """Fill ``out`` (shape (2, n), any view) as ``read(n)`` would; return the real frames.

        The block loop reads this way into its own reused buffers. The default
        copies what ``read`` returns; sources that can deliver straight into
        ``out`` override it.
        """
        block, real = self.read(out.shape[1])
        out[...] = block
        return real

    def settle(self, frames: int) -> None:
        """Offline only: wait until ``frames`` more frames are decoded ahead or the end is known.

        After it, either ``length_final`` is True or at least ``frames`` (up
        to the source's buffer) wait in ``buffered_frames``, so an offline
        render decides where the item ends the same way on every run. Sources
        that never wait (real time, live) return at once.
        """
        return None

    @abc.abstractmethod
    def start(self) -> None:
        """Begin producing audio (start worker threads, connect)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop promptly and release everything; safe to call more than once."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Stalling:
    """For a ``Source`` fed from outside as its audio arrives (listed before ``Source``
    in the bases): ``stalls`` is True and ``dry_frames`` counts from ``_count_dry``,
    which the source calls after every read."""

    _dry: int = 0

    @property
    def stalls(self) -> bool:
        return True

    @property
    def dry_frames(self) -> int:
        return self._dry

    def _count_dry(self, got: int, frames: int) -> None:
        """After a read of ``frames`` frames that delivered ``got`` of them (real audio
        comes first in a block, so a short read ends dry)."""
        self._dry = self._dry + frames if got <= 0 else frames - got

    def _steady(self, flowing: bool, frames: int) -> int:
        """``steady_frames`` for a source that knows its next ``frames`` frames are all
        real audio (``flowing``) or all missing: how long it holds the air, or does
        not, without a change (0 when it changes within them)."""
        if frames <= 0:
            return 0
        holds = self._dry < HOLD_FRAMES
        if flowing:
            return frames if holds else 0  # NOTE: a dry source takes the air back at once
        return 0 if holds else frames  # NOTE: it lets go HOLD_FRAMES into the dry spell


class FrameBuffer:
    """A bounded, thread-safe queue of audio frames between a producer and the block loop.

    The producer ``put``s chunks of any length and waits while the buffer is
    full (until a quarter of it has been taken); the consumer ``take``s
    exactly the frames it wants, waiting or not.
    ``finish`` marks the end of the audio; ``close`` drops everything and wakes
    a waiting producer so its thread can end.
    """

    def __init__(self, capacity_frames: int) -> None:
        self.capacity_frames = max(1, capacity_frames)
        # NOTE: a full buffer's producer sleeps until a quarter has been taken,
        # then refills in one burst: one thread wake-up per quarter buffer,
        # not one per block.
        self._low_water = self.capacity_frames - max(1, self.capacity_frames // 4)
        self._chunks: deque[Block] = deque()
        self._head = 0  # frames of _chunks[0] already taken
        self._frames = 0
        self._done = False
        self._closed = False
        self._need = 0  # frames a waiting taker still needs; it is woken only then
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._not_empty = threading.Condition(self._lock)

    @property
    def frames(self) -> int:
        """Frames waiting to be taken."""
        return self._frames

    @property
    def done(self) -> bool:
        """The producer has finished (or the buffer was closed)."""
        return self._done or self._closed

    @property
    def drained(self) -> bool:
        """Finished and nothing left to take."""
        return self.done and self._frames == 0

    def put(self, chunk: Block) -> bool:
        """Append ``chunk`` (shape (2, n)), waiting while full; False once closed.

        The chunk is kept, not copied: the producer must not reuse it. A chunk
        is accepted whenever there is any room, so a buffer smaller than one
        chunk still makes progress.
        """
        with self._lock:
            while self._frames >= self.capacity_frames and not self._closed:
                self._not_full.wait()
            if self._closed:
                return False
            if chunk.shape[1]:
                self._chunks.append(chunk)
                self._frames += chunk.shape[1]
                if self._frames >= self._need:
                    self._not_empty.notify_all()
            return True

    def finish(self) -> None:
        """Mark the end of the audio: takers stop waiting once it is drained."""
        with self._lock:
            self._done = True
            self._not_empty.notify_all()

    def close(self) -> None:
        """Drop the buffered audio and release a producer blocked in ``put``."""
        with self._lock:
            self._closed = True
            self._chunks.clear()
            self._frames = 0
            self._head = 0
            self._not_full.notify_all()
            self._not_empty.notify_all()

    def take(self, out: Block, *, wait: bool, timeout: float | None = None) -> int:
        """Copy up to ``out.shape[1]`` frames into ``out``; return how many.

        With ``wait`` it returns short only once the producer has finished or
        ``timeout`` seconds passed without new audio; without it, it returns
        at once with whatever is buffered.
        """
        want = out.shape[1]
        got = 0
        with self._lock:
            while True:
                got += self._take_locked(out, got, want - got)
                if got == want or not wait or self._done or self._closed:
                    return got
                # NOTE: wait for all that is missing (or the buffer's worth), not
                # for every chunk: one wake-up per read instead of several.
                self._need = min(want - got, self.capacity_frames)
                woken = self._not_empty.wait(timeout)
                self._need = 0
                if not woken and self._frames == 0:
                    return got

    def wait_for(self, frames: int, timeout: float | None = None) -> bool:
        """Wait until ``frames`` (at most the capacity) are buffered or the producer is done.

        Returns False when ``timeout`` seconds passed with neither.
        """
        want = min(frames, self.capacity_frames)
        with self._lock:
            while self._frames < want and not (self._done or self._closed):
                self._need = want
                woken = self._not_empty.wait(timeout)
                self._need = 0
                if not woken:
                    return self._frames >= want or self._done or self._closed
            return True

    def _take_locked(self, out: Block, start: int, want: int) -> int:
        # NOTE: whole chunks are gathered as they are and copied out in one call:
        # a long read (many blocks offline) costs one copy, not one per chunk.
        parts: list[Block] = []
        got = 0
        head = self._head
        chunks = self._chunks
        while got < want and chunks:
            chunk = chunks[0]
            avail = chunk.shape[1] - head
            if avail <= want - got:
                parts.append(chunk[:, head:] if head else chunk)
                chunks.popleft()
                head = 0
                got += avail
            else:
                n = want - got
                parts.append(chunk[:, head : head + n])
                head += n
                got += n
        self._head = head
        if got:
            if len(parts) == 1:
                out[:, start : start + got] = parts[0]
            else:
                np.concatenate(parts, axis=1, out=out[:, start : start + got])
            self._frames -= got
            if self._frames <= self._low_water:
                self._not_full.notify_all()
        return got
