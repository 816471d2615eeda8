"""Clocks that drive the engine block by block.

Block ``n`` covers frames ``[n·960, (n+1)·960)``. ``RealtimeClock`` paces
blocks to wall time (block n is due at t0 + n·20 ms on the monotonic clock;
when late it returns at once so the engine catches up, and counts it).
``VirtualClock`` never sleeps: offline renders and tests run the very same
engine code as fast as the CPU allows, deterministically.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

from grimnir.engine.audio import BLOCK, RATE

_BLOCK_SECONDS = BLOCK / RATE


class Clock(ABC):
    """Counts blocks and maps engine frames to wall time."""

    def __init__(self, origin: datetime | None = None) -> None:
        if origin is not None and origin.tzinfo is None:
            raise ValueError("clock origin must be timezone-aware (UTC)")
        self.origin: datetime = origin or datetime.now(UTC)
        self.block = 0
        self.late_blocks = 0

    @property
    def frame(self) -> int:
        """First frame of the current block."""
        return self.block * BLOCK

    @abstractmethod
    def wait(self) -> bool:
        """Block until the next block is due and advance to it.

        Returns False when the clock has been stopped.
        """

    @abstractmethod
    def stop(self) -> None:
        """Make the next (or a pending) ``wait`` return False."""

    def frame_at(self, when: datetime) -> int:
        """The engine frame at wall time ``when`` (rounded to the nearest frame)."""
        delta = when - self.origin
        return round(delta / timedelta(microseconds=1) * RATE / 1_000_000)

    def time_at(self, frame: int) -> datetime:
        """Wall time of engine ``frame``."""
        return self.origin + timedelta(microseconds=frame * 1_000_000 / RATE)


class VirtualClock(Clock):
    """Never sleeps; time is whatever the block count says."""

    def __init__(self, origin: datetime | None = None) -> None:
        super().__init__(origin or datetime(2000, 1, 1, tzinfo=UTC))
        self._stopped = False
        self._started = False

    def wait(self) -> bool:
        if self._stopped:
            return False
        if self._started:
            self.block += 1
        self._started = True
        return True

    def stop(self) -> None:
        self._stopped = True

    def advance(self, blocks: int) -> None:
        """Move on ``blocks`` blocks at once, as that many ``wait()`` calls after the first
        would (``Engine.advance`` renders spans of blocks in one go)."""
        self._started = True
        self.block += blocks


class RealtimeClock(Clock):
    """Paces blocks to the monotonic clock; a late block is processed at once and counted.

    With ``burst`` > 1 the engine wakes once per ``burst`` blocks and renders
    them back to back (block n is then due with the first block of its burst):
    fewer wake-ups and warm caches cost less CPU, and outputs receive audio
    ``burst`` × 20 ms ahead of wall time instead of 20 ms. Timing inside the
    audio is unchanged: items still start on their exact frame.
    """

    def __init__(self, origin: datetime | None = None, *, burst: int = 1) -> None:
        super().__init__(origin)
        if burst < 1:
            raise ValueError("burst must be at least 1 block")
        self.burst = burst
        self._t0: float | None = None
        self._stop = threading.Event()

    def wait(self) -> bool:
        if self._stop.is_set():
            return False
        if self._t0 is None:
            # NOTE: block 0 starts now; origin is re-anchored to the same instant.
            self._t0 = time.monotonic()
            self.origin = datetime.now(UTC)
            return True
        self.block += 1
        due = self._t0 + (self.block - self.block % self.burst) * _BLOCK_SECONDS
        delay = due - time.monotonic()
        if delay > 0:
            if self._stop.wait(delay):
                return False
        elif delay < -_BLOCK_SECONDS * self.burst:
            # NOTE: more than a whole burst behind: an output holding that much
            # audio would have run dry. Catch up without sleeping, and count it.
            self.late_blocks += 1
        return not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
