"""The event bus: how the executor, the engine supervisor, the API and the web UI
tell each other what happens on air (``now_playing``, item started/ended, live
DJ connected, output down…).

One envelope (:class:`Event`), one interface (:class:`EventBus`), three
implementations that pass the same contract tests: :class:`MemoryBus` (one
process, the embedded default), :class:`RedisBus` and :class:`NatsBus` (several
processes or machines). Pick one with ``bus_url`` and :func:`create_bus`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from grimnir.bus._api import DEFAULT_MAX_PENDING, BusError, EventBus, Subscription
from grimnir.bus._event import (
    ALERT_AIRED,
    ALERT_ENDED,
    ALERT_RECEIVED,
    BUS_GAP,
    EAS_ALERT,
    EVENT_TYPES,
    IMPORT_FINISHED,
    IMPORT_PROGRESS,
    ITEM_ENDED,
    ITEM_STARTED,
    LIVE_CONNECTED,
    LIVE_DISCONNECTED,
    NOW_PLAYING,
    OUTPUT_DOWN,
    OUTPUT_UP,
    PRIORITY_CHANGED,
    SCHEDULE_UPDATED,
    SILENCE_DETECTED,
    TELEMETRY,
    WEBSTREAM_FAILOVER,
    WEBSTREAM_RECOVERED,
    Event,
)
from grimnir.bus._filter import EventFilter
from grimnir.bus._memory import MemoryBus
from grimnir.bus._nats import NatsBus
from grimnir.bus._outbox import OUTBOX_EVENTS, Outbox
from grimnir.bus._redis import RedisBus
from grimnir.domain.errors import ConfigError
from grimnir.domain.urls import mask_url

__all__ = [
    "ALERT_AIRED",
    "ALERT_ENDED",
    "ALERT_RECEIVED",
    "BUS_GAP",
    "DEFAULT_MAX_PENDING",
    "EAS_ALERT",
    "EVENT_TYPES",
    "IMPORT_FINISHED",
    "IMPORT_PROGRESS",
    "ITEM_ENDED",
    "ITEM_STARTED",
    "LIVE_CONNECTED",
    "LIVE_DISCONNECTED",
    "NOW_PLAYING",
    "OUTBOX_EVENTS",
    "OUTPUT_DOWN",
    "OUTPUT_UP",
    "PRIORITY_CHANGED",
    "SCHEDULE_UPDATED",
    "SILENCE_DETECTED",
    "TELEMETRY",
    "WEBSTREAM_FAILOVER",
    "WEBSTREAM_RECOVERED",
    "BusError",
    "Event",
    "EventBus",
    "EventFilter",
    "MemoryBus",
    "NatsBus",
    "Outbox",
    "RedisBus",
    "Subscription",
    "create_bus",
]


def create_bus(url: str, *, prefix: str = "grimnir") -> EventBus:
    """The bus ``url`` names (not yet connected: call ``connect()`` or use ``async with``).

    ``memory://`` (in this process), ``redis://host:6379/0`` (``rediss://`` for
    TLS), ``nats://host:4222`` (``tls://`` for TLS). ``prefix`` namespaces the
    channels/subjects, so several installations can share one server.
    """
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme == "memory":
        return MemoryBus()
    if scheme in {"redis", "rediss"}:
        return RedisBus(url, prefix=prefix)
    if scheme in {"nats", "tls"}:
        return NatsBus(url, prefix=prefix)
    raise ConfigError(
        f"bus_url {mask_url(str(url))!r} is not usable: "
        "bus_url must start with memory://, redis:// or nats://"
    )
