"""Request body limits, enforced before the body is read.

Every request body may be at most :data:`BODY_LIMIT`, except on the routes a
route module lists in ``BODY_LIMITS`` (media uploads). A ``Content-Length``
over the limit is answered 413 at once, before routing and without reading a
byte of the body; a body without one (chunked) is counted as it arrives and
cut off with 413 the moment it passes the limit, so the app never holds more
of it than the limit and the one piece that passed it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api.context import ApiContext
from grimnir.api.problems import problem_response

BODY_LIMIT = 1024 * 1024
"""The largest request body a route takes unless it lists its own (1 MiB). The
API's JSON documents are a few KiB; a whole station config is some tens."""

_CLOSE = {"Connection": "close"}
"""On a 413: the rest of the body is never read, so the connection cannot be reused."""


def mib(size: int) -> str:
    """``size`` bytes as a short human text."""
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size} bytes"


_ADVICE = (
    f"send a smaller body (JSON bodies are limited to {mib(BODY_LIMIT)}; "
    "audio files go to POST /api/v1/stations/{station}/media)"
)


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """A route whose body may be larger (or must be smaller) than :data:`BODY_LIMIT`."""

    method: str
    path: str
    """The route's path template, as its router declares it (``/stations/{station}/media``)."""
    size: Callable[[ApiContext], int]
    """The limit in bytes, from the app's context (read on every request)."""
    advice: Callable[[ApiContext], str]
    """What to do about a body over the limit."""

    def under(self, prefix: str) -> RouteLimit:
        """The same limit for the route mounted under ``prefix``."""
        return replace(self, path=prefix + self.path)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body passes its limit: the route reading it stops
    there, and the problem handlers answer 413 with ``detail``."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail, headers=_CLOSE)


class BodyLimit:
    """ASGI middleware limiting request bodies (pure ASGI: nothing buffered, no task)."""

    def __init__(self, app: ASGIApp, ctx: ApiContext, routes: Sequence[RouteLimit]) -> None:
        self.app = app
        self.ctx = ctx
        self.routes = [(route, compile_path(route.path)[0]) for route in routes]

    def limit_of(self, scope: Scope) -> tuple[int, RouteLimit | None]:
        """The body limit of the request's route, and the route when it has its own."""
        method, path = scope["method"], scope["path"]
        for route, pattern in self.routes:
            if route.method == method and pattern.match(path):
                return route.size(self.ctx), route
        return BODY_LIMIT, None

    def detail(self, scope: Scope, limit: int, route: RouteLimit | None) -> str:
        """What a 413 says: the limit, the route, what to do."""
        advice = _ADVICE if route is None else route.advice(self.ctx)
        return (
            f"the request body is larger than the {mib(limit)} that "
            f"{scope['method']} {scope['path']} takes: {advice}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, route = self.limit_of(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            refusal = problem_response(413, self.detail(scope, limit, route), headers=_CLOSE)
            await refusal(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLarge(self.detail(scope, limit, route))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(self.detail(scope, limit, route))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            # NOTE: routes answer it through the problem handlers; this catches a
            # body read outside them (a middleware), while an answer can still go out
            if started:
                raise
            await problem_response(413, exc.detail, headers=_CLOSE)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    try:
        return int(Headers(scope=scope)["content-length"])
    except (KeyError, ValueError):
        return None
