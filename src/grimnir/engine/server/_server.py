"""The engine's built-in HTTP server: listeners, harbor sources, HLS files, status.

One asyncio event loop on its own daemon thread serves every connection, so
the block loop never waits on the network: it only hands encoded chunks to
``ListenerMount.write``. No web framework, because the peers need what
frameworks do not offer: the ``SOURCE`` method, ICY metadata interleaved in
the stream, bodies without end, per-connection control.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from grimnir.domain.errors import AddressError, EngineError
from grimnir.engine.outputs import StreamInfo
from grimnir.engine.server._admission import LoginGate
from grimnir.engine.server._harbor import Harbor, HarborHandler, peer_host, update_metadata
from grimnir.engine.server._http import (
    HEADER_TIMEOUT_S,
    METHODS,
    HttpError,
    Request,
    linger,
    read_request,
    simple_response,
)
from grimnir.engine.server._listeners import ListenerMount, serve_listener
from grimnir.engine.server._static import StaticDir, client_address

log = logging.getLogger(__name__)
T = TypeVar("T")

STATUS_PATH = "/status.json"
ADMIN_METADATA_PATH = "/admin/metadata"
_READER_LIMIT = 64 * 1024
_BACKLOG = 1024  # a restart brings every listener back at once
_RESERVED = (STATUS_PATH, "/admin")


class StreamServer:
    """One engine's HTTP server (default port 8000).

    ``batch_s`` is how long listener mounts gather written chunks before one
    fan-out (one loop wake-up and one socket write per listener per batch);
    it adds that much latency and saves CPU with many listeners: measured
    with ``benchmarks/listeners.py`` (128 kbit/s in 20 ms chunks), 100 ms
    batches cost ~6 % of a core per 1,000 listeners, fanning out every
    chunk (``batch_s=0``) ~30 %. ``source_timeout_s`` disconnects a harbor
    source that sends nothing (Icecast's ``source-timeout``); one that sends
    too little or undecodable data goes too (``_watch``). Harbor logins share
    one ``LoginGate``: a few at a time per client address, on a pool of their own.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        server_name: str = "Grimnir Radio",
        batch_s: float = 0.1,
        source_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.server_name = server_name
        self.batch_s = batch_s
        self.source_timeout_s = source_timeout_s
        self._mounts: dict[str, ListenerMount] = {}
        self._harbors: dict[str, Harbor] = {}
        self._logins = LoginGate()
        self._static: list[StaticDir] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._address: tuple[str, int] = (host, port)
        self._running = False
        self._closed = False

    def __repr__(self) -> str:
        host, port = self._address
        return f"<StreamServer {host}:{port} {'running' if self._running else 'stopped'}>"

    # -- lifetime -------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve on the server thread; ``AddressError`` when the port is taken."""
        if self._running or self._closed:
            raise EngineError("this stream server has already been started; create a new one")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run, args=(loop,), name=f"stream-server:{self.port}", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._bind(), loop).result(timeout=10)
        except OSError as exc:
            self._stop_loop()
            raise AddressError(_bind_error(self.host, self.port, exc)) from exc

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when started with port 0)."""
        return self._address

    @property
    def running(self) -> bool:
        return self._running

    def close(self) -> None:
        """Disconnect listeners and sources (their sinks end with "server closed"), unbind.

        Idempotent; safe from any thread but the server's own.
        """
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is not None and self._running:
            self._running = False
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            except (TimeoutError, RuntimeError):
                log.warning("stream server on port %s did not shut down cleanly", self.port)
        for mount in self._mounts.values():
            mount.stop()
        self._stop_loop()
        self._logins.close()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    async def _bind(self) -> None:
        self._server = await asyncio.start_server(
            self._handle,
            self.host,
            self.port,
            limit=_READER_LIMIT,
            reuse_address=True,
            backlog=_BACKLOG,
        )
        sockname = self._server.sockets[0].getsockname()
        self._address = (str(sockname[0]), int(sockname[1]))
        self._running = True
        for mount in list(self._mounts.values()):
            mount.start()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for mount in self._mounts.values():
            mount.stop()
        for harbor in self._harbors.values():
            harbor.kick("server closed")
        # Aborted transports end every handler; cancel only what is still waiting.
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)

    # -- configuration (any thread) --------------------------------------------------------

    def add_mount(
        self,
        path: str,
        *,
        content_type: str,
        stream_header: bytes = b"",
        burst_bytes: int = 64 * 1024,
        queue_bytes: int = 512 * 1024,
        info: StreamInfo | None = None,
    ) -> ListenerMount:
        """A listener mount at ``GET path``; give it to the engine as an output."""
        self._check_path(path)
        if burst_bytes < 0 or queue_bytes <= 0:
            raise EngineError(
                f"mount {path}: burst_bytes must be ≥ 0 and queue_bytes > 0 "
                f"(got {burst_bytes} and {queue_bytes})"
            )
        mount = ListenerMount(
            path,
            content_type=content_type,
            stream_header=stream_header,
            burst_bytes=burst_bytes,
            queue_bytes=queue_bytes,
            info=info,
            schedule=self._call_soon,
            batch_s=self.batch_s,
            server_name=self.server_name,
        )
        self._mounts[path] = mount
        if self._running:
            self._on_loop(mount.start)
        return mount

    def add_static(self, prefix: str, directory: Path, *, active_s: float = 30.0) -> StaticDir:
        """Serve the files under ``directory`` at ``prefix/…`` (HLS playlists and segments);
        a client that fetched one within ``active_s`` counts as a listener."""
        prefix = prefix.rstrip("/")
        self._check_path(prefix or "/")
        if not Path(directory).is_dir():
            raise EngineError(f"cannot serve {prefix}: {directory} is not a directory")
        static = StaticDir(prefix, Path(directory), active_s=active_s)
        self._static.append(static)
        return static

    def add_harbor(self, path: str, handler: HarborHandler) -> None:
        """Accept live sources (Icecast ``PUT``/``SOURCE``) at ``path``."""
        if path in self._harbors:
            raise EngineError(f"harbor mount {path} is already configured")
        if not path.startswith("/") or path.startswith(_RESERVED):
            raise EngineError(f"harbor mount {path!r} must start with / and not be {_RESERVED}")
        self._harbors[path] = Harbor(path, handler, self.source_timeout_s, logins=self._logins)

    def _check_path(self, path: str) -> None:
        if not path.startswith("/") or path == "/" or path.startswith(_RESERVED):
            raise EngineError(
                f"mount path {path!r} must start with / and not be / or {', '.join(_RESERVED)}"
            )
        if path in self._mounts or any(s.prefix == path for s in self._static):
            raise EngineError(f"{path} is already served; choose another mount path")

    # -- control and status (any thread) ---------------------------------------------------

    def kick(self, path: str) -> bool:
        """Disconnect the live source on harbor ``path``; False when none is connected."""
        harbor = self._harbors.get(path)
        if harbor is None or self._loop is None or not self._running:
            return False
        return self._on_loop(harbor.kick)

    def _on_loop(self, function: Callable[[], T]) -> T:
        """``function()`` run on the server loop, waiting for its result."""
        loop = self._loop
        if loop is None or self._thread is threading.current_thread():
            return function()

        async def call() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=5)

    def stats(self) -> dict[str, Any]:
        """Per mount: listeners, peak, bytes sent, dropped listeners; per harbor: the source."""
        host, port = self._address
        return {
            "server": self.server_name,
            "address": f"{host}:{port}",
            "running": self._running,
            "mounts": {path: m.stats() for path, m in list(self._mounts.items())},
            "harbors": {path: h.stats() for path, h in list(self._harbors.items())},
        }

    def _call_soon(self, callback: Callable[[], None]) -> bool:
        loop = self._loop
        if loop is None or not self._running:
            return False
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    # -- connections (server thread) --------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        request: Request | None = None
        try:
            async with asyncio.timeout(HEADER_TIMEOUT_S):
                request = await read_request(reader)
            if request is not None:
                await self._dispatch(request, reader, writer)
        except HttpError as exc:
            head_only = request is not None and request.method == "HEAD"
            if not writer.transport.is_closing():
                writer.write(
                    simple_response(
                        exc.status,
                        exc.message + "\n",
                        headers=exc.headers,
                        reason=exc.reason,
                        head_only=head_only,
                    )
                )
                if request is not None and request.method in ("PUT", "SOURCE"):
                    await linger(reader, writer)
        except (TimeoutError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # NOTE: only at shutdown; swallowed so asyncio does not log the cancelled task.
            pass
        except Exception:
            log.exception("stream server: request %s failed", request and request.target)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _dispatch(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        method, path = request.method, request.path
        if method not in METHODS:
            raise HttpError(405, "Method not allowed", {"Allow": ", ".join(sorted(METHODS))})
        if method in ("PUT", "SOURCE"):
            harbor = self._harbors.get(path)
            if harbor is None:
                raise HttpError(404 if self._route_kind(path) is None else 405, "No such mount")
            await harbor.serve(request, reader, writer)
            return
        if path == STATUS_PATH:
            body = json.dumps(self.stats(), indent=1) + "\n"
            writer.write(
                simple_response(
                    200,
                    body,
                    content_type="application/json",
                    headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
                    head_only=method == "HEAD",
                )
            )
            return
        if path == ADMIN_METADATA_PATH:
            if method != "GET":
                raise HttpError(405, "Method not allowed", {"Allow": "GET"})
            body_bytes = await update_metadata(request, self._harbors, peer_host(writer))
            writer.write(simple_response(200, body_bytes, content_type="text/xml"))
            return
        mount = self._mounts.get(path)
        if mount is not None:
            await serve_listener(mount, request, reader, writer)
            return
        for static in self._static:
            if static.matches(path):
                writer.write(static.respond(request, client_address(request, peer_host(writer))))
                return
        raise HttpError(404, "No such mount or file")

    def _route_kind(self, path: str) -> str | None:
        if path in self._mounts:
            return "mount"
        if any(static.matches(path) for static in self._static):
            return "static"
        return None


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} in use: another program (an Icecast server or another engine?) "
            f"listens on {host}:{port}; stop it or give this station another HTTP port "
            "(grimnir engine --http HOST:PORT)"
        )
    if exc.errno == errno.EACCES:
        return f"port {port}: permission denied on {host}; use a port above 1023"
    return f"cannot listen on {host}:{port}: {exc}"
