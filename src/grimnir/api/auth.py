"""Who is calling and what they may do: every /api/v1 route declares one access
dependency, :class:`Access` or :class:`StationAccess`, with the lowest
:class:`Level` allowed. Admins may do everything; managers and DJs act on the
stations they are members of, with their membership's role.

Credentials: ``Authorization: Bearer <access token or API key>`` or
``X-API-Key: <API key>``. The user's memberships are read on every request, so
a removed membership or a disabled account takes effect at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api._urls import trusted_proxy
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem
from grimnir.api.ratelimit import retry_after
from grimnir.api.tokens import read_access
from grimnir.domain import Role
from grimnir.domain.errors import NotFoundError
from grimnir.services.accounts import find_user_by_id
from grimnir.services.authentication import station_roles
from grimnir.services.stations import get_station
from grimnir.services.tokens import TokenError, api_key_prefix, use_api_key
from grimnir.store.models import Station


class Level(IntEnum):
    """The least a caller must be to use a route."""

    PUBLIC = 0
    """Anyone, no credentials (rate limited per address)."""
    USER = 1
    """Any signed-in user."""
    DJ = 2
    """A DJ (or more) of the station in the path."""
    MANAGER = 3
    """A manager of the station in the path."""
    ADMIN = 4
    """An administrator."""


_ROLE_LEVEL = {Role.DJ: Level.DJ, Role.MANAGER: Level.MANAGER, Role.ADMIN: Level.ADMIN}
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="grimnir"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in caller."""

    user_id: uuid.UUID
    username: str
    is_admin: bool
    roles: dict[uuid.UUID, Role] = field(default_factory=dict)
    via: str = "token"
    """``token`` (JWT access token) or ``api_key``."""

    def role_on(self, station_id: uuid.UUID) -> Role | None:
        """The caller's role on a station (``ADMIN`` for administrators)."""
        return Role.ADMIN if self.is_admin else self.roles.get(station_id)

    def level_on(self, station_id: uuid.UUID) -> Level:
        role = self.role_on(station_id)
        return Level.USER if role is None else _ROLE_LEVEL[role]


@dataclass(frozen=True, slots=True)
class StationScope:
    """A caller acting on one station, with the role they have there."""

    principal: Principal
    station: Station
    role: Role


def context(request: Request) -> ApiContext:
    """The :class:`ApiContext` of the app serving ``request``."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


def client_address(request: Request) -> str:
    """The caller's address (the first ``X-Forwarded-For`` hop behind a trusted proxy:
    the ``trusted_proxies`` setting)."""
    ctx = context(request)
    peer = request.client.host if request.client else None
    if ctx.trust_forwarded or trusted_proxy(ctx.settings, peer):
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return peer or "unknown"


def _credential(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if not scheme:
        return None
    if scheme.lower() != "bearer" or not value.strip():
        raise Problem(
            401,
            "send 'Authorization: Bearer <token>' (an access token from /api/v1/auth/login "
            "or an API key)",
            headers=WWW_AUTHENTICATE,
        )
    return value.strip()


async def principal_for(session: AsyncSession, ctx: ApiContext, credential: str) -> Principal:
    """Check a bearer credential (access token or API key); ``Problem(401)`` if it fails."""
    try:
        if api_key_prefix(credential) is not None:
            key = await use_api_key(session, credential)
            user_id, via = key.user_id, "api_key"
        else:
            user_id, via = read_access(ctx.secret, credential), "token"
    except TokenError as exc:
        raise Problem(401, str(exc), headers=WWW_AUTHENTICATE) from None
    user = await find_user_by_id(session, user_id)
    if user is None or user.disabled:
        raise Problem(401, "this account no longer exists or is disabled", headers=WWW_AUTHENTICATE)
    roles = await station_roles(session, user_id)
    return Principal(user.id, user.username, user.is_admin, roles, via)


async def authenticate(request: Request) -> Principal | None:
    """The caller, ``None`` when no credentials were sent, ``Problem(401)`` if bad ones."""
    credential = _credential(request)
    if credential is None:
        return None
    ctx = context(request)
    async with ctx.sessions() as session:
        principal = await principal_for(session, ctx, credential)
        if principal.via == "api_key":
            await session.commit()
    return principal


def _need_signin() -> Problem:
    return Problem(
        401,
        "sign in first: POST /api/v1/auth/login, then send 'Authorization: Bearer <token>'",
        headers=WWW_AUTHENTICATE,
    )


def limit_public(request: Request) -> None:
    """Apply the per-address limit of the public routes (429 with Retry-After)."""
    wait = context(request).limits.public.hit(client_address(request))
    if wait is not None:
        raise Problem(
            429,
            "too many requests from this address: slow down and retry later",
            headers={"Retry-After": retry_after(wait)},
        )


class Access:
    """Dependency of a route that is not about one station."""

    def __init__(self, level: Level) -> None:
        if level in (Level.DJ, Level.MANAGER):
            raise ValueError("station levels need StationAccess (a {station} path)")
        self.level = level

    async def __call__(self, request: Request) -> Principal | None:
        if self.level is Level.PUBLIC:
            limit_public(request)
            return None
        principal = await authenticate(request)
        if principal is None:
            raise _need_signin()
        if self.level is Level.ADMIN and not principal.is_admin:
            raise Problem(403, "only an administrator may do this")
        request.state.principal = principal
        return principal

    def __repr__(self) -> str:
        return f"Access({self.level.name})"


class StationAccess:
    """Dependency of a route under ``/stations/{station}``: resolves the station
    (id or short name) and checks the caller's role on it."""

    def __init__(self, level: Level) -> None:
        if level not in (Level.DJ, Level.MANAGER, Level.ADMIN):
            raise ValueError("StationAccess takes DJ, MANAGER or ADMIN")
        self.level = level

    async def __call__(
        self,
        request: Request,
        station: Annotated[
            str,
            Path(
                min_length=1,
                max_length=64,
                description="The station's id or short name.",
            ),
        ],
    ) -> StationScope:
        principal = await authenticate(request)
        if principal is None:
            raise _need_signin()
        ctx = context(request)
        async with ctx.sessions() as session:
            try:
                row = await get_station(session, station)
            except NotFoundError:
                raise Problem(
                    404, f"no station {station!r}: see GET /api/v1/stations for the list"
                ) from None
        level = principal.level_on(row.id)
        if level < self.level:
            need = self.level.name.lower()
            if level is Level.USER:
                raise Problem(403, f"you are not a member of station {row.short_name!r}")
            raise Problem(403, f"this needs the {need} role on station {row.short_name!r}")
        request.state.principal = principal
        return StationScope(principal, row, principal.role_on(row.id) or Role.DJ)

    def __repr__(self) -> str:
        return f"StationAccess({self.level.name})"


PublicDep = Access(Level.PUBLIC)
UserDep = Access(Level.USER)
AdminDep = Access(Level.ADMIN)
DjDep = StationAccess(Level.DJ)
ManagerDep = StationAccess(Level.MANAGER)
StationAdminDep = StationAccess(Level.ADMIN)

DjScope = Annotated[StationScope, Depends(DjDep)]
"""A route parameter: the station in the path, for a DJ of it or more."""
ManagerScope = Annotated[StationScope, Depends(ManagerDep)]
"""A route parameter: the station in the path, for a manager of it or more."""
