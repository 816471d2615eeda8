"""The event envelope every part of Grimnir publishes, and the well-known types.

One shape for everything that happens on a station (``now_playing``, an item
starting, a DJ connecting, an output going down…): ``type``, ``station_id``,
``at`` (UTC), ``data`` and an ``id`` for de-duplication and log correlation.
The JSON form is what crosses Redis and NATS; it round-trips exactly, so a
subscriber on another machine sees the very event the publisher built.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

NOW_PLAYING: Final = "now_playing"
ITEM_STARTED: Final = "item.started"
ITEM_ENDED: Final = "item.ended"
SCHEDULE_UPDATED: Final = "schedule.updated"
PRIORITY_CHANGED: Final = "priority.changed"
LIVE_CONNECTED: Final = "live.connected"
LIVE_DISCONNECTED: Final = "live.disconnected"
WEBSTREAM_FAILOVER: Final = "webstream.failover"
WEBSTREAM_RECOVERED: Final = "webstream.recovered"
SILENCE_DETECTED: Final = "silence.detected"
OUTPUT_DOWN: Final = "output.down"
OUTPUT_UP: Final = "output.up"
EAS_ALERT: Final = "eas.alert"
ALERT_RECEIVED: Final = "alert.received"
"""An emergency alert reached a station: ``alert_id``, ``source``, ``event``, ``decision``,
``reason``."""
ALERT_AIRED: Final = "alert.aired"
"""An alert went on air: ``alert_id``, ``airing_id``, ``event``, ``headline``,
``same_header``, ``latency_frames``."""
ALERT_ENDED: Final = "alert.ended"
"""An alert left the air: ``alert_id``, ``airing_id``, ``ended_how``."""
TELEMETRY: Final = "telemetry"
IMPORT_PROGRESS: Final = "import.progress"
"""An import from AzuraCast/LibreTime advanced: ``import_id``, ``part``, ``done``, ``total``."""
IMPORT_FINISHED: Final = "import.finished"
"""An import ended: ``import_id``, ``state``, ``error``."""
BUS_GAP: Final = "bus.gap"
"""Delivered by the bus itself to every subscription when its connection came back
after a loss: events published meanwhile may not have arrived (refetch the state)."""

#: The types ARCHITECTURE.md names. Others are allowed (any dotted name), these are the contract.
EVENT_TYPES: Final[tuple[str, ...]] = (
    NOW_PLAYING,
    ITEM_STARTED,
    ITEM_ENDED,
    SCHEDULE_UPDATED,
    PRIORITY_CHANGED,
    LIVE_CONNECTED,
    LIVE_DISCONNECTED,
    WEBSTREAM_FAILOVER,
    WEBSTREAM_RECOVERED,
    SILENCE_DETECTED,
    OUTPUT_DOWN,
    OUTPUT_UP,
    EAS_ALERT,
    TELEMETRY,
)

# NOTE: no wildcard or space characters: a type becomes part of a Redis channel
# and of NATS subject tokens as it is.
TYPE_RE: Final = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_FIELDS: Final = ("id", "type", "station_id", "at", "data")


def _new_id() -> str:
    return str(uuid.uuid4())


def check_type(type_: str) -> str:
    """``type_`` if it is a valid event type (dotted words), else ValueError."""
    if not isinstance(type_, str) or not TYPE_RE.fullmatch(type_):
        raise ValueError(
            f"event type {type_!r} is not valid: use dotted words of letters, digits, "
            "'_' or '-', such as 'item.started'"
        )
    return type_


def _check_json(value: object, path: str) -> None:
    """Raise ValueError unless ``value`` survives a JSON round trip unchanged."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"event data {path} is {value}: JSON has no NaN or infinity")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"event data {path} has key {key!r}: JSON keys must be strings")
            _check_json(item, f"{path}.{key}")
        return
    raise ValueError(
        f"event data {path} is a {type(value).__name__}: use str, int, float, bool, None, "
        "list or dict (convert times to ISO strings, tuples to lists)"
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, as every bus carries it.

    ``at`` must be timezone-aware and is stored in UTC. ``data`` must hold only
    JSON values (checked here, so a bad event fails where it is built, not in a
    subscriber on another machine). Treat ``data`` as read-only: the memory bus
    hands the same object to every subscriber.
    """

    type: str
    station_id: str | None
    at: datetime
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        check_type(self.type)
        if self.station_id is not None and (
            not isinstance(self.station_id, str) or not self.station_id
        ):
            raise ValueError(
                f"station_id must be a non-empty string or None, not {self.station_id!r}"
            )
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            raise ValueError(f"event time {self.at!r} must be a timezone-aware datetime")
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", self.at.astimezone(UTC))
        if not isinstance(self.data, dict):
            raise ValueError(f"event data must be a dict, not {type(self.data).__name__}")
        _check_json(self.data, "data")
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"event id must be a non-empty string, not {self.id!r}")

    @classmethod
    def now(cls, type_: str, station_id: str | None = None, **data: Any) -> Event:
        """A new event stamped with the current UTC time."""
        return cls(type=type_, station_id=station_id, at=datetime.now(UTC), data=data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready envelope (``at`` as ISO 8601 with microseconds, UTC)."""
        return {
            "id": self.id,
            "type": self.type,
            "station_id": self.station_id,
            "at": self.at.isoformat(timespec="microseconds"),
            "data": self.data,
        }

    def to_json(self) -> str:
        """The envelope as compact JSON text (what Redis and NATS carry)."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )

    @classmethod
    def from_dict(cls, raw: object) -> Event:
        """Rebuild an event from :meth:`to_dict` output; ValueError names what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError(f"an event envelope must be a JSON object, not {type(raw).__name__}")
        missing = [key for key in _FIELDS if key not in raw]
        if missing:
            raise ValueError(f"event envelope lacks {', '.join(missing)}")
        at = raw["at"]
        if not isinstance(at, str):
            raise ValueError(f"event time must be an ISO 8601 string, not {at!r}")
        try:
            when = datetime.fromisoformat(at)
        except ValueError as e:
            raise ValueError(f"event time {at!r} is not ISO 8601: {e}") from None
        return cls(
            type=raw["type"], station_id=raw["station_id"], at=when, data=raw["data"], id=raw["id"]
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """Parse :meth:`to_json` output; ValueError if it is not an event envelope."""
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"event envelope is not JSON: {e}") from None
        return cls.from_dict(raw)
