"""The engine's mixer layers: one name for each, shared by config, engine and clients.

Four layers feed the master bus, in priority order: emergency, live,
automation, fallback. A command addresses one of ``COMMAND_LAYERS``; fallback
is the engine's own business. The gRPC contract has its own ``Layer`` enum;
``grimnir.engine.v1.wire`` maps it to and from this one.
"""

from __future__ import annotations

from enum import StrEnum

from grimnir.domain.priority import Priority


class Layer(StrEnum):
    """A mixer input, in priority order (its value is the name config files use)."""

    EMERGENCY = "emergency"
    LIVE = "live"
    AUTOMATION = "automation"
    FALLBACK = "fallback"

    @property
    def priority(self) -> Priority:
        return _PRIORITY[self]


_PRIORITY = {
    Layer.EMERGENCY: Priority.EMERGENCY,
    Layer.LIVE: Priority.LIVE_OVERRIDE,
    Layer.AUTOMATION: Priority.AUTOMATION,
    Layer.FALLBACK: Priority.FALLBACK,
}

COMMAND_LAYERS: tuple[Layer, ...] = (Layer.AUTOMATION, Layer.EMERGENCY, Layer.LIVE)
"""The layers a command (play, stop, fade, skip, unqueue) may address, as messages list them."""
