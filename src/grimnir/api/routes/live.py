"""Live: one-time DJ tokens, live sessions, who is on air, handover and kick.

A DJ connects their encoder to the station's harbor (``icecast://…/live``)
with a live token (``glt_…``, one connection) or their account password; the
engine asks ``POST /internal/harbor/auth`` (see :mod:`grimnir.api.routes._harbor`).
Handover and kick act on the station's engine, so they need the station on
air in this process (``grimnir up``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import DjDep, ManagerDep, StationScope, context
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import PROBLEM_JSON, Problem, ProblemBody
from grimnir.api.routes._harbor import harbor_mounts
from grimnir.api.routes._harbor import router as harbor_router
from grimnir.api.routes._playout_common import engine_of
from grimnir.api.tokens import create_live_token
from grimnir.domain import Role
from grimnir.engine.client import EngineClient, HarborStatus
from grimnir.executor import live_mount
from grimnir.services import live as service
from grimnir.store.models import LiveToken

router = APIRouter(tags=["live"])
router.include_router(harbor_router)

PREFIX = "/stations/{station}/live"
ENGINE_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}}
}
MountPath = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^/")]


class LiveTokenCreate(BaseModel):
    user_id: uuid.UUID | None = Field(
        default=None, description="The DJ it is for (managers only; default: you)."
    )
    label: str = Field(default="", max_length=255, description="A note, e.g. the show.")
    mount: MountPath | None = Field(
        default=None, description="Only this harbor mount (default: any of the station's)."
    )
    entry_id: uuid.UUID | None = Field(
        default=None,
        description="A live show occurrence (a timeline entry of kind live): the token is "
        "for its mount and expires when it ends.",
    )
    ttl_minutes: int = Field(
        default=24 * 60, ge=1, le=7 * 24 * 60, description="How long it stays valid."
    )


class LiveTokenOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    username: str | None
    label: str
    mount: str | None
    created_at: datetime
    expires_at: datetime


class NewLiveToken(LiveTokenOut):
    token: str = Field(
        description="The harbor password (any user name). Shown this once; it works for one "
        "connection."
    )


class LiveSessionOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    username: str | None
    mount: str
    connected_at: datetime
    disconnected_at: datetime | None
    remote_addr: str | None = Field(description="Shown to managers only.")


class LiveConnection(BaseModel):
    mount: str
    login: str | None = Field(description="The user name the encoder sent.")
    user_id: uuid.UUID | None
    username: str | None = Field(description="The account it authenticated as, if any.")
    connected_at: datetime | None
    bytes_received: int | None
    title: str | None
    on_air: bool


class LiveStatus(BaseModel):
    engine: bool = Field(description="True: read from the engine; false: from the database.")
    mounts: list[str] = Field(description="The station's harbor mounts.")
    routed: str | None = Field(
        description="Which mount may take the air: 'auto' (first come), a mount, or none."
    )
    live_mount: str | None = Field(description="The mount on air now (none: automation).")
    connections: list[LiveConnection]
    harbor_host: str | None = Field(
        default=None,
        description="Where encoders connect (the engine's server; 0.0.0.0 or :: means "
        "every address of this machine). Null when the engine is not on air here.",
    )
    harbor_port: int | None = None


class Handover(BaseModel):
    mount: MountPath | None = Field(
        description="A connected harbor mount to put on air; null: back to automation."
    )


class Kick(BaseModel):
    mount: MountPath | None = Field(
        default=None, description="Default: the mount on air, or the only one connected."
    )


def _engine(request: Request, scope: StationScope) -> EngineClient:
    return engine_of(request, scope)


def _is_manager(scope: StationScope) -> bool:
    return scope.role in (Role.MANAGER, Role.ADMIN)


def _token_out(row: LiveToken, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "username": names.get(row.user_id) if row.user_id else None,
        "label": row.label,
        "mount": row.mount,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


# -- tokens ---------------------------------------------------------------------------------


async def _token_owner(
    session: AsyncSession, scope: StationScope, asked: uuid.UUID | None
) -> uuid.UUID:
    me = scope.principal.user_id
    if asked is None or asked == me:
        return me
    if not _is_manager(scope):
        raise Problem(403, "only a manager may make a live token for another DJ: leave user_id out")
    await service.check_member(session, scope.station, asked)
    return asked


async def _show_window(
    session: AsyncSession, scope: StationScope, entry_id: uuid.UUID, mount: str | None
) -> tuple[str, datetime, str]:
    """(mount, end, title) of a live show occurrence a token is made for."""
    entry = await service.live_show(session, scope.station.id, entry_id, datetime.now(UTC))
    slot_mount = live_mount(entry)
    if mount is not None and mount != slot_mount:
        raise Problem(422, f"that show is live on {slot_mount}, not {mount}: leave mount out")
    return slot_mount, entry.ends_at, entry.title or "live show"


@router.post(f"{PREFIX}/tokens", response_model=NewLiveToken, status_code=201)
async def add_token(
    body: LiveTokenCreate, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> NewLiveToken:
    """A one-time harbor password: the DJ connects with it once (any user name)."""
    mounts = harbor_mounts(scope.station)
    if not mounts:
        raise Problem(409, "the station's harbor is disabled: enable harbor in its config")
    if body.mount is not None and body.mount not in mounts:
        raise Problem(422, f"mount {body.mount} is not a harbor mount; use one of {mounts}")
    ttl, mount, label = timedelta(minutes=body.ttl_minutes), body.mount, body.label
    now = datetime.now(UTC)
    async with context(request).sessions() as session:
        owner = await _token_owner(session, scope, body.user_id)
        if body.entry_id is not None:
            mount, ends_at, title = await _show_window(session, scope, body.entry_id, mount)
            ttl, label = ends_at - now, label or title
        row, secret = await create_live_token(
            session, scope.station.id, user_id=owner, label=label, mount=mount, ttl=ttl, now=now
        )
        names = await service.user_names(session, {owner})
        audit(
            session, request, scope, "live.token.create", str(row.id), mount=mount, user=str(owner)
        )
        await session.commit()
        return NewLiveToken(**_token_out(row, names), token=secret)


@router.get(f"{PREFIX}/tokens", response_model=list[LiveTokenOut])
async def list_tokens(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> list[LiveTokenOut]:
    """Unused, unexpired live tokens (yours; a manager sees the station's)."""
    owner = None if _is_manager(scope) else scope.principal.user_id
    now = datetime.now(UTC)
    async with context(request).sessions() as session:
        rows = await service.valid_tokens(session, scope.station.id, now, owner=owner)
        names = await service.user_names(session, {r.user_id for r in rows})
        return [LiveTokenOut(**_token_out(r, names)) for r in rows]


@router.delete(f"{PREFIX}/tokens/{{token_id}}", status_code=204)
async def delete_token(
    token_id: uuid.UUID, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> Response:
    """Withdraw a live token (yours; a manager any of the station's)."""
    owner = None if _is_manager(scope) else scope.principal.user_id
    async with context(request).sessions() as session:
        row = await service.withdraw_token(session, scope.station.id, token_id, owner=owner)
        audit(session, request, scope, "live.token.delete", str(row.id))
        await session.commit()
    return Response(status_code=204)


# -- sessions and status ----------------------------------------------------------------------


@router.get(f"{PREFIX}/sessions", response_model=Page[LiveSessionOut])
async def list_sessions(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[LiveSessionOut]:
    """Live connections to the station's harbor, newest first."""
    async with context(request).sessions() as session:
        total, rows = await service.session_page(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        names = await service.user_names(session, {r.user_id for r in rows})
    manager = _is_manager(scope)
    items = [
        LiveSessionOut(
            id=r.id,
            user_id=r.user_id,
            username=names.get(r.user_id) if r.user_id else None,
            mount=r.mount,
            connected_at=r.connected_at,
            disconnected_at=r.disconnected_at,
            remote_addr=r.remote_addr if manager else None,
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def _status(request: Request, scope: StationScope) -> LiveStatus:
    async with context(request).sessions() as session:
        latest = await service.open_sessions(session, scope.station.id)
        names = await service.user_names(session, {s.user_id for s in latest.values()})
    engine = context(request).on_air.engine(scope.station.id)
    mounts = harbor_mounts(scope.station)
    if engine is None:
        return LiveStatus(
            engine=False,
            mounts=mounts,
            routed=None,
            live_mount=None,
            connections=[
                LiveConnection(
                    mount=mount,
                    login=None,
                    user_id=row.user_id,
                    username=names.get(row.user_id) if row.user_id else None,
                    connected_at=row.connected_at,
                    bytes_received=None,
                    title=None,
                    on_air=False,
                )
                for mount, row in sorted(latest.items())
            ],
        )
    status = await engine.status()
    harbor = status.harbor or HarborStatus()
    server = status.stream_server
    live = status.live if status.on_air == "live" else None
    now = datetime.now(UTC)
    connections = []
    for mount, info in sorted(harbor.mounts.items()):
        row = latest.get(mount)
        connections.append(
            LiveConnection(
                mount=mount,
                login=info.user or None,
                user_id=row.user_id if row else None,
                username=names.get(row.user_id) if row and row.user_id else None,
                connected_at=now - timedelta(seconds=info.connected_s),
                bytes_received=info.bytes,
                title=info.title or None,
                on_air=mount == live,
            )
        )
    return LiveStatus(
        engine=True,
        mounts=mounts,
        routed=harbor.routed,
        live_mount=live,
        connections=connections,
        harbor_host=server.host if server is not None else None,
        harbor_port=server.port if server is not None else None,
    )


@router.get(f"{PREFIX}/status", response_model=LiveStatus)
async def live_status(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> LiveStatus:
    """Who is connected to the harbor and who is on air (from the engine when the
    station is on air here, else the open sessions in the database)."""
    return await _status(request, scope)


# -- handover and kick ------------------------------------------------------------------------


@router.post(f"{PREFIX}/handover", response_model=LiveStatus, responses=ENGINE_RESPONSES)
async def handover(
    body: Handover, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> LiveStatus:
    """Put a connected DJ's mount on air, or take live off air (``mount: null``)."""
    engine = _engine(request, scope)
    if body.mount is not None:
        mounts = harbor_mounts(scope.station)
        if body.mount not in mounts:
            raise Problem(422, f"mount {body.mount} is not a harbor mount; use one of {mounts}")
        status = await engine.status()
        if status.harbor is None or body.mount not in status.harbor.mounts:
            raise Problem(409, f"nobody is connected on {body.mount}: wait for the DJ")
    await engine.route_live(body.mount)
    async with context(request).sessions() as session:
        audit(session, request, scope, "live.handover", body.mount or "automation")
        await session.commit()
    return await _status(request, scope)


@router.post(f"{PREFIX}/kick", status_code=204, responses=ENGINE_RESPONSES)
async def kick(
    body: Kick, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> Response:
    """Disconnect a DJ (a manager, or the DJ on that mount themselves)."""
    engine = _engine(request, scope)
    status = await engine.status()
    connected = sorted(status.harbor.mounts if status.harbor is not None else ())
    mount = body.mount
    if mount is None:
        live = status.live if status.on_air == "live" else None
        if live:
            mount = live
        elif len(connected) == 1:
            mount = connected[0]
        else:
            raise Problem(422, f"say which mount to kick: connected are {connected or 'none'}")
    if mount not in connected:
        raise Problem(409, f"nobody is connected on {mount}")
    async with context(request).sessions() as session:
        if not _is_manager(scope):
            row = (await service.open_sessions(session, scope.station.id)).get(mount)
            if row is None or row.user_id != scope.principal.user_id:
                raise Problem(403, "only a manager, or the DJ on that mount, may kick them")
        await engine.kick_live(mount)
        audit(session, request, scope, "live.kick", mount)
        await session.commit()
    return Response(status_code=204)
