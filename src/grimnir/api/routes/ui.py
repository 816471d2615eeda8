"""The web UI (``/`` and its pages, ``/assets/…``) and the public player's files
(``/static/…``); the stations' streams on the same address are
:mod:`grimnir.api.routes.listen`'s.

The UI is a single-page app (``ui/`` in the repository: Svelte + TypeScript,
built by Vite into :mod:`grimnir.web`'s ``app`` folder, so a wheel carries it
and nobody who installs one needs Node). It talks only to ``/api/v1``. Its
asset names carry a hash of their content, so they are cached for a year;
the page itself is revalidated every time.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from grimnir.api.problems import Problem

router = APIRouter()
"""Nothing under /api/v1: the UI lives at the root."""

root_router = APIRouter(include_in_schema=False)

ASSETS: dict[str, str] = {
    "player.js": "text/javascript; charset=utf-8",
    "player.css": "text/css; charset=utf-8",
}
"""The public player's files under ``/static/`` and their content types."""

APP_TYPES: dict[str, str] = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".png": "image/png",
}
"""Content types of the built UI's files under ``/assets/``, by suffix."""

_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

PAGE_HEADERS = {
    "Content-Security-Policy": (
        # NOTE: inline styles allowed (not scripts): the waveform editor (wavesurfer.js)
        # styles its shadow DOM with a <style> element
        "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; "
        "media-src 'self' blob:; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grimnir Radio</title></head>
<body><main><h1>Grimnir Radio</h1>
<p>The web UI is not built in this installation. From a checkout, run
<code>make install</code> (it needs Node 20.19 or newer and npm); a wheel
carries it already. The API is at <a href="/api/v1/docs">/api/v1/docs</a>.</p>
</main></body></html>
"""


UI_DIR_ENV = "GRIMNIR_UI_DIR"
"""A folder holding a built UI to serve instead of the packaged one (for
whoever works on the UI: ``vite build --outDir`` there, or ``--watch``)."""


def _web(name: str) -> Traversable:
    """A file of :mod:`grimnir.web`; ``app/…`` from :data:`UI_DIR_ENV`'s folder when set."""
    override = os.environ.get(UI_DIR_ENV)
    if override and (name == "app" or name.startswith("app/")):
        return FilePath(override).joinpath(name.removeprefix("app").lstrip("/"))
    return importlib.resources.files("grimnir.web").joinpath(name)


@lru_cache(maxsize=64)
def _cached(name: str, override: str | None) -> tuple[bytes, str]:
    data = _web(name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def asset(name: str) -> tuple[bytes, str]:
    """The bytes of a file of :mod:`grimnir.web` and its ETag."""
    override = os.environ.get(UI_DIR_ENV)
    if override and name == "app/index.html":
        # NOTE: a UI built again in that folder replaces its page
        data = _web(name).read_bytes()
        return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
    return _cached(name, override)


def _file_response(request: Request, name: str, media_type: str) -> Response:
    data, etag = asset(name)
    headers = {**PAGE_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def ui_built() -> bool:
    """Whether this installation carries the built UI."""
    return _web("app/index.html").is_file()


@root_router.get("/")
@root_router.get("/library")
@root_router.get("/asrun")
@root_router.get("/people")
@root_router.get("/live")
@root_router.get("/programming")
@root_router.get("/clocks")
@root_router.get("/schedule")
@root_router.get("/timeline")
@root_router.get("/settings")
@root_router.get("/alerts")
@root_router.get("/import")
async def web_ui(request: Request) -> Response:
    """The web UI: sign in, then the station's dashboard (``/``), library (``/library``),
    playlists and smart blocks (``/programming``), clocks (``/clocks``), show
    calendar (``/schedule``), the next 48 hours (``/timeline``), live and web
    streams (``/live``), as-run log (``/asrun``), people and keys (``/people``),
    emergency alerts (``/alerts``), its settings (``/settings``) or imports
    (``/import``)."""
    if not ui_built():
        return Response(NOT_BUILT, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
    return _file_response(request, "app/index.html", "text/html; charset=utf-8")


@root_router.get("/assets/{name}")
async def app_asset(
    request: Request, name: Annotated[str, Path(min_length=1, max_length=128)]
) -> Response:
    """A file of the built UI (its name carries a hash of its content)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    media_type = APP_TYPES.get(suffix)
    resource = _web(f"app/assets/{name}")
    if media_type is None or not _ASSET_NAME.match(name) or not resource.is_file():
        raise Problem(404, f"no UI file {name!r}")
    data, etag = asset(f"app/assets/{name}")
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@root_router.get("/static/{name}")
async def static_file(
    request: Request, name: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response:
    """The public player's script and style sheet."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise Problem(404, f"no static file {name!r}: there are {', '.join(sorted(ASSETS))}")
    return _file_response(request, name, media_type)
