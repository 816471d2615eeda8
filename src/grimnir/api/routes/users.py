"""Users (administrators manage them), station members, your own password and API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import AdminDep, ManagerDep, Principal, StationScope, UserDep, context
from grimnir.api.pages import Page, PageParams, page_of, page_params
from grimnir.api.problems import Problem
from grimnir.domain import NotFoundError, Role
from grimnir.services import accounts, memberships, tokens
from grimnir.store.models import ApiKey, User

router = APIRouter()

Name = Annotated[str, Field(min_length=1, max_length=255)]


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    is_admin: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user, from_attributes=True)


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    email: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    is_admin: bool = False


class UserPatch(BaseModel):
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    email: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    is_admin: bool | None = None
    disabled: bool | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ApiKeyCreate(BaseModel):
    name: Name
    expires_at: datetime | None = Field(
        default=None, description="When the key stops working (UTC); none = never."
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The whole key. It is shown this once; store it now.")


class MemberOut(BaseModel):
    user_id: uuid.UUID
    username: str
    role: Role


class MemberSet(BaseModel):
    role: Literal[Role.MANAGER, Role.DJ]


async def _user(session: AsyncSession, user_id: uuid.UUID) -> User:
    try:
        return await accounts.get_user(session, user_id)
    except NotFoundError:
        raise Problem(404, f"no user with id {user_id}: see GET /api/v1/users") from None


# -- users (administrators) --------------------------------------------------------------


@router.get("/users", response_model=Page[UserOut], tags=["users"])
async def list_users(
    request: Request,
    _: Annotated[Principal, Depends(AdminDep)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[UserOut]:
    """Every user, by name."""
    async with context(request).sessions() as session:
        users, total = await accounts.users_page(session, limit=page.limit, offset=page.offset)
        return page_of(users, total, page, UserOut.of)


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
async def add_user(
    body: UserCreate, request: Request, who: Annotated[Principal, Depends(AdminDep)]
) -> UserOut:
    """Create a user (give them stations with PUT /stations/{station}/members/{user_id})."""
    async with context(request).sessions() as session:
        user = await accounts.create_user(
            session,
            username=body.username,
            password=body.password,
            is_admin=body.is_admin,
            email=body.email,
            display_name=body.display_name,
        )
        audit(session, request, who, "user.create", user.username)
        await session.commit()
        return UserOut.of(user)


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
async def get_user(
    user_id: uuid.UUID, request: Request, _: Annotated[Principal, Depends(AdminDep)]
) -> UserOut:
    """One user."""
    async with context(request).sessions() as session:
        return UserOut.of(await _user(session, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
async def edit_user(
    user_id: uuid.UUID,
    body: UserPatch,
    request: Request,
    who: Annotated[Principal, Depends(AdminDep)],
) -> UserOut:
    """Change a user's password, details, admin flag or disable the account."""
    async with context(request).sessions() as session:
        user = await _user(session, user_id)
        if user.id == who.user_id and (body.disabled or body.is_admin is False):
            raise Problem(409, "you cannot disable yourself or drop your own admin role")
        accounts.update_user(
            user,
            password=body.password,
            email=body.email,
            display_name=body.display_name,
            is_admin=body.is_admin,
            disabled=body.disabled,
        )
        audit(
            session,
            request,
            who,
            "user.update",
            user.username,
            fields=sorted(body.model_dump(exclude_none=True, exclude={"password"})),
        )
        await session.commit()
        return UserOut.of(user)


@router.delete("/users/{user_id}", status_code=204, tags=["users"])
async def delete_user(
    user_id: uuid.UUID, request: Request, who: Annotated[Principal, Depends(AdminDep)]
) -> Response:
    """Delete a user (their as-run and audit rows stay, without the name)."""
    async with context(request).sessions() as session:
        user = await _user(session, user_id)
        if user.id == who.user_id:
            raise Problem(409, "you cannot delete yourself: ask another administrator")
        audit(session, request, who, "user.delete", user.username)
        await accounts.delete_user(session, user)
        await session.commit()
    return Response(status_code=204)


# -- yourself ------------------------------------------------------------------------------


@router.put("/me/password", status_code=204, tags=["auth"])
async def change_password(
    body: PasswordChange, request: Request, who: Annotated[Principal, Depends(UserDep)]
) -> Response:
    """Change your own password (the current one is asked again)."""
    async with context(request).sessions() as session:
        user = await _user(session, who.user_id)
        if not accounts.verify_password(user.password_hash, body.current_password):
            raise Problem(403, "the current password is wrong")
        accounts.set_password(user, body.new_password)
        audit(session, request, who, "user.password", user.username)
        await session.commit()
    return Response(status_code=204)


def _key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(row, from_attributes=True)


@router.get("/me/api-keys", response_model=list[ApiKeyOut], tags=["api keys"])
async def list_api_keys(
    request: Request, who: Annotated[Principal, Depends(UserDep)]
) -> list[ApiKeyOut]:
    """Your API keys (without their secrets, which are never stored)."""
    async with context(request).sessions() as session:
        return [_key_out(r) for r in await tokens.list_api_keys(session, who.user_id)]


@router.post("/me/api-keys", response_model=NewApiKeyOut, status_code=201, tags=["api keys"])
async def add_api_key(
    body: ApiKeyCreate, request: Request, who: Annotated[Principal, Depends(UserDep)]
) -> NewApiKeyOut:
    """A new API key acting as you. The key is in this answer only: store it now."""
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise Problem(422, "expires_at needs a time zone, e.g. 2027-01-01T00:00:00Z")
        if body.expires_at <= datetime.now(UTC):
            raise Problem(422, "expires_at is in the past: give a future time")
    async with context(request).sessions() as session:
        new = await tokens.create_api_key(
            session, who.user_id, body.name, expires_at=body.expires_at
        )
        audit(session, request, who, "apikey.create", new.row.prefix, name=body.name)
        await session.commit()
        return NewApiKeyOut(**_key_out(new.row).model_dump(), key=new.secret)


@router.delete("/me/api-keys/{key_id}", status_code=204, tags=["api keys"])
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, who: Annotated[Principal, Depends(UserDep)]
) -> Response:
    """Revoke one of your API keys; it stops working at once."""
    async with context(request).sessions() as session:
        try:
            row, revoked = await tokens.revoke_api_key(session, who.user_id, key_id)
        except NotFoundError:
            raise Problem(
                404, f"you have no API key {key_id}: see GET /api/v1/me/api-keys"
            ) from None
        if revoked:
            audit(session, request, who, "apikey.revoke", row.prefix)
        await session.commit()
    return Response(status_code=204)


# -- station members -----------------------------------------------------------------------


@router.get("/stations/{station}/members", response_model=list[MemberOut], tags=["members"])
async def list_members(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> list[MemberOut]:
    """Who may work on the station, with which role."""
    async with context(request).sessions() as session:
        members = await memberships.list_members(session, scope.station.id)
        return [MemberOut(user_id=m.user_id, username=m.username, role=m.role) for m in members]


@router.put("/stations/{station}/members/{user_id}", response_model=MemberOut, tags=["members"])
async def set_member(
    user_id: uuid.UUID,
    body: MemberSet,
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
) -> MemberOut:
    """Give a user a role on the station (or change it)."""
    async with context(request).sessions() as session:
        user = await _user(session, user_id)
        await memberships.set_role(session, user_id, scope.station.id, body.role)
        audit(session, request, scope, "member.set", user.username, role=str(body.role))
        await session.commit()
        return MemberOut(user_id=user.id, username=user.username, role=body.role)


@router.delete("/stations/{station}/members/{user_id}", status_code=204, tags=["members"])
async def remove_member(
    user_id: uuid.UUID, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> Response:
    """Take a user off the station."""
    async with context(request).sessions() as session:
        try:
            await memberships.remove(session, user_id, scope.station.id)
        except NotFoundError:
            raise Problem(
                404, f"user {user_id} is not a member of {scope.station.short_name}"
            ) from None
        audit(session, request, scope, "member.remove", str(user_id))
        await session.commit()
    return Response(status_code=204)
