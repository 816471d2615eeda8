"""A subscriber's mailbox: filled on the engine thread, drained by one gRPC stream.

The engine thread must never wait for a network peer, so the mailbox is a
bounded deque that drops its oldest entry when full (and counts it); the
stream's thread waits on an event with a timeout so it notices a cancelled
call within a fraction of a second.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class Mailbox:
    """Bounded drop-oldest queue between the engine thread and one stream."""

    def __init__(self, capacity: int = 1000, wanted: Callable[[str], bool] | None = None) -> None:
        self._items: deque[Any] = deque(maxlen=capacity)
        self._ready = threading.Event()
        self._wanted = wanted
        self.closed = False
        self.dropped = 0

    def put(self, event: Any) -> None:
        """Called on the engine thread with every event: never blocks, never raises."""
        if self.closed or (self._wanted is not None and not self._wanted(event.type)):
            return
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(event)
        self._ready.set()

    def get(self, timeout: float) -> Any | None:
        """The oldest event, or None after ``timeout`` seconds (or once closed)."""
        for attempt in range(2):
            try:
                return self._items.popleft()
            except IndexError:
                pass
            if attempt == 0:
                self._ready.clear()
                # NOTE: re-check after clear(): a put between popleft and clear
                # set the event before we cleared it.
                if self._items:
                    continue
                if self.closed:
                    return None
                self._ready.wait(timeout)
        return None

    def close(self) -> None:
        self.closed = True
        self._ready.set()
