"""The output interface: where a station's encoded bytes go.

``write`` is called from the block loop with each chunk an encoder produced,
so it must return quickly whatever the destination does: outputs that can be
slow (files under realtime, network peers) queue and drop rather than wait.
Failures never raise into the loop; they show as ``state`` and ``last_error``.
"""

from __future__ import annotations

import abc
import collections
import threading
from enum import StrEnum


class OutputState(StrEnum):
    """Where an output is in its life."""

    CONNECTING = "connecting"
    """Starting up (opening a file, connecting to a server); writes are queued."""
    UP = "up"
    """Taking data."""
    DOWN = "down"
    """Failed (see ``last_error``); writes are counted as dropped."""
    CLOSED = "closed"
    """Closed on purpose; writes are counted as dropped."""


class Output(abc.ABC):
    """A destination for one encoded stream.

    Counters: ``bytes_written`` reached the destination, ``dropped_bytes``
    were given to ``write`` but never will (queue overflow, failure, closed).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.bytes_written = 0
        self.dropped_bytes = 0
        self.last_error: str | None = None
        self.connects = 0
        """Connections made (network outputs count each one; the others stay at 0)."""
        self._state = OutputState.CONNECTING
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.value}>"

    @property
    def state(self) -> OutputState:
        """The output's current state."""
        return self._state

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Take ``data`` (a chunk of the encoded stream); never blocks for long, never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish: deliver what is pending if possible, release resources. Idempotent."""

    def _fail(self, message: str) -> None:
        """Record a failure: state ``down`` with ``message`` as ``last_error``."""
        self.last_error = message
        if self._state is not OutputState.CLOSED:
            self._state = OutputState.DOWN

    def _drop(self, count: int) -> None:
        with self._lock:
            self.dropped_bytes += count


class DropOldestQueue:
    """Encoded chunks waiting for a slow destination, bounded in bytes.

    ``push`` never waits: past ``max_bytes`` the oldest chunks go (listeners
    lose stale audio, not the newest) and the count of dropped bytes comes
    back. One chunk is always kept, however large. Not thread-safe by itself:
    callers hold their own lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._chunks: collections.deque[bytes] = collections.deque()

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def push(self, data: bytes) -> int:
        """Queue ``data``; the number of bytes dropped to make room."""
        self._chunks.append(data)
        self.bytes += len(data)
        dropped = 0
        while self.bytes > self.max_bytes and len(self._chunks) > 1:
            oldest = self._chunks.popleft()
            self.bytes -= len(oldest)
            dropped += len(oldest)
        return dropped

    def drain(self) -> list[bytes]:
        """Everything queued, oldest first; the queue is left empty."""
        chunks = list(self._chunks)
        self._chunks.clear()
        self.bytes = 0
        return chunks
