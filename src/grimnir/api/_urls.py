"""The base of the URLs the API hands out (listen URLs, player and playlist links).

A player on another machine must get a URL it can reach, not the address the
server is bound to (``0.0.0.0``, ``127.0.0.1``). The base is, strongest first:

1. the station's own ``station.public_url`` (its station file);
2. the ``public_url`` setting (``GRIMNIR_PUBLIC_URL``);
3. the scheme and ``Host`` the request came with; behind a reverse proxy listed in
   ``trusted_proxies``, its ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` (from
   anyone else those headers are ignored: they are the caller's to forge).

Public answers are cached and shared between callers, so they are built with
:data:`PLACEHOLDER` as the base and each response puts the caller's base in
(:func:`with_base`): one caller's ``Host`` never reaches another's answer.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.config.settings import Settings

if TYPE_CHECKING:
    from grimnir.api.context import ApiContext
    from grimnir.store.models import Station

PLACEHOLDER = "http://grimnir-base.invalid"
"""Stands for the caller's base in built answers (``.invalid`` never resolves)."""
_PLACEHOLDER_BYTES = PLACEHOLDER.encode()
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
"""A host name or address literal with an optional port: nothing else reaches a URL."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(setting: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(x.strip(), strict=False) for x in setting.split(",") if x.strip()
    )


def trusted_proxy(settings: Settings, address: str | None) -> bool:
    """Whether ``address`` (the peer of a connection) is a configured reverse proxy."""
    if not address or not settings.trusted_proxies:
        return False
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in network for network in _networks(settings.trusted_proxies))


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The caller's address: the peer's, or behind configured proxies the nearest
    address in ``X-Forwarded-For`` that is not one of them (a client may write
    anything at the left end of that list; only what trusted proxies added counts)."""
    peer = conn.client.host if conn.client else ""
    if not trusted_proxy(settings, peer):
        return peer
    hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted_proxy(settings, hop):
            return hop
    return hops[0] if hops else peer


def _first(value: str | None) -> str:
    return "" if value is None else value.split(",")[0].strip()


def request_base(conn: HTTPConnection, settings: Settings) -> str:
    """The base for this request's caller (see the module's order)."""
    if settings.public_url:
        return settings.public_url
    scheme = conn.url.scheme if conn.url.scheme in ("http", "https") else "http"
    host = conn.headers.get("host", "")
    if trusted_proxy(settings, conn.client.host if conn.client else None):
        proto = _first(conn.headers.get("x-forwarded-proto")).lower()
        scheme = proto if proto in ("http", "https") else scheme
        host = _first(conn.headers.get("x-forwarded-host")) or host
    if not _HOST.fullmatch(host):
        server = conn.scope.get("server")
        if not server:
            return PLACEHOLDER  # NOTE: no idea where we are: nothing better to give
        name, port = server
        host = f"[{name}]:{port}" if ":" in str(name) else f"{name}:{port}"
    return f"{scheme}://{host}"


def with_base(body: bytes, base: str) -> bytes:
    """``body`` with :data:`PLACEHOLDER` replaced by ``base`` (JSON, text: the base is
    made of URL characters that need no escaping)."""
    if _PLACEHOLDER_BYTES not in body:
        return body
    return body.replace(_PLACEHOLDER_BYTES, base.encode())


def listen_urls(ctx: ApiContext, station: Station) -> list[str]:
    """The station's listen URLs as answers carry them: under its own ``public_url``,
    else under :data:`PLACEHOLDER` (the caller's base, put in by :class:`CallerBase`)."""
    return ctx.on_air.listen_urls(station.id, base=station_base(station.config) or PLACEHOLDER)


def station_base(config: object) -> str | None:
    """A station's own ``station.public_url`` from its stored station file, if set."""
    if not isinstance(config, dict):
        return None
    station = config.get("station")
    value = station.get("public_url") if isinstance(station, dict) else None
    return str(value).rstrip("/") if value else None


__all__: Sequence[str] = [
    "PLACEHOLDER",
    "CallerBase",
    "listen_urls",
    "request_base",
    "station_base",
    "trusted_proxy",
    "with_base",
]


_REWRITTEN = (
    b"application/json",
    b"application/problem+json",
    b"text/calendar",
    b"text/event-stream",
    b"text/plain",
    b"audio/x-mpegurl",
    b"audio/mpegurl",
    b"audio/x-scpls",
)
"""Answers that may carry built URLs (not media, pages or files)."""


class CallerBase:
    """ASGI middleware: :data:`PLACEHOLDER` in an answer's body becomes the caller's
    base (:func:`request_base`). A whole answer gets its ``Content-Length`` set again;
    a streamed one (events) is rewritten part by part, each part being whole messages."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        base: str | None = None
        start: Message | None = None
        rewriting = False

        async def rewrite(message: Message) -> None:
            nonlocal base, start, rewriting
            if message["type"] == "http.response.start":
                kind = next(
                    (v for k, v in message.get("headers", []) if k.lower() == b"content-type"),
                    b"",
                )
                if kind.startswith(_REWRITTEN):
                    rewriting = True
                    start = message  # NOTE: held until the body shows whether it is whole
                    return
                await send(message)
                return
            if message["type"] != "http.response.body" or not rewriting:
                await send(message)
                return
            if base is None:
                base = request_base(HTTPConnection(scope), self.settings)
            body = with_base(message.get("body", b""), base)
            held, start = start, None
            if held is not None:  # the first part: the start goes out with it
                if not message.get("more_body", False):
                    headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    held = {**held, "headers": headers}
                await send(held)
            await send({**message, "body": body})

        await self.app(scope, receive, rewrite)
