"""The status page (``/``, ``/static/…``); the stations' streams on the same
address are :mod:`grimnir.api.routes.listen`'s.

The page is plain HTML + JS shipped in :mod:`grimnir.web` (no build step); it
talks only to the public API, ``/api/v1`` and the event WebSocket.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from grimnir.api.problems import Problem

router = APIRouter()
"""Nothing under /api/v1: the page lives at the root."""

root_router = APIRouter(include_in_schema=False)

ASSETS: dict[str, str] = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "player.js": "text/javascript; charset=utf-8",
    "player.css": "text/css; charset=utf-8",
}
"""The files under ``/static/`` and their content types."""

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=8)
def asset(name: str) -> tuple[bytes, str]:
    """The bytes of a file of :mod:`grimnir.web` and its ETag."""
    data = importlib.resources.files("grimnir.web").joinpath(name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def _file_response(request: Request, name: str, media_type: str) -> Response:
    data, etag = asset(name)
    headers = {**PAGE_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@root_router.get("/")
async def status_page(request: Request) -> Response:
    """The status page: now playing, next, meters, history, skip."""
    return _file_response(request, "index.html", "text/html; charset=utf-8")


@root_router.get("/static/{name}")
async def static_file(
    request: Request, name: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response:
    """The page's script and style sheet."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise Problem(404, f"no static file {name!r}: there are {', '.join(sorted(ASSETS))}")
    return _file_response(request, name, media_type)
