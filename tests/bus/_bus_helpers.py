"""Helpers shared by the bus tests: which servers, how to connect, how to wait."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable

from grimnir.bus import BusError, Event, EventBus, MemoryBus, NatsBus, RedisBus, Subscription
from tests._require import skip_or_fail

REDIS_URL = os.environ.get("GRIMNIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NATS_URL = os.environ.get("GRIMNIR_TEST_NATS_URL", "nats://127.0.0.1:4222")
TIMEOUT_S = 10.0

_HOW_TO_START = {
    "redis": "for the tests run `make peers` (or `redis-server`) or set GRIMNIR_TEST_REDIS_URL",
    "nats": "for the tests run `make peers` (or `nats-server`) or set GRIMNIR_TEST_NATS_URL",
}
_unreachable: dict[str, str] = {}  # backend -> reason, so a missing server costs one timeout


def unique_prefix() -> str:
    """A channel/subject namespace of this test alone."""
    return f"t{uuid.uuid4().hex[:12]}"


def make_bus(backend: str, prefix: str) -> EventBus:
    if backend == "redis":
        return RedisBus(REDIS_URL, prefix=prefix, connect_timeout=3.0)
    if backend == "nats":
        return NatsBus(NATS_URL, prefix=prefix, connect_timeout=3.0)
    return MemoryBus()


async def connect_or_skip(backend: str, bus: EventBus) -> None:
    """Connect ``bus``; skip (locally) or fail (CI) with how to start a missing server."""
    if backend in _unreachable:
        reason = _unreachable[backend]
    else:
        try:
            await bus.connect()
            return
        except BusError as e:
            reason = f"{e}; {_HOW_TO_START[backend]}"
            _unreachable[backend] = reason
    await bus.close()
    skip_or_fail(reason)


async def collect(sub: Subscription, count: int, timeout: float = TIMEOUT_S) -> list[Event]:
    """The next ``count`` events of ``sub``; TimeoutError if they do not all arrive."""
    events: list[Event] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            events.append(await anext(sub))
    return events


async def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)
