"""What an engine's ``status()`` reports, in our own types (``StatusReport``).

Both ends of the contract use these: the engine builds a report
(``LocalControl`` from its block-boundary snapshot, ``StationRuntime`` adds
what the process around the engine knows), every client returns one. On the
gRPC wire a report travels as a ``google.protobuf.Struct``
(``GetStatusResponse.status``): ``to_wire`` gives the plain dict the engine
has always sent, key for key, and ``from_wire`` reads one back, tolerantly,
so engines and control planes of neighbouring versions still understand
each other:

- unknown keys are ignored and missing ones take the field's default;
- a ``Struct`` keeps only doubles, so numbers come back as ints where the
  field is an int (``3.0`` → ``3``);
- a value of the wrong type counts as missing.

The fields after ``fallback`` are reported only by an engine running as a
station's process (``StationRuntime``); a bare ``LocalControl`` (an
in-process engine in tests and tools) reports none of them, and ``None``
says so (``to_wire`` then leaves their keys out, as that engine always did).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AudienceCounts",
    "CurrentItem",
    "HarborSource",
    "HarborStatus",
    "MetadataStatus",
    "OutputStatus",
    "StatusReport",
    "StreamAddress",
]


# -- tolerant readers of plain data ----------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    """``value`` as an int (a whole-numbered float from a ``Struct`` included)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return default


def _opt_int(value: Any) -> int | None:
    return _int(value) if _is_number(value) and math.isfinite(value) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any, default: float = 0.0) -> float:
    return float(value) if _is_number(value) else default


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# -- parts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentItem:
    """The automation item on air and how far into it the engine is."""

    item_id: str
    title: str = ""
    artist: str = ""
    position_ms: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "title": self.title,
            "artist": self.artist,
            "position_ms": self.position_ms,
        }

    @classmethod
    def from_wire(cls, data: Any) -> CurrentItem | None:
        """The item in ``data`` (``None``: no mapping, or one without an ``item_id``)."""
        if not isinstance(data, Mapping) or not _str(data.get("item_id")):
            return None
        return cls(
            item_id=_str(data.get("item_id")),
            title=_str(data.get("title")),
            artist=_str(data.get("artist")),
            position_ms=_int(data.get("position_ms")),
        )


@dataclass(frozen=True, slots=True)
class OutputStatus:
    """One output of the engine and its state (an ``OutputState`` value: ``up``, …)."""

    name: str
    state: str
    reconnects: int = 0
    """Connections made again after the first (Icecast outputs; 0 for the others)."""
    error: str | None = None
    """The output's last failure (kept after it recovered, until the next one)."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "reconnects": self.reconnects,
            "error": self.error,
        }

    @classmethod
    def from_wire(cls, data: Any) -> OutputStatus | None:
        if not isinstance(data, Mapping):
            return None
        error = data.get("error")
        return cls(
            name=_str(data.get("name")),
            state=_str(data.get("state")),
            reconnects=_opt_int(data.get("reconnects")) or 0,
            error=error if isinstance(error, str) else None,
        )


@dataclass(frozen=True, slots=True)
class StreamAddress:
    """Where the engine's stream server listens (the port it really bound)."""

    host: str
    port: int

    def to_wire(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port}

    @classmethod
    def from_wire(cls, data: Any) -> StreamAddress | None:
        if not isinstance(data, Mapping) or not _is_number(data.get("port")):
            return None
        return cls(host=_str(data.get("host")), port=_int(data.get("port")))


@dataclass(frozen=True, slots=True)
class AudienceCounts:
    """Listeners of one configured mount now, by how they listen.

    ``icecast`` is ``None`` while no Icecast count is known; ``outputs`` is
    each listener output's own count, by its path on our server
    (``/wgmr.mp3``) or ``host:port/mount`` on Icecast (``None``: not known).
    """

    http: int = 0
    icecast: int | None = None
    hls: int = 0
    total: int = 0
    outputs: Mapping[str, int | None] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "http": self.http,
            "icecast": self.icecast,
            "hls": self.hls,
            "total": self.total,
            "outputs": dict(self.outputs),
        }

    @classmethod
    def from_wire(cls, data: Any) -> AudienceCounts | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            http=_int(data.get("http")),
            icecast=_opt_int(data.get("icecast")),
            hls=_int(data.get("hls")),
            total=_int(data.get("total")),
            outputs={str(k): _opt_int(v) for k, v in _mapping(data.get("outputs")).items()},
        )


@dataclass(frozen=True, slots=True)
class HarborSource:
    """A DJ connected to a harbor mount."""

    user: str = ""
    """The login the DJ connected with."""
    connected_s: float = 0.0
    """Seconds since the DJ connected."""
    bytes: int = 0
    """Bytes received from the DJ so far."""
    title: str | None = None
    """The DJ's now-playing title (``None``: none sent)."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "connected_s": self.connected_s,
            "bytes": self.bytes,
            "title": self.title,
        }

    @classmethod
    def from_wire(cls, data: Any) -> HarborSource:
        data = _mapping(data)
        return cls(
            user=_str(data.get("user")),
            connected_s=_float(data.get("connected_s")),
            bytes=_int(data.get("bytes")),
            title=_opt_str(data.get("title")),
        )


@dataclass(frozen=True, slots=True)
class HarborStatus:
    """The harbor: the mount routed to the live layer and who is connected where."""

    routed: str | None = None
    """The harbor mount routed to the live layer (``None``: none)."""
    mounts: Mapping[str, HarborSource] = field(default_factory=dict)
    """Connected DJs by harbor mount path."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "routed": self.routed,
            "mounts": {path: source.to_wire() for path, source in self.mounts.items()},
        }

    @classmethod
    def from_wire(cls, data: Any) -> HarborStatus | None:
        if not isinstance(data, Mapping):
            return None
        mounts = _mapping(data.get("mounts"))
        return cls(
            routed=_opt_str(data.get("routed")),
            mounts={str(path): HarborSource.from_wire(source) for path, source in mounts.items()},
        )


@dataclass(frozen=True, slots=True)
class MetadataStatus:
    """The now-playing text the engine last pushed to its outputs."""

    title: str = ""
    artist: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"title": self.title, "artist": self.artist}

    @classmethod
    def from_wire(cls, data: Any) -> MetadataStatus | None:
        if not isinstance(data, Mapping):
            return None
        return cls(title=_str(data.get("title")), artist=_str(data.get("artist")))


# -- the report -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusReport:
    """An engine's status at one instant (``EngineControl.status()``, every client's).

    NOTE: ``fallback`` stays a plain mapping: it is ``FallbackPlayer.status()``
    as it is, an engine-internal summary (``rotation``, ``playing``, ``failed``)
    that only people and tests read; the control plane never decides on it.
    """

    station_id: str | None = None
    """The station the engine runs (``None``: not reported; then it is not checked)."""
    pid: int | None = None
    """The engine's process id."""
    frame: int = 0
    """The engine frame this report was taken at."""
    time: datetime | None = None
    """When ``frame`` aired (UTC); with ``frame`` it maps UTC to frames."""
    on_air: str | None = None
    """The layer on air (``automation``, ``emergency``, ``live``, ``fallback``), if any."""
    current: CurrentItem | None = None
    """The automation item on air."""
    queue: tuple[str, ...] = ()
    """Item ids queued on automation, in play order."""
    outputs: tuple[OutputStatus, ...] = ()
    late_blocks: int = 0
    """Audio blocks mixed late (underruns) since the engine started."""
    fallback: Mapping[str, Any] = field(default_factory=dict)
    """``FallbackPlayer.status()``: ``rotation``, ``playing``, ``failed``."""

    # NOTE: reported by a station's engine process (``StationRuntime``) only: None here
    # means "not reported" (see the module's docstring).
    uptime_s: float | None = None
    """Seconds since the engine process started (to 0.1 s)."""
    stream_server: StreamAddress | None = None
    listeners: Mapping[str, int] | None = None
    """Listeners of our own stream server, by mount path."""
    audience: Mapping[str, AudienceCounts] | None = None
    """Listeners of every configured mount, by mount id."""
    harbor: HarborStatus | None = None
    live: str | None = None
    """The harbor mount on the live layer (``None``: none). Reported with ``harbor``."""
    metadata: MetadataStatus | None = None

    def to_wire(self) -> dict[str, Any]:
        """The report as plain JSON-like data: the engine's status dict as it always was."""
        wire: dict[str, Any] = {
            "station_id": self.station_id,
            "pid": self.pid,
            "frame": self.frame,
            "time": None if self.time is None else self.time.isoformat(),
            "on_air": self.on_air,
            "current": None if self.current is None else self.current.to_wire(),
            "queue": list(self.queue),
            "outputs": [output.to_wire() for output in self.outputs],
            "late_blocks": self.late_blocks,
            "fallback": dict(self.fallback),
        }
        if self.uptime_s is not None:
            wire["uptime_s"] = self.uptime_s
        if self.stream_server is not None:
            wire["stream_server"] = self.stream_server.to_wire()
        if self.listeners is not None:
            wire["listeners"] = dict(self.listeners)
        if self.audience is not None:
            wire["audience"] = {key: counts.to_wire() for key, counts in self.audience.items()}
        if self.harbor is not None:
            wire["harbor"] = self.harbor.to_wire()
            wire["live"] = self.live
        elif self.live is not None:
            wire["live"] = self.live
        if self.metadata is not None:
            wire["metadata"] = self.metadata.to_wire()
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> StatusReport:
        """The report in ``data`` (what ``to_wire`` gave, possibly through a ``Struct``)."""
        listeners = data.get("listeners")
        audience = data.get("audience")
        return cls(
            station_id=_opt_str(data.get("station_id")),
            pid=_opt_int(data.get("pid")),
            frame=_int(data.get("frame")),
            time=_time(data.get("time")),
            on_air=_opt_str(data.get("on_air")),
            current=CurrentItem.from_wire(data.get("current")),
            queue=tuple(str(item) for item in _list(data.get("queue"))),
            outputs=tuple(
                output
                for output in map(OutputStatus.from_wire, _list(data.get("outputs")))
                if output is not None
            ),
            late_blocks=_int(data.get("late_blocks")),
            fallback=dict(_mapping(data.get("fallback"))),
            uptime_s=_float(data.get("uptime_s")) if _is_number(data.get("uptime_s")) else None,
            stream_server=StreamAddress.from_wire(data.get("stream_server")),
            listeners=None
            if not isinstance(listeners, Mapping)
            else {str(path): _int(count) for path, count in listeners.items()},
            audience=None
            if not isinstance(audience, Mapping)
            else {
                str(key): counts
                for key, counts in ((k, AudienceCounts.from_wire(v)) for k, v in audience.items())
                if counts is not None
            },
            harbor=HarborStatus.from_wire(data.get("harbor")),
            live=_opt_str(data.get("live")) or None,
            metadata=MetadataStatus.from_wire(data.get("metadata")),
        )


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
