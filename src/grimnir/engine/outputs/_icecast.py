"""Icecast source client: our own, because PyAV's ignores the headers we need.

Speaks Icecast ≥ 2.4's ``PUT /mount`` with HTTP Basic auth, ``Content-Type``,
the ``ice-*`` headers and ``Expect: 100-continue`` (or the legacy
``SOURCE /mount HTTP/1.0``), then streams. A sender thread owns the socket:
``write`` only appends to a bounded queue (overflow drops the oldest chunk and
counts it), so a slow or absent server never delays a block. A lost connection
is retried with exponential backoff capped at 30 s; on reconnect the encoder's
stream header goes first so listeners can decode. Now-playing titles go to
``/admin/metadata`` (MP3 and AAC mounts; Ogg carries them in-stream), and the
mount's listeners are counted with ``/admin/listclients`` (Icecast accepts the
source credentials for both).
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from grimnir.domain.errors import EngineError
from grimnir.domain.urls import ICECAST_DEFAULT_PORT
from grimnir.engine.outputs._base import DropOldestQueue, Output, OutputState

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
_METADATA_TYPES = frozenset({"audio/mpeg", "audio/aac", "audio/aacp"})


@dataclass(frozen=True, slots=True)
class IcecastTarget:
    """Where and as whom to connect, parsed from ``icecast://user:pass@host:port/mount``."""

    host: str
    port: int
    mount: str
    user: str
    password: str

    @classmethod
    def parse(cls, url: str) -> IcecastTarget:
        parts = urlsplit(url)
        if parts.scheme not in {"icecast", "http"} or not parts.hostname:
            raise EngineError(
                f"not an Icecast URL: use icecast://source:PASSWORD@host:8000/mount (got "
                f"scheme {parts.scheme!r})"
            )
        mount = parts.path or "/"
        if mount == "/":
            raise EngineError("the Icecast URL needs a mount path, e.g. /stream")
        return cls(
            host=parts.hostname,
            port=parts.port or ICECAST_DEFAULT_PORT,
            mount=mount,
            user=unquote(parts.username or "source"),
            password=unquote(parts.password or ""),
        )

    @property
    def authorization(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What listeners and directories see: the ``ice-*`` headers."""

    name: str = ""
    description: str = ""
    genre: str = ""
    url: str = ""
    public: bool = False
    bitrate_kbps: int | None = None
    samplerate: int = 48_000
    channels: int = 2


class IcecastOutput(Output):
    """Streams one encoded format to one Icecast mount, reconnecting forever."""

    def __init__(
        self,
        url: str,
        *,
        content_type: str,
        info: StreamInfo | None = None,
        stream_header: bytes = b"",
        legacy_source: bool = False,
        max_queued_bytes: int = 512 * 1024,
        connect_timeout_s: float = 5.0,
        name: str | None = None,
    ) -> None:
        self.target = IcecastTarget.parse(url)
        super().__init__(
            name or f"icecast {self.target.host}:{self.target.port}{self.target.mount}"
        )
        self.content_type = content_type
        self.info = info or StreamInfo()
        self.legacy_source = legacy_source
        self.listeners: int | None = None
        """Listeners Icecast counts on the mount, from the last ``poll_listeners``
        (``None``: not known, e.g. the mount is not up or the server refused)."""
        self._header = stream_header
        self._song: tuple[str, str] | None = None
        self._timeout = connect_timeout_s
        self._queue = DropOldestQueue(max_queued_bytes)
        self._wake = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    # -- the block loop's side ---------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._state is OutputState.CLOSED:
            self._drop(len(data))
            return
        with self._wake:
            self.dropped_bytes += self._queue.push(data)
            self._wake.notify()

    def close(self) -> None:
        if self._state is OutputState.CLOSED:
            return
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        self._thread.join(timeout=self._timeout + 1.0)
        self._state = OutputState.CLOSED

    def set_metadata(self, title: str, artist: str = "") -> bool:
        """Push now-playing to the server; False when the mount cannot take it.

        The title is remembered and pushed again after every reconnect, so
        listeners of a restarted server see what plays, not an empty title.
        """
        if self.content_type not in _METADATA_TYPES:
            return False
        self._song = (title, artist)
        if self._state is not OutputState.UP:
            return False
        song = f"{artist} - {title}" if artist else title
        path = (
            f"/admin/metadata?mount={quote(self.target.mount)}&mode=updinfo"
            f"&song={quote(song)}&charset=UTF-8"
        )
        try:
            status, _ = self._request(f"GET {path} HTTP/1.0", read_body=True)
        except OSError as exc:
            self.last_error = f"metadata update failed: {exc}"
            return False
        if status != 200:
            self.last_error = f"metadata update refused: HTTP {status}"
            return False
        return True

    def poll_listeners(self) -> int | None:
        """Ask Icecast how many listeners the mount has now (``/admin/listclients``),
        remember it in ``listeners`` and return it. An HTTP round trip: call it off
        the block loop. ``None`` when the mount is not up or the answer is not one."""
        if self._state is not OutputState.UP:
            self.listeners = None
            return None
        path = f"/admin/listclients?mount={quote(self.target.mount)}"
        try:
            status, body = self._request(f"GET {path} HTTP/1.0", read_body=True)
        except OSError:
            status, body = 0, b""
        self.listeners = parse_listclients(body, self.target.mount) if status == 200 else None
        return self.listeners

    # -- the sender thread ----------------------------------------------------------

    def _run(self) -> None:
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            self._state = OutputState.CONNECTING
            try:
                sock = self._connect()
            except (OSError, EngineError) as exc:
                # NOTE: the bounded queue keeps the newest audio while we wait.
                if self.last_error != str(exc):  # once per kind of failure, not every retry
                    log.warning("%s: %s (retrying with backoff up to 30 s)", self.name, exc)
                self._fail(str(exc))
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_CAP_S)
                continue
            backoff = BACKOFF_START_S
            self.connects += 1
            log.info("%s: connected (connection %d)", self.name, self.connects)
            self._state = OutputState.UP
            self.last_error = None
            if self._song is not None:
                # NOTE: off this thread: the audio must not wait for an HTTP round trip.
                threading.Thread(
                    target=self.set_metadata,
                    args=self._song,
                    name=f"{self.name} title",
                    daemon=True,
                ).start()
            try:
                self._pump(sock)
            except OSError as exc:
                message = f"connection to {self.target.host}:{self.target.port} lost: {exc}"
                log.warning("%s: %s", self.name, message)
                self._fail(message)
            finally:
                sock.close()

    def _connect(self) -> socket.socket:
        t = self.target
        sock = socket.create_connection((t.host, t.port), timeout=self._timeout)
        try:
            info = self.info
            audio_info = f"samplerate={info.samplerate};channels={info.channels}"
            if info.bitrate_kbps:
                audio_info += f";bitrate={info.bitrate_kbps}"
            headers = [
                f"Authorization: {t.authorization}",
                f"Content-Type: {self.content_type}",
                f"ice-name: {info.name}",
                f"ice-description: {info.description}",
                f"ice-genre: {info.genre}",
                f"ice-url: {info.url}",
                f"ice-public: {1 if info.public else 0}",
                f"ice-audio-info: {audio_info}",
                "User-Agent: grimnir",
            ]
            if info.bitrate_kbps:
                headers.append(f"ice-bitrate: {info.bitrate_kbps}")
            if self.legacy_source:
                request = f"SOURCE {t.mount} HTTP/1.0"
            else:
                request = f"PUT {t.mount} HTTP/1.1"
                headers += [f"Host: {t.host}:{t.port}", "Expect: 100-continue"]
            sock.sendall(("\r\n".join([request, *headers]) + "\r\n\r\n").encode("utf-8"))
            status, reason = _read_status(sock)
            if status not in (100, 200):
                raise EngineError(_explain(status, reason, t))
            sock.settimeout(self._timeout)
            if self._header:
                sock.sendall(self._header)
            return sock
        except BaseException:
            sock.close()
            raise

    def _pump(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            with self._wake:
                while not self._queue and not self._stop.is_set():
                    self._wake.wait(0.5)
                chunks = self._queue.drain()
            for chunk in chunks:
                sock.sendall(chunk)
                with self._lock:
                    self.bytes_written += len(chunk)

    def _request(self, line: str, *, read_body: bool) -> tuple[int, bytes]:
        t = self.target
        with socket.create_connection((t.host, t.port), timeout=self._timeout) as sock:
            message = f"{line}\r\nAuthorization: {t.authorization}\r\nUser-Agent: grimnir\r\n\r\n"
            sock.sendall(message.encode("utf-8"))
            status, _, body = _read_head(sock)
            if read_body:
                while chunk := sock.recv(4096):
                    body += chunk
            return status, body


def parse_listclients(body: bytes, mount: str) -> int | None:
    """The number of listeners in Icecast's ``/admin/listclients`` answer for ``mount``
    (``<icestats><source mount=…><Listeners>2</Listeners><listener>…``), else None."""
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    for source in root.iter("source"):
        if source.get("mount") not in (None, mount):
            continue
        count = source.findtext("Listeners") or source.findtext("listeners")
        if count is not None and count.strip().isdigit():
            return int(count)
        return len(source.findall("listener"))
    return None


def _read_status(sock: socket.socket) -> tuple[int, str]:
    """The status code and reason of an HTTP response; its headers are consumed."""
    status, reason, _ = _read_head(sock)
    return status, reason


def _read_head(sock: socket.socket) -> tuple[int, str, bytes]:
    """The status code and reason of an HTTP response, and what of its body came
    with the head."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
        if len(data) > 16384:
            break
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"not an HTTP answer: {line[:80]!r}")
    body = b""
    for end in (b"\r\n\r\n", b"\n\n"):
        _, found, rest = data.partition(end)
        if found:
            body = rest
            break
    return int(parts[1]), parts[2] if len(parts) > 2 else "", body


def _explain(status: int, reason: str, target: IcecastTarget) -> str:
    where = f"{target.host}:{target.port}{target.mount}"
    if status == 401:
        return (
            f"{where}: the server refused the source password (HTTP 401); check the "
            "URL's user and password"
        )
    if status == 403:
        return (
            f"{where}: the server refused the mount (HTTP 403 {reason}); another source may "
            "be connected, or the content type is not allowed"
        )
    return f"{where}: the server answered HTTP {status} {reason}"
