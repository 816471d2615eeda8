"""Events the engine raises, stamped with the engine frame they happened at.

Every event type is listed once, here, grouped by who raises it; ``EventType``
is their union and ``EVENT_TYPES`` the same set at run time (a test reads
every event the engine's code makes and checks it against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

ItemEventType = Literal["item.started", "item.ended", "source.error"]
"""A player's items (automation, emergency, fallback): ``source.error`` comes just
before the ``item.ended`` of an item whose source failed."""

MixChange = Literal[
    "layer.changed",
    "silence.detected",
    "silence.cleared",
    "fallback.started",
    "fallback.ended",
]
"""What the layer mixer reports: the layer on air changed; dead air found (fallback
goes on by ear) and gone; fallback took the air because the programme had nothing,
and gave it back."""

FallbackEventType = Literal["fallback.unavailable"]
"""Every file of a fallback source failed: it is passed over for a while."""

LiveEventType = Literal["live.connected", "live.disconnected", "live.started", "live.ended"]
"""A DJ's connection to the harbor (connected/disconnected, from the harbor's thread)
and the live layer's session on air (started when its audio first flows, ended with
a reason)."""

WebStreamEventType = Literal["webstream.failover", "webstream.recovered", "webstream.health"]
"""A relayed web stream's chain of URLs (``WebStreamChain``)."""

FeedEventType = Literal[WebStreamEventType, "stream.title"]
"""A feed item (``feeds.make_stream``): its chain's events and its own titles."""

EventType = Literal[
    ItemEventType,
    MixChange,
    FallbackEventType,
    LiveEventType,
    FeedEventType,
    "telemetry",
]
"""Every type of event the engine raises."""

EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
"""``EventType`` at run time."""


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One engine event: ``type`` (see ``EventType``), the frame it happened at, details."""

    type: EventType
    frame: int
    data: dict[str, Any] = field(default_factory=dict)
