"""The media engine: one station's real-time audio, and the clients that drive it.

The names other parts use are here; each is imported on first use, so
``import grimnir.engine`` costs nothing and a control plane that only talks
to engines over gRPC never loads PyAV, pedalboard or the engine's threads
(``grimnir engine``'s start-up time counts). Where the rest lives:

- ``engine`` (``Engine``: the block loop), ``clock``, ``layers``, ``automation``,
  ``fallback``, ``sources/``, ``dsp/``, ``encoders/``, ``outputs/``,
  ``server/`` (listeners, harbor): the audio path;
- ``control`` (``EngineControl``, ``LocalControl``) and ``runtime``
  (``StationRuntime``, a whole station process): what a request drives;
- ``grpc/`` (the server), ``v1/`` (the contract: the generated modules, our
  values for its messages, the translations between them), ``client/`` (the
  control plane's clients and the supervisor of engine processes);
- ``render``: offline rendering through the same engine (``grimnir render``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grimnir.engine.client import EngineClient, GrpcEngineClient, InProcessEngineClient
    from grimnir.engine.client.supervisor import (
        EngineSpec,
        EngineStatus,
        EngineSupervisor,
        SupervisorEvent,
    )
    from grimnir.engine.clock import Clock, RealtimeClock, VirtualClock
    from grimnir.engine.control import EngineControl, LocalControl, Metadata
    from grimnir.engine.engine import Engine, EngineOptions
    from grimnir.engine.events import EngineEvent
    from grimnir.engine.mixing.automation import PlayItem
    from grimnir.engine.runtime import RuntimeOptions, StationRuntime
    from grimnir.engine.v1.types import (
        SUBSCRIBED,
        EngineEventRecord,
        MediaAnalysis,
        PlayRequest,
    )

_LAZY: dict[str, str] = {
    "PlayItem": "grimnir.engine.mixing.automation",
    "EngineClient": "grimnir.engine.client",
    "GrpcEngineClient": "grimnir.engine.client",
    "InProcessEngineClient": "grimnir.engine.client",
    "EngineSpec": "grimnir.engine.client.supervisor",
    "EngineStatus": "grimnir.engine.client.supervisor",
    "EngineSupervisor": "grimnir.engine.client.supervisor",
    "SupervisorEvent": "grimnir.engine.client.supervisor",
    "Clock": "grimnir.engine.clock",
    "RealtimeClock": "grimnir.engine.clock",
    "VirtualClock": "grimnir.engine.clock",
    "EngineControl": "grimnir.engine.control",
    "LocalControl": "grimnir.engine.control",
    "Metadata": "grimnir.engine.control",
    "Engine": "grimnir.engine.engine",
    "EngineOptions": "grimnir.engine.engine",
    "EngineEvent": "grimnir.engine.events",
    "RuntimeOptions": "grimnir.engine.runtime",
    "StationRuntime": "grimnir.engine.runtime",
    "SUBSCRIBED": "grimnir.engine.v1.types",
    "EngineEventRecord": "grimnir.engine.v1.types",
    "MediaAnalysis": "grimnir.engine.v1.types",
    "PlayRequest": "grimnir.engine.v1.types",
}

__all__ = [
    "SUBSCRIBED",
    "Clock",
    "Engine",
    "EngineClient",
    "EngineControl",
    "EngineEvent",
    "EngineEventRecord",
    "EngineOptions",
    "EngineSpec",
    "EngineStatus",
    "EngineSupervisor",
    "GrpcEngineClient",
    "InProcessEngineClient",
    "LocalControl",
    "MediaAnalysis",
    "Metadata",
    "PlayItem",
    "PlayRequest",
    "RealtimeClock",
    "RuntimeOptions",
    "StationRuntime",
    "SupervisorEvent",
    "VirtualClock",
]


def __getattr__(name: str) -> Any:
    # NOTE: an unknown name must raise AttributeError, so that
    # ``from grimnir.engine import render`` still finds the submodule.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
