"""Just enough HTTP/1.x for listeners, Icecast sources and small files.

We parse requests ourselves because the peers speak dialects no framework
takes: ``SOURCE /mount HTTP/1.0`` from legacy source clients, ``PUT`` bodies
that never end, ICY headers. Sizes are bounded (8 KiB of headers) and every
problem becomes an ``HttpError`` carrying the status to answer with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_HEADER_BYTES = 8 * 1024
HEADER_TIMEOUT_S = 10.0
METHODS = frozenset({"GET", "HEAD", "PUT", "SOURCE"})


class HttpError(Exception):
    """A request we refuse: ``status`` and a short text for the body."""

    def __init__(
        self,
        status: int,
        message: str = "",
        headers: dict[str, str] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(message or HTTPStatus(status).phrase)
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.reason = reason
        """The status line's reason when not the standard phrase (Icecast's "Mountpoint in use")."""


@dataclass(slots=True)
class Request:
    """One parsed request head; header names are lower case."""

    method: str
    target: str
    version: str
    path: str
    query: str
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def params(self, encoding: str = "utf-8", errors: str = "replace") -> dict[str, str]:
        """The query string as a dict (last value wins), percent-decoded with ``encoding``."""
        pairs = parse_qsl(self.query, keep_blank_values=True, encoding=encoding, errors=errors)
        return dict(pairs)

    def basic_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` from an ``Authorization: Basic`` header, or None."""
        scheme, _, token = self.header("authorization").strip().partition(" ")
        if scheme.lower() != "basic" or not token:
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request head from ``reader``; None when the peer closed before sending one.

    Accepts bare ``\\n`` line ends (old source clients send them). Raises
    ``HttpError`` for a malformed or oversized head.
    """
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # one line longer than the reader's limit
            raise HttpError(431, "Request header too large") from None
        size += len(line)
        if size > MAX_HEADER_BYTES:
            raise HttpError(431, "Request header too large")
        if not line:
            if not lines:
                return None
            raise HttpError(400, "Incomplete request header")
        stripped = line.rstrip(b"\r\n")
        if not stripped:
            if not lines:
                continue  # tolerate stray blank lines before the request line (RFC 9112 §2.2)
            break
        lines.append(stripped)
    return parse_head(lines)


def parse_head(lines: list[bytes]) -> Request:
    """A ``Request`` from the request line and header lines (without line ends)."""
    try:
        text = [line.decode("latin-1") for line in lines]
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "Malformed request") from None
    parts = text[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "Malformed request line")
    method, target, version = parts
    if not method.isalpha() or not method.isupper():
        raise HttpError(400, "Malformed request line")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(400, f"Unsupported protocol version {version[:16]!r}")
    if not target.startswith("/"):
        raise HttpError(400, "Request target must be a path")
    headers: dict[str, str] = {}
    for line in text[1:]:
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or " " in name or "\t" in name:
            raise HttpError(400, "Malformed header line")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    split = urlsplit(target)
    return Request(
        method=method,
        target=target,
        version=version,
        path=unquote(split.path),
        query=split.query,
        headers=headers,
    )


def response_head(
    status: int,
    headers: dict[str, str] | None = None,
    *,
    version: str = "HTTP/1.0",
    reason: str | None = None,
) -> bytes:
    """A status line and headers, ending with the blank line."""
    lines = [f"{version} {status} {reason or HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def simple_response(
    status: int,
    body: bytes | str = b"",
    *,
    content_type: str = "text/plain; charset=utf-8",
    headers: dict[str, str] | None = None,
    reason: str | None = None,
    head_only: bool = False,
) -> bytes:
    """A complete response with ``Content-Length`` and ``Connection: close``."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    all_headers = {
        "Server": "Grimnir",
        "Content-Type": content_type,
        "Content-Length": str(len(data)),
        "Connection": "close",
        **(headers or {}),
    }
    head = response_head(status, all_headers, version="HTTP/1.1", reason=reason)
    return head if head_only else head + data


async def linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Let a refused source read its 401/403 before the socket closes.

    Source clients that do not wait for an answer are already sending audio;
    closing with that unread would reset the connection and lose our answer.
    """
    try:
        await writer.drain()
        async with asyncio.timeout(1.0):
            while await reader.read(65536):
                pass
    except (TimeoutError, ConnectionError, OSError):
        pass
