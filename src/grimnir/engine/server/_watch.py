"""Dropping a harbor source that holds its mount without feeding it.

Icecast's ``source-timeout`` only catches a source that sends nothing at all;
a client trickling a byte a second, or sending bytes that are no audio,
would hold the mount (and keep the DJ "on air" in silence) for as long as it
likes. Twice a second we look at what a source sent over the last few
seconds, and ask its sink whether the bytes still decode; either problem
drops it, so the mount is free again and the air goes back to automation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

MIN_SOURCE_BITRATE: Final = 8_000
"""bit/s a source must send on average over ``RATE_WINDOW_S``: a quarter of the lowest
bitrate DJ software offers for speech (32 kbit/s), far under any music stream."""
RATE_WINDOW_S: Final = 5.0
"""The window the received rate is averaged over (a network hiccup shorter than this
does not drop a DJ who then catches up)."""
START_GRACE_S: Final = 5.0
"""Seconds after the connect before the rate is judged (encoders start slowly)."""
CHECK_EVERY_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class SourceRules:
    """What a connected source must keep up (the defaults are the named constants)."""

    min_bitrate: int = MIN_SOURCE_BITRATE
    window_s: float = RATE_WINDOW_S
    grace_s: float = START_GRACE_S
    check_every_s: float = CHECK_EVERY_S


class RateMeter:
    """A byte counter's rate over a sliding window of its samples."""

    def __init__(self, window_s: float, now: float, total: int = 0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque([(now, total)])

    def add(self, now: float, total: int) -> None:
        """Sample the counter (``total`` bytes so far) at ``now``."""
        samples = self._samples
        samples.append((now, total))
        while len(samples) > 1 and samples[1][0] <= now - self.window_s:
            samples.popleft()

    def bits_per_s(self) -> float | None:
        """The rate over the window; None until the samples span it."""
        (first, first_total), (last, last_total) = self._samples[0], self._samples[-1]
        span = last - first
        if span < self.window_s:
            return None
        return (last_total - first_total) * 8 / span


async def watch_source(
    received: Callable[[], int], problem: Callable[[], str | None], rules: SourceRules
) -> str:
    """Wait until a source should be dropped; the reason.

    ``received`` is its byte count so far; ``problem`` its sink's verdict on
    the data (None: fine). Runs until cancelled when the source stays healthy.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    meter = RateMeter(rules.window_s, start, received())
    failed = False
    while True:
        await asyncio.sleep(rules.check_every_s)
        now = loop.time()
        meter.add(now, received())
        rate = meter.bits_per_s()
        if now - start >= rules.grace_s and rate is not None and rate < rules.min_bitrate:
            return (
                f"too little data: {rate:.0f} bit/s over the last {rules.window_s:g} s "
                f"(a source must send at least {rules.min_bitrate / 1000:g} kbit/s)"
            )
        try:
            reason = problem()
        except Exception:  # NOTE: a sink's bug must not drop a DJ, nor kill the watch
            if not failed:
                log.exception("harbor: the sink's health check failed")
            failed, reason = True, None
        if reason:
            return reason
