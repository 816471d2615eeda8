"""Listener mounts: one encoded stream fanned out to every HTTP listener.

The block loop calls ``write`` with each encoded chunk; the server's event
loop does the fan-out. ``write`` only appends to a bounded pending queue and,
once per batch, wakes the loop with ``call_soon_threadsafe`` — its cost does
not grow with the number of listeners, and it never blocks. The loop then
sends the batch to each listener's socket. A listener's queue is its
transport's write buffer: when it holds more than ``queue_bytes`` the
listener is too slow for the stream and is disconnected (counted in
``dropped_listeners``), so it never holds anybody else back.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import time
from collections.abc import Callable
from typing import Any

from grimnir.engine.outputs import DropOldestQueue, Output, OutputState, StreamInfo
from grimnir.engine.server._http import HttpError, Request
from grimnir.engine.server._icy import EMPTY_BLOCK, METAINT, metadata_block
from grimnir.engine.server._transport import Transport

# Streams whose decoders need the first bytes (Ogg pages, FLAC STREAMINFO, RIFF).
HEADER_TYPES = frozenset(
    {"audio/ogg", "application/ogg", "audio/flac", "audio/x-flac", "audio/wav", "audio/x-wav"}
)

LISTENER_SNDBUF = 64 * 1024
"""Kernel send buffer per listener: the bounded queue, not the kernel, holds a listener's lag."""

Schedule = Callable[[Callable[[], None]], bool]
"""Runs a callable on the server loop from any thread; False when the loop is not running."""


class Listener:
    """One connected listener: its socket, and for ICY its own metadata counter."""

    __slots__ = ("bytes_sent", "connected_at", "icy", "last_meta", "remote", "transport", "until")

    def __init__(self, transport: Transport, *, icy: bool, remote: str) -> None:
        self.transport = transport
        self.icy = icy
        self.remote = remote
        self.connected_at = time.time()
        self.bytes_sent = 0
        self.until = METAINT
        self.last_meta = EMPTY_BLOCK

    def send(self, data: bytes, meta: bytes) -> int:
        """Queue ``data`` (stream bytes) with ICY blocks inserted; the bytes queued."""
        if not self.icy:
            out = data
        else:
            parts: list[bytes] = []
            pos, size = 0, len(data)
            while size - pos >= self.until:
                parts.append(data[pos : pos + self.until])
                pos += self.until
                self.until = METAINT
                if meta == self.last_meta:
                    parts.append(EMPTY_BLOCK)
                else:
                    parts.append(meta)
                    self.last_meta = meta
            if pos < size:
                parts.append(data[pos:])
                self.until -= size - pos
            out = b"".join(parts)
        self.transport.write(out)
        self.bytes_sent += len(out)
        return len(out)


class ListenerMount(Output):
    """A stream listeners can join at ``GET <path>``; created by ``StreamServer.add_mount``.

    ``stream_header`` (an Ogg or FLAC header) goes to every listener first,
    then the burst (the newest ``burst_bytes`` of the stream in whole chunks)
    so that playback starts at once. Fed by ``Engine.add_output``, which
    writes the encoder's header before any audio: a first write equal to
    ``stream_header`` is not repeated, and for Ogg/FLAC/WAV mounts created
    without one the first write is taken as the header.
    """

    def __init__(
        self,
        path: str,
        *,
        content_type: str,
        stream_header: bytes,
        burst_bytes: int,
        queue_bytes: int,
        info: StreamInfo | None,
        schedule: Schedule,
        batch_s: float,
        server_name: str,
    ) -> None:
        super().__init__(f"listeners {path}")
        self.path = path
        self.content_type = content_type
        self.info = info or StreamInfo()
        self.burst_bytes = burst_bytes
        self.queue_bytes = queue_bytes
        self.title = ""
        self.peak_listeners = 0
        self.dropped_listeners = 0
        self.connections = 0
        self.bytes_sent = 0
        self._server_name = server_name
        self._schedule = schedule
        self._batch_s = batch_s
        self._header = stream_header
        self._header_known = bool(stream_header) or content_type not in HEADER_TYPES
        self._first_write = True
        self._pending = DropOldestQueue(max(burst_bytes, queue_bytes))
        self._scheduled = False
        self._burst: collections.deque[bytes] = collections.deque()
        self._burst_size = 0
        self._meta = EMPTY_BLOCK
        self._listeners: set[Listener] = set()
        self._unheaded: set[Listener] = set()

    # -- any thread ------------------------------------------------------------------

    @property
    def listener_count(self) -> int:
        """Listeners connected now."""
        return len(self._listeners)

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if self._state is OutputState.CLOSED:
                self.dropped_bytes += len(data)
                return
            if self._first_write:
                self._first_write = False
                if self._header and data == self._header:
                    return  # the engine sends the header we already have
                if not self._header_known:
                    self._header, self._header_known = data, True
                    return
            self.dropped_bytes += self._pending.push(data)
            if self._scheduled:
                return
            self._scheduled = True
        if not self._schedule(self._wake):
            with self._lock:
                self._scheduled = False  # not running yet: start() flushes

    def set_metadata(self, title: str) -> None:
        """Announce ``title`` as the ICY ``StreamTitle`` from the next metadata block on.

        It applies to the bytes the server sends next, which may include up to
        ``batch_s`` of audio written just before; ICY itself only places a
        title every 16000 bytes (1 s at 128 kbit/s).
        """
        self.title = title
        self._meta = metadata_block(title) if title else EMPTY_BLOCK

    def close(self) -> None:
        """End the stream: listeners are disconnected, later writes count as dropped."""
        with self._lock:
            if self._state is OutputState.CLOSED:
                return
            self._state = OutputState.CLOSED
        self._schedule(self._disconnect_all)

    def stats(self) -> dict[str, Any]:
        """Counters for ``StreamServer.stats`` and ``/status.json``."""
        return {
            "content_type": self.content_type,
            "state": self._state.value,
            "title": self.title,
            "listeners": self.listener_count,
            "peak_listeners": self.peak_listeners,
            "connections": self.connections,
            "dropped_listeners": self.dropped_listeners,
            "bytes_in": self.bytes_written,
            "bytes_sent": self.bytes_sent,
            "dropped_bytes": self.dropped_bytes,
        }

    # -- the server loop ---------------------------------------------------------------

    def response_head(self, *, icy: bool) -> bytes:
        """The ``HTTP/1.0 200 OK`` head a listener gets (Icecast's dialect)."""
        info = self.info
        headers = {
            "Server": _clean(self._server_name),
            "Content-Type": self.content_type,
            "Cache-Control": "no-cache, no-store",
            "Pragma": "no-cache",
            "Connection": "close",
            "Access-Control-Allow-Origin": "*",
            "icy-name": _clean(info.name),
            "icy-description": _clean(info.description),
            "icy-genre": _clean(info.genre),
            "icy-url": _clean(info.url),
            "icy-pub": "1" if info.public else "0",
        }
        if info.bitrate_kbps:
            headers["icy-br"] = str(info.bitrate_kbps)
        if icy:
            headers["icy-metaint"] = str(METAINT)
        lines = ["HTTP/1.0 200 OK", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def attach(self, transport: Transport, *, icy: bool, remote: str) -> Listener | None:
        """Start streaming to a new listener: head, stream header, burst. None when refused."""
        if self._state is not OutputState.UP:
            return None
        transport.write(self.response_head(icy=icy))
        listener = Listener(transport, icy=icy, remote=remote)
        sent = 0
        if self._header_known:
            if self._header:
                sent += listener.send(self._header, self._meta)
        else:
            self._unheaded.add(listener)
        for chunk in self._burst:
            sent += listener.send(chunk, self._meta)
        self.bytes_sent += sent
        self.connections += 1
        self._listeners.add(listener)
        self.peak_listeners = max(self.peak_listeners, len(self._listeners))
        return listener

    def detach(self, listener: Listener) -> None:
        """Forget a listener that went away (idempotent)."""
        self._listeners.discard(listener)
        self._unheaded.discard(listener)

    def flush(self) -> None:
        """Send what the block loop wrote since the last flush to every listener."""
        with self._lock:
            chunks = self._pending.drain()
            self._scheduled = False
            header = self._header if self._header_known else None
        if not chunks:
            return
        for chunk in chunks:
            self.bytes_written += len(chunk)
            self._burst.append(chunk)
            self._burst_size += len(chunk)
        while self._burst_size > self.burst_bytes and len(self._burst) > 1:
            self._burst_size -= len(self._burst.popleft())
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        meta, limit, sent = self._meta, self.queue_bytes, 0
        if header is not None and self._unheaded:
            for listener in self._unheaded:
                sent += listener.send(header, meta) if header else 0
            self._unheaded.clear()
        slow: list[Listener] = []
        for listener in self._listeners:
            transport = listener.transport
            if transport.is_closing():
                slow.append(listener)
                continue
            sent += listener.send(data, meta)
            if transport.get_write_buffer_size() > limit:
                slow.append(listener)
        self.bytes_sent += sent
        for listener in slow:
            if not listener.transport.is_closing():
                self.dropped_listeners += 1
                listener.transport.abort()
            self.detach(listener)

    def start(self) -> None:
        """The server runs: take listeners, send what was written before."""
        with self._lock:
            if self._state is not OutputState.CLOSED:
                self._state = OutputState.UP
        self.flush()

    def _wake(self) -> None:
        if self._batch_s > 0:
            asyncio.get_running_loop().call_later(self._batch_s, self.flush)
        else:
            self.flush()

    def _disconnect_all(self) -> None:
        for listener in list(self._listeners):
            listener.transport.abort()
            self.detach(listener)

    def stop(self) -> None:
        """The server stops: disconnect everybody; the mount counts as closed."""
        with self._lock:
            self._state = OutputState.CLOSED
        self._disconnect_all()


async def serve_listener(
    mount: ListenerMount,
    request: Request,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Serve one ``GET``/``HEAD`` of a mount until the listener goes or is dropped."""
    if mount.state is not OutputState.UP:
        raise HttpError(503, "Stream not available")
    icy = request.header("icy-metadata").strip() == "1"
    if request.method == "HEAD":
        writer.write(mount.response_head(icy=icy))
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, LISTENER_SNDBUF)
    peer = writer.get_extra_info("peername")
    remote = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
    listener = mount.attach(writer.transport, icy=icy, remote=remote)
    if listener is None:
        raise HttpError(503, "Stream not available")
    try:
        # NOTE: a client may half-close after its request and keep reading, so EOF
        # alone does not end a listener; a failed write (or a drop) closes the transport.
        while await reader.read(4096):
            pass
        await writer.wait_closed()
    finally:
        mount.detach(listener)


def _clean(value: str) -> str:
    """A header value without line breaks (no header injection from station names)."""
    return " ".join(value.split())
