"""In-process token buckets for login, harbor auth and the public routes.

One bucket per (limit name, key); the key is the client address, a user name or
both. A denied call answers 429 with ``Retry-After``. Buckets idle long enough
to be full are dropped so the table stays small.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Limit:
    """``burst`` calls at once, refilled at ``per_second``; 0 disables the limit."""

    per_second: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst > 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets keyed by string, safe to share between threads."""

    limit: Limit
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_sweep: float = 0.0

    def hit(self, key: str, cost: float = 1.0) -> float | None:
        """Take ``cost`` tokens for ``key``: ``None`` if allowed, else seconds to wait."""
        if not self.limit.enabled:
            return None
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.limit.burst), now)
            else:
                bucket.tokens = min(
                    float(self.limit.burst),
                    bucket.tokens + (now - bucket.stamp) * self.limit.per_second,
                )
                bucket.stamp = now
            if now - self._last_sweep > 60.0:
                self._sweep(now)
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return None
            return (cost - bucket.tokens) / self.limit.per_second

    def _sweep(self, now: float) -> None:
        full_after = self.limit.burst / self.limit.per_second
        stale = [k for k, b in self._buckets.items() if now - b.stamp > full_after]
        for key in stale:
            del self._buckets[key]
        self._last_sweep = now


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds)))


@dataclass
class Limits:
    """Every limiter of one API process."""

    login: RateLimiter = field(default_factory=lambda: RateLimiter(Limit(0.2, 5)))
    """Per client address and per user name: 5 tries, then one every 5 s."""
    harbor: RateLimiter = field(default_factory=lambda: RateLimiter(Limit(0.2, 5)))
    """Per DJ address: 5 tries, then one every 5 s."""
    public: RateLimiter = field(default_factory=lambda: RateLimiter(Limit(50.0, 200)))
    """Per client address on the unauthenticated routes."""
