"""Failures that repeat (the database or the bus away), logged as runs: one line when
a run starts, one now and then while it lasts, one when it ends.

The executor retries what failed on every poll and every event (the database
down, the bus away): a traceback per retry made 72 MB of log in six minutes of
outage and buried the line that said what was wrong. An unreachable database
or bus is an outage, not a bug: it is logged without a traceback. Anything
else gets its traceback once, when its run starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from grimnir.bus import BusError
from grimnir.store import is_unreachable

REMIND_S: Final = 60.0
"""While a run lasts, a reminder (with how many tries failed) this long after it began,
then after twice as long each time (1, 3, 7, 15 … minutes in), at most hourly."""
REMIND_MAX_S: Final = 3600.0


def is_outage(error: BaseException) -> bool:
    """The database or the bus cannot be reached now: retrying is all there is to do."""
    return isinstance(error, BusError) or is_unreachable(error)


class FailureRun:
    """Logs the failures of one repeated task (``what``) as runs (module docstring)."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        remind_s: float = REMIND_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self.what = what
        self._remind_s = remind_s
        self._clock = clock
        self.since: float | None = None
        """When the current run began (None: the task works)."""
        self.failures = 0
        self._reminded = 0.0
        self._gap = remind_s
        self._kind = ""

    @property
    def failing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        """One more try failed with ``error``."""
        now = self._clock()
        outage = is_outage(error)
        kind = f"{type(error).__name__}: {_first_line(error)}"
        if self.since is None or (kind != self._kind and not outage):
            # NOTE: a new kind of failure in a run is news (with its traceback), the
            # same one again is not
            self._log.log(
                logging.WARNING if outage else logging.ERROR,
                "%s failed%s: %s; retrying",
                self.what,
                " (unreachable)" if outage else "",
                kind,
                exc_info=None if outage else error,
            )
            if self.since is None:
                self.since, self.failures, self._gap = now, 0, self._remind_s
            self._reminded, self._kind = now, kind
        elif now - self._reminded >= self._gap:
            self._log.warning(
                "%s still failing after %.0f s (%d tries): %s",
                self.what,
                now - self.since,
                self.failures + 1,
                kind,
            )
            self._reminded = now
            self._gap = min(self._gap * 2, REMIND_MAX_S)
        self.failures += 1

    def succeeded(self) -> None:
        """A try worked: the run (if any) is over."""
        if self.since is None:
            return
        self._log.warning(
            "%s works again after %.1f s (%d failed tries)",
            self.what,
            self._clock() - self.since,
            self.failures,
        )
        self.since, self.failures, self._kind = None, 0, ""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ""
