"""The FastAPI application: ``/api/v1`` (docs at ``/api/v1/docs``), the public
and AzuraCast-compatible routes, ``/metrics`` and the web UI."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI

from grimnir import __version__
from grimnir.api import _storable, problems
from grimnir.api._body_limit import BodyLimit, RouteLimit
from grimnir.api._docs import install_docs
from grimnir.api._tracing import TracingMiddleware
from grimnir.api._urls import CallerBase
from grimnir.api.context import ApiContext
from grimnir.api.routes import (
    alerts,
    auth,
    azuracast,
    events,
    health,
    imports,
    listen,
    live,
    media,
    playout,
    priority,
    programming,
    public,
    stations,
    timeline,
    ui,
    users,
    webstreams,
)

log = logging.getLogger("grimnir.api")

API_PREFIX = "/api/v1"

ROUTE_MODULES: tuple[ModuleType, ...] = (
    public,  # NOTE: first: routes match in order, and the public ones are the hot path
    azuracast,
    health,
    auth,
    users,
    stations,
    media,
    programming,
    timeline,
    live,
    webstreams,
    priority,
    alerts,
    playout,
    imports,
    events,
    listen,
    ui,  # NOTE: last: the page's routes after everything more specific
)
"""The route modules, in the order their routes match; each has ``router`` (mounted
under /api/v1) and may have ``root_router`` (mounted at the root: /api/nowplaying,
/metrics, /), ``BODY_LIMITS`` (routes of ``router`` whose request bodies may pass
``BODY_LIMIT``: uploads) and ``install(app, ctx)`` (middleware, startup work)."""


def create_app(ctx: ApiContext) -> FastAPI:
    """The API over ``ctx``; the caller runs it (uvicorn) and owns ``ctx``'s parts."""
    app = FastAPI(
        title="Grimnir Radio",
        version=__version__,
        description="Broadcast automation: stations, library, programming, live and playout.",
        docs_url=None,  # served by install_docs, from the package instead of a CDN
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.ctx = ctx
    problems.install(app)
    install_docs(app, f"{API_PREFIX}/docs")
    api = APIRouter(prefix=API_PREFIX, responses=problems.PROBLEM_RESPONSES)
    modules: list[Any] = list(ROUTE_MODULES)
    for module in modules:
        api.include_router(module.router)
    app.include_router(api)
    for module in modules:
        root = getattr(module, "root_router", None)
        if root is not None:
            app.include_router(root)
    # NOTE: added before the modules' middleware, so inside it (metrics and CORS see
    # these answers too); the body limit outside the text check, which reads the body
    _storable.install(app)
    own: list[RouteLimit] = [
        limit.under(API_PREFIX)
        for module in modules
        for limit in getattr(module, "BODY_LIMITS", ())
    ]
    app.add_middleware(BodyLimit, ctx=ctx, routes=own)
    for module in modules:
        install = getattr(module, "install", None)
        if install is not None:
            install(app, ctx)
    # NOTE: outermost: answers served from the public cache get the caller's base too
    app.add_middleware(CallerBase, settings=ctx.settings)
    # NOTE: outermost of all: a request's span covers everything done for it
    app.add_middleware(TracingMiddleware)
    return app
