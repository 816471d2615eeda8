"""Which route a request took, for metrics and traces alike."""

from __future__ import annotations

from starlette.types import Scope

ROUTE_KEY = "grimnir.route"
"""Where the public cache (``routes._public_cache``) leaves the template of a route
it answered without routing."""


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/api/v1/stations/{station}``)."""
    hot = scope.get(ROUTE_KEY)  # answered from the public cache, without routing
    if isinstance(hot, str):
        return hot
    # NOTE: FastAPI ≥ 0.16x routes included routers without flattening them, and
    # scope["route"] then holds the path relative to its router; the effective
    # route context has the full template. Older FastAPI sets only scope["route"].
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        effective = fastapi_scope.get("effective_route_context")
        template = getattr(effective, "path_format", None)
        if isinstance(template, str) and template:
            return template
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else "unmatched"
