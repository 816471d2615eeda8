"""The output interface: where a station's encoded bytes go.

``write`` is called from the block loop with each chunk an encoder produced,
so it must return quickly whatever the destination does: outputs that can be
slow (files under realtime, network peers) queue and drop rather than wait.
Failures never raise into the loop; they show as ``state`` and ``last_error``.
"""

from __future__ import annotations

import abc
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
