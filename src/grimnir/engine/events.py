"""Events the engine raises, stamped with the engine frame they happened at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """``type`` is one of: item.started, item.ended, silence.detected,
    silence.cleared, layer.changed, source.error, telemetry, fallback.started /
    fallback.ended (fallback took the air because the programme had nothing,
    and gave it back), fallback.unavailable (every file of a fallback source
    failed: passed over for a while)."""

    type: str
    frame: int
    data: dict[str, Any] = field(default_factory=dict)
