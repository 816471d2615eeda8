"""What the control plane sends to an engine and gets back, in our own types.

These values are the same whichever way a request travels (gRPC or in
process); they use only domain types, so the control plane never imports
engine internals. The engine's gRPC server and every client share them;
``grimnir.engine.client`` names them for the control plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grimnir.domain.errors import EngineError
from grimnir.domain.fades import CuePoints, FadeCurve, Timing

SUBSCRIBED = "subscribed"
"""Type of the first event of every event stream: from here on nothing is missed."""


@dataclass(frozen=True, slots=True)
class PlayRequest:
    """One item to play, as the executor sends it.

    ``start_at`` is a UTC time (None: as soon as the queue reaches the item);
    the engine turns it into its own frame count. ``meta`` comes back in the
    item's ``item.started`` event (timeline ids and the like).
    """

    item_id: str
    path: str
    start_at: datetime | None = None
    timing: Timing = Timing.SOFT
    cue: CuePoints = field(default_factory=CuePoints)
    gain_db: float = 0.0
    fade_in_ms: int = 0
    fade_out_ms: int = 0
    curve: FadeCurve = FadeCurve.LINEAR
    title: str = ""
    artist: str = ""
    analyze: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.item_id:
            raise EngineError("a play request needs an item_id")
        if self.start_at is not None and self.start_at.tzinfo is None:
            raise EngineError(f"start_at of item {self.item_id!r} must be timezone-aware (UTC)")
        if self.fade_in_ms < 0 or self.fade_out_ms < 0:
            raise EngineError(f"fades of item {self.item_id!r} must be ≥ 0 ms")


@dataclass(frozen=True, slots=True)
class EngineEventRecord:
    """An engine event as a client sees it: the engine frame and the same instant in UTC.

    ``type`` is one of the engine's event types (``grimnir.engine.events.EventType``:
    item.started, item.ended, layer.changed, live.started, telemetry, …) or
    ``subscribed`` (the first record of every stream).
    """

    station_id: str
    type: str
    frame: int
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MediaAnalysis:
    """Loudness and cue points of a file (the fields of the engine's analysis)."""

    integrated_lufs: float
    gain_db: float
    cue_in_ms: int
    cue_out_ms: int
    duration_ms: int
