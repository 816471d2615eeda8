"""Signing in: login, refresh (rotating), logout, and who am I."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from grimnir.api.audit import audit
from grimnir.api.auth import Principal, PublicDep, UserDep, client_address, context
from grimnir.api.problems import Problem
from grimnir.api.ratelimit import retry_after
from grimnir.api.tokens import ACCESS_TTL, issue_access
from grimnir.domain import Role
from grimnir.services.authentication import sign_in
from grimnir.services.stations import list_stations
from grimnir.services.tokens import TokenError, issue_refresh, revoke_refresh, rotate_refresh
from grimnir.store.models import Station

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 — the OAuth 2 token type
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Single use: /auth/refresh returns the next one.")


class Membership(BaseModel):
    station_id: uuid.UUID
    short_name: str
    name: str
    role: Role


class Me(BaseModel):
    id: uuid.UUID
    username: str
    is_admin: bool
    via: str
    stations: list[Membership]


def _limited(request: Request, username: str) -> None:
    limits = context(request).limits.login
    waits = [
        limits.hit("addr:" + client_address(request)),
        limits.hit("user:" + username.casefold()),
    ]
    worst = max((w for w in waits if w is not None), default=None)
    if worst is not None:
        raise Problem(
            429,
            f"too many sign-in attempts: wait {retry_after(worst)} s and try again",
            headers={"Retry-After": retry_after(worst)},
        )


@router.post("/login", response_model=TokenPair, dependencies=[Depends(PublicDep)])
async def login(body: LoginBody, request: Request) -> TokenPair:
    """Exchange a user name and password for an access token and a refresh token."""
    _limited(request, body.username)
    ctx = context(request)
    async with ctx.sessions() as session:
        # NOTE: argon2 runs off the event loop, and an unknown name costs what a wrong
        # password does (services.authentication.check_login)
        user = await sign_in(session, body.username, body.password)
        if user is None:  # NOTE: one answer for an unknown name, a wrong password, disabled
            raise Problem(401, "wrong user name or password (or the account is disabled)")
        refresh = await issue_refresh(session, user.id)
        audit(session, request, None, "auth.login", user.username, user_id=str(user.id))
        await session.commit()
        return TokenPair(
            access_token=issue_access(ctx.secret, user.id),
            expires_in=int(ACCESS_TTL.total_seconds()),
            refresh_token=refresh,
        )


@router.post("/refresh", response_model=TokenPair, dependencies=[Depends(PublicDep)])
async def refresh(body: RefreshBody, request: Request) -> TokenPair:
    """Swap a refresh token for a new pair; each refresh token works once."""
    ctx = context(request)
    async with ctx.sessions() as session:
        try:
            user_id, next_token = await rotate_refresh(session, body.refresh_token)
        except TokenError as exc:
            await session.commit()  # a replay revoked the family: keep that
            raise Problem(401, str(exc)) from None
        await session.commit()
    return TokenPair(
        access_token=issue_access(ctx.secret, user_id),
        expires_in=int(ACCESS_TTL.total_seconds()),
        refresh_token=next_token,
    )


@router.post("/logout", status_code=204, dependencies=[Depends(PublicDep)])
async def logout(body: RefreshBody, request: Request) -> Response:
    """End a sign-in: its refresh tokens stop working (access tokens run out in 15 min)."""
    async with context(request).sessions() as session:
        await revoke_refresh(session, body.refresh_token)
        await session.commit()
    return Response(status_code=204)


@router.get("/me", response_model=Me)
async def me(request: Request, who: Annotated[Principal, Depends(UserDep)]) -> Me:
    """The signed-in user and their stations."""
    async with context(request).sessions() as session:
        stations = await list_stations(session)
    by_id: dict[uuid.UUID, Station] = {s.id: s for s in stations}
    visible = stations if who.is_admin else [by_id[i] for i in who.roles if i in by_id]
    return Me(
        id=who.user_id,
        username=who.username,
        is_admin=who.is_admin,
        via=who.via,
        stations=[
            Membership(
                station_id=s.id,
                short_name=s.short_name,
                name=s.name,
                role=who.role_on(s.id) or Role.DJ,
            )
            for s in visible
        ],
    )
