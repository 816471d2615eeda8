"""Typed clients the control plane uses to drive a station's media engine.

``EngineClient`` is the interface; ``GrpcEngineClient`` talks to an engine
process, ``InProcessEngineClient`` to an engine in this process, and
``EngineSupervisor`` (``grimnir.engine.client.supervisor``) keeps engine
processes running. The values they take and give (``PlayRequest``,
``EngineEventRecord``, ``StatusReport``, …) live with the contract in
``grimnir.engine.v1``.
"""

from grimnir.domain.layers import COMMAND_LAYERS, Layer
from grimnir.engine.client._api import EngineClient
from grimnir.engine.client._grpc import TRACEPARENT, GrpcEngineClient
from grimnir.engine.client._inprocess import InProcessEngineClient
from grimnir.engine.v1.status import (
    AudienceCounts,
    CurrentItem,
    HarborSource,
    HarborStatus,
    MetadataStatus,
    OutputStatus,
    StatusReport,
    StreamAddress,
)
from grimnir.engine.v1.types import SUBSCRIBED, EngineEventRecord, MediaAnalysis, PlayRequest

__all__ = [
    "COMMAND_LAYERS",
    "SUBSCRIBED",
    "TRACEPARENT",
    "AudienceCounts",
    "CurrentItem",
    "EngineClient",
    "EngineEventRecord",
    "GrpcEngineClient",
    "HarborSource",
    "HarborStatus",
    "InProcessEngineClient",
    "Layer",
    "MediaAnalysis",
    "MetadataStatus",
    "OutputStatus",
    "PlayRequest",
    "StatusReport",
    "StreamAddress",
]
