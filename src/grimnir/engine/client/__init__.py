"""Typed clients the control plane uses to drive a station's media engine.

``EngineClient`` is the interface; ``GrpcEngineClient`` talks to an engine
process, ``InProcessEngineClient`` to an engine in this process, and
``EngineSupervisor`` (``grimnir.engine.client.supervisor``) keeps engine
processes running.
"""

from grimnir.engine.client._api import EngineClient
from grimnir.engine.client._grpc import TRACEPARENT, GrpcEngineClient
from grimnir.engine.client._inprocess import InProcessEngineClient
from grimnir.engine.client._types import (
    LAYERS,
    SUBSCRIBED,
    EngineEventRecord,
    Layer,
    MediaAnalysis,
    PlayRequest,
)

__all__ = [
    "LAYERS",
    "SUBSCRIBED",
    "TRACEPARENT",
    "EngineClient",
    "EngineEventRecord",
    "GrpcEngineClient",
    "InProcessEngineClient",
    "Layer",
    "MediaAnalysis",
    "PlayRequest",
]
