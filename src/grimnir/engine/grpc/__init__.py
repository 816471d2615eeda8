"""The engine's gRPC server: the control contract over the network.

``serve(control, address)`` exposes any ``EngineControl`` as the
``grimnir.engine.v1.Engine`` service (``proto/grimnir/engine/v1/engine.proto``).
``python -m grimnir.engine.grpc`` runs a bare engine for development and tests.
"""

from grimnir.engine.grpc._server import bind, release, report_exit_reason, serve, serve_with_port
from grimnir.engine.grpc._servicer import TRACEPARENT, EngineServicer

__all__ = [
    "TRACEPARENT",
    "EngineServicer",
    "bind",
    "release",
    "report_exit_reason",
    "serve",
    "serve_with_port",
]
