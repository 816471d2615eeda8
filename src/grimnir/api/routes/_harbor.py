"""The harbor's credential callback.

``POST /api/v1/internal/harbor/auth`` is called by a station's engine for each
DJ who connects (``grimnir engine --harbor-auth-url``). The engine proves who
it is with ``X-Grimnir-Harbor-Secret``: an HMAC of the installation key and the
station id (:func:`harbor_secret`), which ``grimnir up`` hands to the engine in
``GRIMNIR_HARBOR_AUTH_SECRET``. The DJ's password is a one-time live token or
their own account password (a DJ, manager or administrator of the station).

Disconnecting the DJ when a live show slot ends is the executor's
(:class:`grimnir.executor.ShowEndKicker`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any, Final, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import client_address, context
from grimnir.api.problems import Problem
from grimnir.api.ratelimit import retry_after
from grimnir.api.tokens import LIVE_TOKEN_PREFIX, TokenError, redeem_live_token
from grimnir.domain import Role
from grimnir.services import check_login, membership_role
from grimnir.services import live as service
from grimnir.store.models import Station, User

router = APIRouter()

SECRET_HEADER: Final = "X-Grimnir-Harbor-Secret"  # noqa: S105 — a header name
AUTH_PATH: Final = "/internal/harbor/auth"
DEFAULT_MOUNT: Final = "/live"


def harbor_secret(key: bytes, station_id: uuid.UUID | str) -> str:
    """The shared secret of one station's engine and the API."""
    return hmac.new(key, f"harbor:{station_id}".encode(), hashlib.sha256).hexdigest()


def harbor_mounts(station: Station) -> list[str]:
    """The harbor mount paths of a station's stored config ([] when the harbor is off)."""
    harbor: dict[str, Any] = dict(station.config.get("harbor") or {})
    if not harbor.get("enabled", True):
        return []
    mounts = harbor.get("mounts")
    if mounts is None:
        return [DEFAULT_MOUNT]
    return [str(m.get("path")) for m in mounts if isinstance(m, dict) and m.get("path")]


# -- the callback ----------------------------------------------------------------------------


class HarborLogin(BaseModel):
    """What the engine asks about one DJ connection."""

    station_id: uuid.UUID
    mount: str = Field(min_length=1, max_length=255)
    user: str = Field(default="", max_length=255, description="The user name the encoder sent.")
    password: str = Field(min_length=1, max_length=1024)
    remote: str = Field(default="", max_length=64, description="The DJ's address.")


class HarborVerdict(BaseModel):
    allowed: bool = True
    via: Literal["token", "password"]
    user_id: uuid.UUID | None
    username: str | None
    session_id: uuid.UUID = Field(description="The live session row recorded for it.")


class HarborEngineAccess:
    """Access dependency of the internal harbor callback: the caller must be the
    station's engine, shown by the station's shared secret (not a user login).
    It is checked before the body is validated, so strangers only ever get 401."""

    internal_access = True
    """Marks the route as internal for the RBAC test (no user may call it)."""

    async def __call__(self, request: Request) -> None:
        given = request.headers.get(SECRET_HEADER, "")
        station_id = await _station_of(request)
        expected = "" if station_id is None else harbor_secret(context(request).secret, station_id)
        if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Problem(
                401,
                f"wrong or missing {SECRET_HEADER}: only a station's engine calls this; "
                "grimnir up gives it the secret in GRIMNIR_HARBOR_AUTH_SECRET",
            )

    def __repr__(self) -> str:
        return "HarborEngineAccess()"


async def _station_of(request: Request) -> uuid.UUID | None:
    try:
        data = await request.json()
        return uuid.UUID(str(data["station_id"]))
    except (ValueError, KeyError, TypeError):
        return None


HarborEngineDep = HarborEngineAccess()


def _limit(request: Request, login: HarborLogin) -> None:
    address = login.remote or client_address(request)
    wait = context(request).limits.harbor.hit(address)
    if wait is not None:
        raise Problem(
            429,
            f"too many harbor logins from {address}: wait {retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )


async def _by_token(
    session: AsyncSession, login: HarborLogin
) -> tuple[uuid.UUID | None, str | None]:
    try:
        token = await redeem_live_token(session, login.station_id, login.password, login.mount)
    except TokenError as exc:
        raise Problem(401, f"live token refused: {exc}") from None
    user = await service.account(session, token.user_id)
    if user is not None and user.disabled:
        raise Problem(403, f"the account {user.username!r} this token is for is disabled")
    return token.user_id, None if user is None else user.username


async def _by_password(session: AsyncSession, login: HarborLogin, station: Station) -> User:
    user = await check_login(session, login.user, login.password)
    if user is None:
        raise Problem(401, "wrong user name or password (or the account is disabled)")
    role = await membership_role(session, user.id, station.id)
    if not user.is_admin and role not in (Role.DJ, Role.MANAGER):
        raise Problem(403, f"{user.username!r} is not a DJ of station {station.short_name!r}")
    return user


@router.post(
    AUTH_PATH,
    response_model=HarborVerdict,
    tags=["internal"],
    dependencies=[Depends(HarborEngineDep)],
)
async def harbor_auth(login: HarborLogin, request: Request) -> HarborVerdict:
    """May this DJ connect? Called by the station's engine; 200 lets them on, any
    other answer refuses. A live token works once; an account must be a member."""
    _limit(request, login)
    async with context(request).sessions() as session:
        station = await service.harbor_station(session, login.station_id)
        if login.mount not in harbor_mounts(station):
            raise Problem(403, f"{login.mount} is not a harbor mount of {station.short_name}")
        via: Literal["token", "password"]
        if login.password.startswith(LIVE_TOKEN_PREFIX):
            user_id, username = await _by_token(session, login)
            via = "token"
        else:
            user = await _by_password(session, login, station)
            user_id, username, via = user.id, user.username, "password"
        row = await service.open_session(
            session, station.id, user_id=user_id, mount=login.mount, remote=login.remote
        )
        audit(
            session,
            request,
            None,
            "live.auth",
            login.mount,
            station_id=station.id,
            via=via,
            user=username,
            remote=login.remote,
        )
        await session.commit()
        return HarborVerdict(via=via, user_id=user_id, username=username, session_id=row.id)
