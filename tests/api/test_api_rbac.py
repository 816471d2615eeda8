"""The RBAC matrix: every route × every kind of caller gets the answer its
declared access level says.

Callers: nobody (no credentials), an administrator, the station's manager and
DJ, a user with no membership, and the manager of another station. A route
under /stations/{station} is called on the station "wgmr". "Allowed" means
anything but 401/403 (the call goes on to validation, 404, 409 "not on air
here"…); it must never be a 5xx.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from grimnir.api.auth import Access, Level, StationAccess
from tests._api import ApiWorld, api_world

CALLERS = ["anonymous", "outsider", "rival", "dj", "manager", "admin"]
"""In this order: the ones refused come first, so a destructive call that is
allowed (deleting the station) cannot change what the others see."""

STREAMING_TIMEOUT_S = 3.0


def access_of(route: RouteContext) -> list[Access | StationAccess | Any]:
    """Every access dependency of a route (there must be exactly one)."""
    found: list[Any] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access | StationAccess) or getattr(
            dep.call, "internal_access", False
        ):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def expected(access: Any, caller: str) -> str:
    """'allowed', '401' or '403'."""
    if getattr(access, "internal_access", False):
        return "401"  # only the engine's shared secret opens it, never a user
    level: Level = access.level
    if level is Level.PUBLIC:
        return "allowed"
    if caller == "anonymous":
        return "401"
    if isinstance(access, Access):
        if level is Level.USER or caller == "admin":
            return "allowed"
        return "403"
    rank = {"admin": Level.ADMIN, "manager": Level.MANAGER, "dj": Level.DJ}
    have = rank.get(caller, Level.USER)
    return "allowed" if have >= level else "403"


def _path(route: RouteContext) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return "wgmr" if name == "station" else str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", fill, str(route.path))


async def _call(world: ApiWorld, caller: str, method: str, path: str) -> int | None:
    client = world.client(None if caller == "anonymous" else caller)
    kwargs: dict[str, Any] = {}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    try:
        r = await asyncio.wait_for(client.request(method, path, **kwargs), STREAMING_TIMEOUT_S)
    except TimeoutError:
        return None  # a stream that started: the caller got in
    return r.status_code


def _routes(world: ApiWorld) -> list[tuple[RouteContext, str]]:
    """Every (route, method) of the app, with the router prefixes and dependencies
    applied (FastAPI keeps included routers lazily; this walks them)."""
    out = []
    for route in iter_route_contexts(world.app.routes):
        if isinstance(route.original_route, APIRoute):
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((route, method))
    return out


ROOT_PUBLIC = re.compile(
    r"^/($|library$|live$|asrun$|people$|programming$|clocks$|schedule$|timeline$|settings$|alerts$|import$|static/|assets/|metrics$|healthz$|readyz$|api/nowplaying|api/stations$|api/station/"
    r"|api/live/nowplaying/|public/|listen/)"
)
"""Routes outside /api/v1 that are public by design (web UI, assets,
Prometheus, health probes, AzuraCast-compatible routes and playlists, stream proxy)."""


async def test_every_api_route_declares_exactly_one_access_level(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        problems = []
        for route, method in _routes(world):
            found = access_of(route)
            assert route.path is not None  # every APIRoute has one
            if route.path.startswith("/api/v1/"):
                if len(found) != 1:
                    problems.append(f"{method} {route.path}: {len(found)} access dependencies")
                elif isinstance(found[0], StationAccess) and "{station}" not in route.path:
                    problems.append(f"{method} {route.path}: StationAccess without {{station}}")
            elif not ROOT_PUBLIC.match(route.path):
                problems.append(f"{method} {route.path}: outside /api/v1 and not known public")
        assert not problems, "\n".join(problems)


async def test_rbac_matrix(tmp_path: Path) -> None:
    wrong: list[str] = []
    checked = 0
    async with api_world(tmp_path / "routes") as world:
        for route, method in _routes(world):
            found = access_of(route)
            access = found[0] if found else Access(Level.PUBLIC)
            # NOTE: each route meets the same fresh data: an allowed DELETE must not
            # change what the next route's callers find.
            await world.reset_database()
            path = _path(route)
            for caller in CALLERS:
                want = expected(access, caller)
                got = await _call(world, caller, method, path)
                checked += 1
                shown = "stream" if got is None else str(got)
                if want == "allowed":
                    ok = got is None or (got not in (401, 403) and got < 500)
                else:
                    ok = got == int(want)
                if not ok:
                    wrong.append(
                        f"{method} {route.path} as {caller}: want {want}, got {shown} ({access!r})"
                    )
    assert checked >= 6 * 20
    assert not wrong, f"{len(wrong)} of {checked} calls wrong:\n" + "\n".join(wrong)
