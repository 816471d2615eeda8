"""Events the engine raises, stamped with the engine frame they happened at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """``type`` is one of: item.started, item.ended, silence.detected,
    silence.cleared, layer.changed, source.error, telemetry."""

    type: str
    frame: int
    data: dict[str, Any] = field(default_factory=dict)
