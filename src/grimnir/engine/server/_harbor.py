"""Harbor: live sources (DJ software) connecting the way they connect to Icecast.

``PUT /mount`` (Icecast ≥ 2.4, with ``Expect: 100-continue``, a body without
end or ``Transfer-Encoding: chunked``) and legacy ``SOURCE /mount HTTP/1.0``
with HTTP Basic auth. Credentials, and what to do with the audio, belong to a
``HarborHandler`` the station supplies; this module only speaks the protocol:
credentials first (a bad login always gets 401, only an authenticated source
hears "Mountpoint in use"), one source per mount, every received byte handed
to the handler's sink, ``end`` called exactly once however the source goes,
and ``/admin/metadata`` updates passed on. A source that sends too little, or
whose sink says its data does not decode, is dropped (``_watch``); logins
are admitted to their credential check by a ``LoginGate`` (``_admission``).
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from grimnir.engine.server._admission import LoginGate
from grimnir.engine.server._http import HttpError, Request
from grimnir.engine.server._transport import Transport
from grimnir.engine.server._watch import SourceRules, watch_source

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024
BUSY_LOGIN_KEEP_S: Final = 300.0
"""A login refused only because the mount was busy is accepted again for this long
without asking the handler (a one-time live token is spent on the first ask)."""
_BUSY_LOGINS_MAX = 64
REALM = 'Basic realm="Grimnir harbor"'
_METADATA_OK = (
    '<?xml version="1.0"?>\n<iceresponse><message>Metadata update successful</message>'
    "<return>1</return></iceresponse>"
)


@dataclass(slots=True)
class HarborConnection:
    """A connected source as the handler sees it; ``bytes_received`` keeps counting."""

    path: str
    user: str
    content_type: str
    """As the client declared it ("" when it sent none); the decoder probes anyway."""
    headers: dict[str, str]
    """Request headers, lower-case names (``ice-name``, ``ice-description``, …), without
    ``authorization``."""
    remote: str
    method: str
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    bytes_received: int = 0


class HarborSink(Protocol):
    """Where one source's bytes go; every call comes from the server thread and must not block."""

    def feed(self, data: bytes) -> None: ...

    def end(self, reason: str) -> None: ...

    def metadata(self, title: str) -> None: ...

    def problem(self) -> str | None:
        """Why the source should be dropped now (its data stopped decoding), or None.

        Asked about twice a second while the source is connected; must be cheap.
        """


class HarborHandler(Protocol):
    """The station's side of a harbor mount: who may connect, and a sink per connection.

    ``authenticate`` runs on a worker thread (it may ask the control plane over
    HTTP), so listeners and the connected source keep flowing meanwhile; one
    that takes longer than ``LOGIN_DEADLINE_S`` refuses the login. ``remote``
    is the client's address without the port.
    """

    def authenticate(self, path: str, user: str, password: str, remote: str) -> bool: ...

    def on_connect(self, conn: HarborConnection) -> HarborSink: ...


class _Source:
    """The one live connection on a harbor mount."""

    def __init__(self, conn: HarborConnection, sink: HarborSink, transport: Transport) -> None:
        self.conn = conn
        self.sink = sink
        self.transport = transport
        self.reason: str | None = None
        self.ended = False
        self.credential = b""
        """A digest of the credentials it connected with (metadata updates reuse them)."""

    def end(self, reason: str) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            self.sink.end(self.reason or reason)
        except Exception:
            log.exception("harbor sink for %s failed at end", self.conn.path)

    def kick(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.transport.abort()


class Harbor:
    """A harbor mount: its handler and the source connected now, if any."""

    def __init__(
        self,
        path: str,
        handler: HarborHandler,
        timeout_s: float,
        *,
        logins: LoginGate | None = None,
        rules: SourceRules | None = None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.timeout_s = timeout_s
        self.logins = logins or LoginGate()
        self.rules = rules or SourceRules()
        self.source: _Source | None = None
        self.connections = 0
        self.refused = 0
        self.dropped = 0
        self._busy_logins: dict[bytes, float] = {}
        """Credential digests refused only for a busy mount → until when they pass."""

    def stats(self) -> dict[str, Any]:
        src = self.source
        info: dict[str, Any] = {"connected": src is not None, "connections": self.connections}
        info["refused"] = self.refused
        info["dropped"] = self.dropped
        if src is not None:
            c = src.conn
            info |= {
                "user": c.user,
                "remote": c.remote,
                "content_type": c.content_type,
                "connected_at": c.connected_at.isoformat(),
                "bytes_received": c.bytes_received,
                "name": c.headers.get("ice-name", ""),
            }
        return info

    async def authorize(self, request: Request, remote: str, *, source: bool = False) -> str:
        """The authenticated user; ``HttpError(401)`` otherwise (``429``/``503`` when
        too many logins wait). The handler is asked on a login worker so the
        server's loop never waits for it. ``source``: a source connecting, for
        which a login refused earlier only for a busy mount passes again."""
        creds = request.basic_auth()
        ok = False
        if creds is not None:
            user, password = creds
            if source and self._busy_login_passes(_credential(user, password)):
                return user
            with self.logins.pending(remote):
                ok = await self.logins.check(
                    f"{user!r} on {self.path} from {remote}",
                    lambda: self.handler.authenticate(self.path, user, password, remote),
                )
        if not ok or creds is None:
            self.refused += 1
            raise HttpError(401, "Authentication required", {"WWW-Authenticate": REALM})
        return creds[0]

    def _busy_login_passes(self, credential: bytes) -> bool:
        until = self._busy_logins.pop(credential, None)
        return until is not None and until > time.monotonic()

    def _remember_busy_login(self, credential: bytes) -> None:
        now = time.monotonic()
        logins = self._busy_logins
        for key in [key for key, until in logins.items() if until <= now]:
            del logins[key]
        if len(logins) >= _BUSY_LOGINS_MAX:
            del logins[next(iter(logins))]  # the oldest
        logins[credential] = now + BUSY_LOGIN_KEEP_S

    async def authorize_metadata(self, request: Request, remote: str) -> None:
        """Metadata updates come with the source's own credentials: those are
        accepted without asking again (a one-time live token is spent by then)."""
        creds = request.basic_auth()
        source = self.source
        if (
            creds is not None
            and source is not None
            and source.credential
            and hmac.compare_digest(source.credential, _credential(*creds))
        ):
            return
        await self.authorize(request, remote)

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Take a source from its request head to its end; refusals raise ``HttpError``."""
        # NOTE: credentials first, so only an authenticated source learns the mount is
        # busy; a login refused for that alone passes again without spending a one-time
        # live token twice (``BUSY_LOGIN_KEEP_S``).
        user = await self.authorize(request, peer_host(writer), source=True)
        creds = request.basic_auth()
        credential = b"" if creds is None else _credential(*creds)
        if self.source is not None:
            self._remember_busy_login(credential)
            self._check_free()
        peer = writer.get_extra_info("peername")
        conn = HarborConnection(
            path=self.path,
            user=user,
            content_type=request.header("content-type"),
            # NOTE: the credentials stay here; handlers and status pages never see them.
            headers={k: v for k, v in request.headers.items() if k != "authorization"},
            remote=f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer),
            method=request.method,
        )
        try:
            sink = self.handler.on_connect(conn)
        except Exception as exc:
            log.exception("harbor handler refused %s", self.path)
            raise HttpError(503, f"Source refused: {exc}") from exc
        source = _Source(conn, sink, writer.transport)
        source.credential = credential
        self.source = source
        self.connections += 1
        reason = "server closed"
        watch = asyncio.create_task(self._watch(source))
        try:
            if request.method == "SOURCE":
                writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
            elif "100-continue" in request.header("expect").lower():
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
            reason = await self._pump(request, reader, source)
        except TimeoutError:
            reason = f"timeout: no data for {self.timeout_s:g} s"
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        except HttpError as exc:
            reason = f"protocol error: {exc.message}"
        except asyncio.CancelledError:
            source.reason = source.reason or "server closed"
            raise
        finally:
            watch.cancel()
            if self.source is source:
                self.source = None
            source.end(reason)
            writer.transport.abort()

    async def _watch(self, source: _Source) -> None:
        """Drop ``source`` once it sends too little or its data stops decoding."""
        conn = source.conn
        reason = await watch_source(lambda: conn.bytes_received, source.sink.problem, self.rules)
        if source.ended:
            return
        self.dropped += 1
        log.warning(
            "harbor %s: dropping the source %r from %s: %s",
            self.path,
            conn.user,
            conn.remote,
            reason,
        )
        source.kick(reason)

    def _check_free(self) -> None:
        if self.source is not None:
            self.refused += 1
            raise HttpError(403, "Mountpoint in use", reason="Mountpoint in use")

    async def _pump(self, request: Request, reader: asyncio.StreamReader, source: _Source) -> str:
        """Feed the body to the sink; the reason it ended."""
        chunked = "chunked" in request.header("transfer-encoding").lower()
        length_text = request.header("content-length")
        remaining = int(length_text) if length_text.isdigit() and not chunked else None
        while True:
            if chunked:
                size = await self._chunk_size(reader)
                if size == 0:
                    return "eof"
                while size > 0:
                    data = await self._read(reader, min(size, READ_BYTES))
                    if not data:
                        return "eof"
                    size -= len(data)
                    self._feed(source, data)
                await self._read_line(reader)  # the CRLF after each chunk
                continue
            if remaining == 0:
                return "eof"
            data = await self._read(reader, READ_BYTES if remaining is None else remaining)
            if not data:
                return "eof"
            if remaining is not None:
                remaining -= len(data)
            self._feed(source, data)

    def _feed(self, source: _Source, data: bytes) -> None:
        source.conn.bytes_received += len(data)
        source.sink.feed(data)

    async def _read(self, reader: asyncio.StreamReader, size: int) -> bytes:
        async with asyncio.timeout(self.timeout_s):
            return await reader.read(min(size, READ_BYTES))

    async def _read_line(self, reader: asyncio.StreamReader) -> bytes:
        async with asyncio.timeout(self.timeout_s):
            try:
                return await reader.readline()
            except ValueError:
                raise HttpError(400, "chunk size line too long") from None

    async def _chunk_size(self, reader: asyncio.StreamReader) -> int:
        line = await self._read_line(reader)
        if not line:
            return 0
        text = line.split(b";", 1)[0].strip()
        try:
            return int(text, 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size") from None

    def kick(self, reason: str = "kicked") -> bool:
        """Disconnect the source, if any (its sink ends with ``reason``)."""
        source = self.source
        if source is None:
            return False
        source.kick(reason)
        return True


def peer_host(writer: asyncio.StreamWriter) -> str:
    """The client's address without the port."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


def _credential(user: str, password: str) -> bytes:
    return hashlib.sha256(f"{user}\0{password}".encode()).digest()


async def update_metadata(request: Request, harbors: dict[str, Harbor], remote: str = "") -> bytes:
    """Answer Icecast's ``/admin/metadata?mount=…&mode=updinfo&song=…``: the response body."""
    raw = request.params("latin-1")
    charset = raw.get("charset", "").strip()
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise HttpError(400, f"Unknown charset {charset[:40]!r}") from None
        params = request.params(charset)
    else:
        try:
            params = request.params("utf-8", errors="strict")
        except UnicodeDecodeError:
            params = raw  # old clients send Latin-1 without saying so
    mount = params.get("mount", "")
    if not mount:
        raise HttpError(400, "Missing parameter: mount")
    harbor = harbors.get(mount)
    if harbor is None:
        raise HttpError(400, "Source does not exist")
    await harbor.authorize_metadata(request, remote)
    if params.get("mode", "updinfo") != "updinfo":
        raise HttpError(400, "No such action")
    source = harbor.source
    if source is None:
        raise HttpError(400, "Source does not exist")
    song = params.get("song")
    if song is None:
        artist, title = params.get("artist", ""), params.get("title", "")
        song = f"{artist} - {title}" if artist and title else artist or title
    try:
        source.sink.metadata(song)
    except Exception as exc:
        log.exception("harbor sink for %s failed on metadata", mount)
        raise HttpError(500, "Metadata update failed") from exc
    return _METADATA_OK.encode("utf-8")
