"""The API server of ``grimnir up``: uvicorn in the control plane's event loop,
on a socket bound at once so a taken ``--http`` port fails before any engine starts."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from grimnir.domain.errors import GrimnirError


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``grimnir up``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


_UNBOUNDED = 1 << 62
"""The length a close-delimited body is sent under (never reached)."""


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, except that an HTTP/1.0 request's streamed answer
    (no ``Content-Length``: a listener on ``/listen/…``) ends where the connection does
    (RFC 1945 §7.2.2) instead of being sent chunked, which HTTP/1.0 clients (mpg123,
    many hardware players) do not understand: they play the chunk sizes as audio."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if cycle.scope.get("http_version") == "1.0" and cycle.scope.get("method") != "HEAD":
            cycle.send = _close_delimited(cycle)  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


def _close_delimited(cycle: RequestResponseCycle) -> Any:
    send = cycle.send
    open_ended = False

    async def send_message(message: Any) -> None:
        nonlocal open_ended
        if message["type"] == "http.response.start":
            names = {bytes(name).lower() for name, _ in message.get("headers", [])}
            if not names & {b"content-length", b"transfer-encoding"} and message["status"] not in (
                204,
                304,
            ):
                # NOTE: what uvicorn reads to frame the body: not chunked, and a length
                # that the last part of the body sets to what is left
                open_ended = True
                cycle.chunked_encoding = False
                cycle.expected_content_length = _UNBOUNDED
        elif open_ended and not message.get("more_body", False):
            cycle.expected_content_length = len(message.get("body", b""))  # the last part
        await send(message)

    return send_message


class ApiServer:
    """The API app served by uvicorn in this event loop, on a socket bound at once."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._socket = _bind(host, port)
        self.port = int(self._socket.getsockname()[1])
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def serve(self, app: FastAPI) -> None:
        """Start serving ``app``; returns once the server accepts connections."""
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            # NOTE: listeners and event streams never end on their own: give them 2 s.
            timeout_graceful_shutdown=2,
            ws_ping_interval=20.0,
            http=_HttpProtocol,
            # NOTE: X-Forwarded-* are believed only from the `trusted_proxies` setting
            # (grimnir.api._urls), not from whoever connects over loopback
            proxy_headers=False,
        )
        self._server = server = _QuietServer(config)
        self._task = asyncio.create_task(self._run(server), name="grimnir-api")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise GrimnirError(f"the API server on port {self.port} stopped at start")
            await asyncio.sleep(0.02)

    async def _run(self, server: _QuietServer) -> None:
        try:
            await server.serve(sockets=[self._socket])
        except SystemExit:  # uvicorn's answer to a failed app startup
            raise GrimnirError(
                f"the API on port {self.port} failed to start; the log above says why"
            ) from None

    async def close(self) -> None:
        """Stop accepting, give open connections a moment, then end them."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, GrimnirError):
                await asyncio.wait_for(self._task, timeout=10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # NOTE: the protocol given, not left at 0: asyncio sets TCP_NODELAY on accepted
    # connections only for an IPPROTO_TCP listener, and without it a reply sent as
    # head then body waits ~40 ms for the client's delayed ACK on a kept-alive
    # connection (every Prometheus scrape, every poller).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host or "0.0.0.0", port))  # noqa: S104 - an empty host means all interfaces
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GrimnirError(
                f"port {port} on {host or 'all interfaces'} is in use (another `grimnir up`?): "
                "stop that program or pass another --http HOST:PORT"
            ) from None
        raise GrimnirError(f"cannot serve the API on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock
