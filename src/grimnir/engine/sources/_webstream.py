"""Relay an HTTP/Icecast stream: pull it ourselves, strip ICY metadata, decode.

We fetch the stream with ``http.client`` rather than FFmpeg's HTTP client
because we need the in-band ICY titles (``icy-metaint``) for now-playing and
clear errors per URL ("404 Not Found"). One ``WebStreamSource`` is one
connection: when it fails it stays failed; ``WebStreamChain`` reconnects,
fails over and recovers.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
from collections.abc import Callable
from urllib.parse import unquote, urljoin, urlsplit

import av

from grimnir.domain.errors import EngineError
from grimnir.engine.sources._netdecode import (
    PROBE_OPTIONS,
    LiveSource,
    decode_audio,
    ffmpeg_reason,
    format_for,
)

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TITLE = re.compile(rb"StreamTitle='(.*?)';(?=[A-Za-z]+=|\x00|$)", re.DOTALL)
_USER_AGENT = "Grimnir Radio"


def parse_stream_title(block: bytes) -> str | None:
    """The ``StreamTitle`` in an ICY metadata block, or None if it has none."""
    match = _TITLE.search(block.rstrip(b"\x00"))
    if match is None:
        return None
    return match.group(1).decode("utf-8", "replace")


class _IcyReader:
    """A file-like reader FFmpeg pulls from: the response's audio bytes, metadata removed.

    Network failures end the stream (b"", end of file) and are kept in
    ``failure``: PyAV would otherwise see an exception it cannot explain.
    """

    def __init__(
        self, response: http.client.HTTPResponse, metaint: int, on_title: Callable[[str], None]
    ) -> None:
        self._response = response
        self._metaint = metaint
        self._until_meta = metaint
        self._on_title = on_title
        self.failure: str | None = None
        self.bytes_in = 0

    def read(self, size: int = -1) -> bytes:
        if self.failure is not None:
            return b""
        want = 65536 if size < 0 else max(1, size)
        try:
            if self._metaint and self._until_meta == 0:
                self._read_metadata()
                self._until_meta = self._metaint
            if self._metaint:
                want = min(want, self._until_meta)
            data = self._response.read1(want)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.failure = _network_reason(exc)
            return b""
        if not data:
            self.failure = "the server ended the stream"
            return b""
        if self._metaint:
            self._until_meta -= len(data)
        self.bytes_in += len(data)
        return data

    def _read_metadata(self) -> None:
        length = self._response.read(1)
        if not length:
            raise ConnectionError("the server ended the stream")
        size = length[0] * 16
        if not size:
            return
        block = self._response.read(size)
        if len(block) < size:
            raise ConnectionError("the server ended the stream")
        title = parse_stream_title(block)
        if title is not None:
            self._on_title(title)


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no data from the server (read timed out)"
    return ffmpeg_reason(exc)


class WebStreamSource(LiveSource):
    """One HTTP/Icecast stream URL, decoded live, with its ICY titles.

    ``connect_timeout_s`` bounds connecting and each header/body read;
    ``stall_timeout_s`` is how long the stream may go without decoded audio
    before ``failed`` says so (the chain then switches away). ``title`` and
    ``on_metadata`` carry the station's ``StreamTitle``.
    """

    def __init__(
        self,
        url: str,
        *,
        prebuffer_ms: int = 200,
        buffer_ms: int = 5000,
        connect_timeout_s: float = 5.0,
        stall_timeout_s: float = 5.0,
        on_metadata: Callable[[str], None] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"web stream {url}: only http:// and https:// URLs can be relayed")
        super().__init__(f"web stream {url}", prebuffer_ms=prebuffer_ms, buffer_ms=buffer_ms)
        self.url = url
        self.final_url = url
        self.connect_timeout_s = connect_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self._on_metadata = on_metadata
        self.content_type: str | None = None
        self.connected = False
        self._conn: http.client.HTTPConnection | None = None
        self._response: http.client.HTTPResponse | None = None
        self._reader: _IcyReader | None = None

    @property
    def bytes_in(self) -> int:
        """Audio bytes received (metadata blocks not counted)."""
        return 0 if self._reader is None else self._reader.bytes_in

    def failed(self, now: float) -> bool:
        """The URL is failing: an error, the end of the stream, or a stall past the timeout."""
        return (
            self._error is not None or self.finished or self.stalled_for(now) > self.stall_timeout_s
        )

    # -- worker --------------------------------------------------------------

    def _interrupt(self) -> None:
        conn = self._conn
        sock = None if conn is None else conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a worker blocked in recv

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, EngineError):
            return str(exc)
        reader = self._reader
        if reader is not None and reader.failure is not None:
            return f"{self.name}: {reader.failure}"
        return f"{self.name}: cannot decode the stream ({ffmpeg_reason(exc)})"

    def _work(self) -> None:
        try:
            response = self._connect()
            self.connected = True
            metaint_text = response.getheader("icy-metaint") or "0"
            metaint = int(metaint_text) if metaint_text.strip().isdigit() else 0
            self._reader = reader = _IcyReader(response, metaint, self._set_title)
            with av.open(
                reader,
                format=format_for(self.content_type),
                options=PROBE_OPTIONS,
                metadata_errors="ignore",
            ) as container:
                for chunk in decode_audio(container, self._stopping):
                    if not self._deliver(chunk):
                        return
            if not self._stopping.is_set():
                why = reader.failure or "the stream ended"
                if self._last_audio_at is None:
                    why = f"no audio found in the stream ({why})"
                self._error = f"{self.name}: {why}"
        finally:
            self.connected = False
            self._close_connection()

    def _close_connection(self) -> None:
        # NOTE: the response holds the socket open (makefile) until it is closed too
        response, conn = self._response, self._conn
        if response is not None:
            response.close()
        if conn is not None:
            conn.close()

    def _connect(self) -> http.client.HTTPResponse:
        """GET the stream, following up to five redirects; the open 200 response."""
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            host = parts.hostname or ""
            cls = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(host, parts.port, timeout=self.connect_timeout_s)
            self._conn = conn
            headers = {"Icy-MetaData": "1", "User-Agent": _USER_AGENT, "Accept": "*/*"}
            if parts.username is not None:
                login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode()
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                conn.request("GET", path, headers=headers)
                self._response = response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise EngineError(
                    f"web stream {url}: cannot connect ({_network_reason(exc)}); "
                    "check the URL and that the server is up"
                ) from exc
            if self._stopping.is_set():
                raise EngineError(f"web stream {url}: closed while connecting")
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                self._close_connection()
                if not location:
                    raise EngineError(f"web stream {url}: redirect without a Location header")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                self._close_connection()
                raise EngineError(
                    f"web stream {url}: {response.status} {response.reason}; "
                    "check the URL (mount name) and that the stream is on air"
                )
            self.final_url = url
            self.content_type = response.getheader("Content-Type")
            if conn.sock is not None:
                # NOTE: body reads time out after the stall timeout, not the connect one
                conn.sock.settimeout(self.stall_timeout_s)
            return response
        raise EngineError(f"web stream {self.url}: more than {MAX_REDIRECTS} redirects")
