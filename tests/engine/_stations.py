"""Engine test helpers: a small station config (outputs as given, no DSP) and a
watch on the supervisor's events."""

from __future__ import annotations

import asyncio
from typing import Any

from grimnir.config import StationConfig
from grimnir.engine.client.supervisor import SupervisorEvent


def station(outputs: list[dict[str, Any]], **failover: Any) -> StationConfig:
    return StationConfig.model_validate(
        {
            "station": {
                "id": "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11",
                "name": "WGMR FM",
                "timezone": "America/New_York",
            },
            "mounts": [{"id": "main", "name": "Main", "outputs": outputs}],
            "failover": {"layer_fade_ms": 200, **failover},
            "dsp_graph": {"nodes": []},
        }
    )


class Alarms:
    """A supervisor's ``on_event``: keeps every event; ``raised`` is set by an alarm."""

    def __init__(self) -> None:
        self.events: list[SupervisorEvent] = []
        self.raised = asyncio.Event()

    def __call__(self, event: SupervisorEvent) -> None:
        self.events.append(event)
        if event.type == "engine.alarm":
            self.raised.set()
