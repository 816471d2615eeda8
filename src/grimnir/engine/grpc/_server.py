"""Start the gRPC server for one station's ``EngineControl``."""

from __future__ import annotations

import contextlib
import os
from concurrent import futures
from typing import TYPE_CHECKING

import grpc

from grimnir.domain.errors import EXIT_MESSAGE_ENV, AddressError
from grimnir.engine.grpc._servicer import EngineServicer
from grimnir.engine.v1 import engine_pb2_grpc as pb_grpc
from grimnir.engine.v1.address import claim_unix_socket, grpc_target, unix_socket_path

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
    """Serve ``control`` on ``address``: ``host:port`` (port 0 picks a free one) or
    ``unix:PATH`` (a socket file, only for its owner; a stale one is replaced).

    Returns the started server and the port it listens on (0 for a socket).
    Raises ``AddressError`` when the address cannot be bound.
    """
    server, port = bind(control, address, max_workers=max_workers)
    server.start()
    return server, port


def bind(
    control: EngineControl, address: str, *, max_workers: int = MAX_WORKERS
) -> tuple[grpc.Server, int]:
    """``serve_with_port`` without starting: the address is taken (or ``AddressError``)
    but no request is served until ``server.start()``, so an engine can claim its
    control address before it opens its outputs and only answer once it is on air."""
    socket_path = unix_socket_path(address)
    if socket_path is not None:
        # NOTE: gRPC unlinks whatever socket is at the path before it binds:
        # refuse first if a live engine still answers there.
        claim_unix_socket(socket_path)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=SERVER_OPTIONS,
    )
    pb_grpc.add_EngineServicer_to_server(EngineServicer(control), server)  # type: ignore[no-untyped-call]
    try:
        port = server.add_insecure_port(grpc_target(address))
    except RuntimeError:
        port = 0
    if port == 0:
        raise AddressError(
            f"cannot listen for gRPC on {address}: it is already in use, or not an address "
            "of this machine; stop what uses it or choose another --grpc address"
        )
    if socket_path is not None:
        os.chmod(socket_path, 0o600)  # control is for the user running the engine
        port = 0
    return server, int(port)


def release(server: grpc.Server, address: str) -> None:
    """Give up an address ``bind`` took but never served on (its socket file too)."""
    server.stop(0)
    socket_path = unix_socket_path(address)
    if socket_path is not None:
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()


def report_exit_reason(message: str) -> None:
    """Hand ``message`` to the supervisor, when it passed a pipe (``EXIT_MESSAGE_ENV``)."""
    target = os.environ.get(EXIT_MESSAGE_ENV, "")
    if target.isdigit():
        with contextlib.suppress(OSError):
            os.write(int(target), message.encode()[:4096])


def serve(control: EngineControl, address: str) -> grpc.Server:
    """Serve ``control`` on ``address``; stop it with ``server.stop(grace_seconds)``."""
    server, _ = serve_with_port(control, address)
    return server
