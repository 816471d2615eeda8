"""Putting an alert on air through a station's executor, and taking it off.

The executor's emergency path (priority 0, the engine's emergency layer) carries
it: every output and the recording get it, and automation is heard again when
it ends. The opening (header + attention signal) is inserted at once; the
message follows as a second emergency item, queued behind it. The engine-side
latency is the engine frames from the command (the engine's clock when it was
sent) to the frame the first item started on.

The services do not import the executor (ARCHITECTURE.md): what they need of
it is the :class:`OnAirStation` protocol, which ``StationExecutor`` meets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from grimnir.bus import ITEM_ENDED, ITEM_STARTED, EventBus, Subscription

log = logging.getLogger("grimnir.services.alerts")

RATE = 48_000
#: How long to wait for the engine to say the alert started.
START_TIMEOUT_S = 10.0
#: Fade of an alert taken off air (cancelled, superseded).
STOP_FADE_MS = 200


class _Client(Protocol):
    async def stop(self, layer: str = ..., fade_ms: int = ..., clear_queue: bool = ...) -> None: ...

    async def status(self) -> Any: ...


class _Priority(Protocol):
    async def insert_emergency(self, item: str | Path, *, title: str = ...) -> str: ...


class OnAirStation(Protocol):
    """What airing an alert needs of a station's executor (``StationExecutor``)."""

    @property
    def priority(self) -> _Priority: ...

    @property
    def client(self) -> _Client: ...


@dataclass
class Airing:
    """One alert on air on one station (kept by the service until it ends)."""

    airing_id: uuid.UUID
    alert_id: uuid.UUID
    items: list[str]
    station: OnAirStation
    watcher: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """The alert's first item on air: its engine item id and the latency."""

    item_id: str
    started_at: datetime
    latency_frames: int | None


async def start(
    station: OnAirStation, bus: EventBus, station_id: uuid.UUID, path: Path, title: str
) -> tuple[Started, Subscription]:
    """Insert the opening now; wait for the engine to start it. Returns the item, its
    latency and the bus subscription following the alert's items (now the caller's)."""
    subscription = await bus.subscribe([ITEM_STARTED, ITEM_ENDED], str(station_id))
    try:
        status = await station.client.status()
        item_id = await station.priority.insert_emergency(path, title=title)
        started_at = await _started(subscription, item_id)
    except BaseException:
        await subscription.close()
        raise
    sent_at: datetime | None = getattr(status, "time", None)
    latency = None
    if sent_at is not None:
        latency = max(0, round((started_at - sent_at) / timedelta(seconds=1) * RATE))
    return Started(item_id, started_at, latency), subscription


async def _started(subscription: Subscription, item_id: str) -> datetime:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"the engine did not start alert item {item_id} in time")
        event = await subscription.get(timeout=left)
        if event.type == ITEM_STARTED and event.data.get("item_id") == item_id:
            return datetime.fromisoformat(str(event.data.get("started_at") or event.at))


async def follow(
    airing: Airing,
    subscription: Subscription,
    finish: Callable[[Airing, str, datetime], Awaitable[None]],
) -> None:
    """Wait for the alert's last item to end, then ``finish`` it as completed."""
    try:
        async for event in subscription:
            if event.type != ITEM_ENDED:
                continue
            if len(airing.items) > 1 and event.data.get("item_id") == airing.items[-1]:
                await finish(airing, "completed", event.at)
                return
    finally:
        await subscription.close()


async def stop(airing: Airing) -> None:
    """Take ``airing`` off air now: the emergency layer fades out and is emptied."""
    if airing.watcher is not None and airing.watcher is not asyncio.current_task():
        airing.watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await airing.watcher
    try:
        await airing.station.client.stop("emergency", STOP_FADE_MS, True)
    except Exception:  # the engine may be gone; the log still says it was stopped
        log.exception("stopping alert %s on the engine failed", airing.alert_id)
