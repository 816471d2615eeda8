"""A small station config for engine runtime tests: outputs as given, no DSP."""

from __future__ import annotations

from typing import Any

from grimnir.config import StationConfig


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
