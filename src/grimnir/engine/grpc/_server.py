"""Start the gRPC server for one station's ``EngineControl``."""

from __future__ import annotations

from concurrent import futures
from typing import TYPE_CHECKING

import grpc

from grimnir.domain.errors import EngineError
from grimnir.engine.grpc._servicer import EngineServicer
from grimnir.engine.v1 import engine_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from grimnir.engine.control import EngineControl

MAX_WORKERS = 32
"""Threads serving calls; each open stream holds one while it runs."""

SERVER_OPTIONS = (
    # NOTE: without this, gRPC sets SO_REUSEPORT and a second engine started
    # on the same address would share the port silently instead of failing.
    ("grpc.so_reuseport", 0),
)


def serve_with_port(
    control: EngineControl, address: str, *, max_workers: int = MAX_WORKERS
) -> tuple[grpc.Server, int]:
    """Serve ``control`` on ``address`` (``host:port``; port 0 picks a free one).

    Returns the started server and the port it listens on. Raises
    ``EngineError`` when the address cannot be bound.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=SERVER_OPTIONS,
    )
    pb_grpc.add_EngineServicer_to_server(EngineServicer(control), server)  # type: ignore[no-untyped-call]
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise EngineError(f"cannot listen for gRPC on {address}: {exc}") from None
    if port == 0:
        raise EngineError(f"cannot listen for gRPC on {address} (in use, or not a local address?)")
    server.start()
    return server, int(port)


def serve(control: EngineControl, address: str) -> grpc.Server:
    """Serve ``control`` on ``address``; stop it with ``server.stop(grace_seconds)``."""
    server, _ = serve_with_port(control, address)
    return server
