"""What every alert source shares: the delivery callback, health, backoff, lifecycle.

A source runs until its stop event is set (:meth:`AlertSource.run`) or for
the body of ``async with`` (started on entry, stopped on exit). Bad input
never ends a source: it is logged with the reason and counted in
:class:`SourceHealth`; transport failures are retried with exponential backoff.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from grimnir.eas.decoder import SameMessage

log = logging.getLogger("grimnir.eas")

#: What a source hands on: raw CAP XML bytes or a decoded SAME message, and the
#: source's label ("feed:<url>", "naad:<host>", "same-monitor:<url>", "rwt").
Deliver = Callable[[bytes | SameMessage, str], Awaitable[None]]

#: How long ``async with`` waits for a stopped source before cancelling it.
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A snapshot of how a source is doing, for the health API and metrics.

    ``retry_in_s`` is the backoff delay before the next attempt after the
    last failure (``None`` while all is well); ``rejected`` counts bad input
    (malformed or invalid documents) and ``delivery_errors`` the deliveries
    whose callback raised.
    """

    label: str
    running: bool
    last_ok: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    delivered: int
    rejected: int
    delivery_errors: int
    retry_in_s: float | None


class Backoff:
    """Exponential delays between failed attempts, capped; reset on success."""

    def __init__(self, initial_s: float = 1.0, max_s: float = 300.0, factor: float = 2.0) -> None:
        if initial_s <= 0 or max_s < initial_s or factor < 1:
            raise ValueError(
                f"backoff {initial_s} s … {max_s} s ×{factor}: "
                "needs 0 < initial ≤ max and factor ≥ 1"
            )
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._failures = 0

    def failed(self) -> float:
        """The delay to wait after one more failure in a row."""
        delay = min(self.max_s, self.initial_s * self.factor**self._failures)
        self._failures += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._failures = 0


class SeenSet:
    """Keys already handled, oldest forgotten first past ``limit`` (bounded memory)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def add(self, key: Hashable) -> None:
        """Remember ``key`` (forgetting the oldest key when full)."""
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.limit:
            self._keys.popitem(last=False)


class AlertSource(abc.ABC):
    """Base of the sources: lifecycle, health counters and safe delivery."""

    def __init__(self, label: str, deliver: Deliver, backoff: Backoff | None) -> None:
        self.label = label
        self.backoff = backoff or Backoff()
        self._deliver = deliver
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._last_ok: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._failures = 0
        self._delivered = 0
        self._rejected = 0
        self._delivery_errors = 0
        self._retry_in: float | None = None

    @property
    def health(self) -> SourceHealth:
        """How the source is doing now."""
        return SourceHealth(
            self.label,
            self._running,
            self._last_ok,
            self._last_error,
            self._last_error_at,
            self._failures,
            self._delivered,
            self._rejected,
            self._delivery_errors,
            self._retry_in,
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` (or :meth:`stop`) is set; never raises for bad input."""
        stop = stop or self._stop
        work = asyncio.create_task(self._main(stop), name=f"eas source {self.label}")
        stopped = asyncio.create_task(stop.wait())
        self._running = True
        try:
            await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._running = False
            for task in (work, stopped):
                task.cancel()
            for task in (work, stopped):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def stop(self) -> None:
        """Ask the source started by ``async with`` (or run without an event) to end."""
        self._stop.set()

    async def __aenter__(self) -> Self:
        self._stop.clear()
        self._task = asyncio.create_task(self.run(self._stop))
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    @abc.abstractmethod
    async def _main(self, stop: asyncio.Event) -> None:
        """The source's own loop; cancelled when ``stop`` is set."""

    async def _pause(self, stop: asyncio.Event, seconds: float) -> bool:
        """Wait ``seconds``; ``True`` when the source was stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        return stop.is_set()

    def _ok(self) -> None:
        self._last_ok = datetime.now(UTC)
        self._failures = 0
        self._retry_in = None
        self.backoff.reset()

    def _failed(self, reason: str) -> float:
        """Record a transport failure; the backoff delay before trying again."""
        self._failures += 1
        self._last_error, self._last_error_at = reason, datetime.now(UTC)
        self._retry_in = self.backoff.failed()
        log.warning("%s: %s; retrying in %g s", self.label, reason, self._retry_in)
        return self._retry_in

    def _reject(self, reason: str) -> None:
        """Record bad input (kept out of delivery) with why."""
        self._rejected += 1
        self._last_error, self._last_error_at = reason, datetime.now(UTC)
        log.warning("%s: refused: %s", self.label, reason)

    async def _hand_on(self, payload: bytes | SameMessage, label: str | None = None) -> None:
        """Deliver ``payload``; a callback that raises is logged and counted, not fatal."""
        try:
            await self._deliver(payload, label or self.label)
        except Exception:
            self._delivery_errors += 1
            log.exception("%s: the alert callback failed", self.label)
        else:
            self._delivered += 1
