"""The priority ladder on air: who holds the air, emergency audio, a DJ override
of a harbor mount, and releasing a claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from grimnir.api.auth import DjDep, ManagerDep, StationScope, context
from grimnir.api.problems import Problem
from grimnir.api.routes._playout_common import engine_of, executor_of, record
from grimnir.config.station import Failover
from grimnir.domain import MediaState, NotFoundError, Priority
from grimnir.library import queries
from grimnir.services import playout

router = APIRouter(tags=["priority"])

BASE = "/stations/{station}/priority"
OVERRIDE = "live_override"


class SourceOut(BaseModel):
    """A source claiming the air."""

    id: uuid.UUID
    priority: str
    level: int = Field(description="0 emergency … 4 fallback; lower pre-empts higher.")
    kind: str
    ref: str | None
    activated_at: datetime
    params: dict[str, Any]


class PriorityOut(BaseModel):
    on_air: str = Field(description="The rung on air: emergency, live_override, … fallback.")
    level: int
    layer: str | None = Field(description="The engine layer on air.")
    state: str = Field(description="The executor's state.")
    sources: list[SourceOut]


class EmergencyIn(BaseModel):
    media_id: uuid.UUID | None = Field(
        default=None,
        description="A ready media item of the station; without it, the station's "
        "failover.emergency_audio_path plays.",
    )


class EmergencyOut(BaseModel):
    item_id: str
    path: str
    title: str


class OverrideIn(BaseModel):
    mount: str = Field(
        min_length=2, max_length=255, pattern=r"^/[\w.~/-]*$", description="A harbor mount."
    )


class ReleaseIn(BaseModel):
    kind: str = Field(min_length=1, max_length=32, description="A claim kind (see GET priority).")
    ref: str = Field(default="", max_length=255, description="The claim's ref (mount, item id).")


class ClaimOut(BaseModel):
    kind: str
    ref: str
    on_air: str


@router.get(BASE, response_model=PriorityOut)
async def get_priority(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> PriorityOut:
    """The priority on air, the engine layer on air and every active claim."""
    executor = executor_of(request, scope)
    status = await engine_of(request, scope).status()
    async with context(request).sessions() as session:
        rows = await playout.active_claims(session, scope.station.id)
        sources = [
            SourceOut(
                id=r.id,
                priority=r.priority.key,
                level=int(r.priority),
                kind=r.kind,
                ref=r.ref,
                activated_at=r.activated_at,
                params=dict(r.params or {}),
            )
            for r in rows
        ]
    on_air = executor.priority.on_air
    return PriorityOut(
        on_air=on_air.key,
        level=int(on_air),
        layer=status.on_air,
        state=executor.state.value,
        sources=sources,
    )


def _emergency_path(scope: StationScope) -> str:
    raw = dict(scope.station.config or {}).get("failover") or {}
    try:
        path = Failover.model_validate(raw).emergency_audio_path
    except ValidationError:
        path = None
    if not path:
        raise Problem(
            422,
            "give a media_id, or set failover.emergency_audio_path in the station config "
            "(PUT /api/v1/stations/{station}/config)",
        )
    return path


@router.post(f"{BASE}/emergency", response_model=EmergencyOut, status_code=201)
async def emergency(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)], body: EmergencyIn
) -> EmergencyOut:
    """Play emergency audio now, over everything (live included)."""
    executor = executor_of(request, scope)
    if body.media_id is not None:
        async with context(request).sessions() as session:
            try:
                item = await queries.get_media(session, body.media_id, scope.station.id)
            except NotFoundError:
                raise Problem(404, f"no media item {body.media_id} on this station") from None
        if item.state is not MediaState.READY:
            raise Problem(409, f"media item {item.id} is {item.state.value}, not ready")
        item_id = await executor.insert_emergency(item)
        path, title = item.path, item.title or "Emergency"
    else:
        path, title = _emergency_path(scope), "Emergency"
        item_id = await executor.insert_emergency(path)
    await record(request, scope, "priority.emergency", item_id, path=path)
    return EmergencyOut(item_id=item_id, path=path, title=title)


@router.post(f"{BASE}/override", response_model=ClaimOut, status_code=201)
async def override(
    body: OverrideIn, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ClaimOut:
    """Put a harbor mount on the live layer now (a live override): the DJ on it takes
    the air from automation, with or without a scheduled show."""
    executor = executor_of(request, scope)
    await executor.client.route_live(body.mount)
    await executor.priority.claim(
        Priority.LIVE_OVERRIDE, OVERRIDE, body.mount, {"by": scope.principal.username}
    )
    await record(request, scope, "priority.override", body.mount)
    return ClaimOut(kind=OVERRIDE, ref=body.mount, on_air=executor.priority.on_air.key)


@router.post(f"{BASE}/release", response_model=ClaimOut)
async def release(
    body: ReleaseIn, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ClaimOut:
    """End a claim: an emergency item stops, an override takes the harbor mount off
    air (unless a scheduled live show holds it), other claims are closed."""
    executor = executor_of(request, scope)
    if (body.kind, body.ref) not in executor.priority.active():
        held = ", ".join(f"{k}/{r}" if r else k for k, r in executor.priority.active()) or "none"
        raise Problem(
            404, f"no active claim {body.kind}/{body.ref} on this station (active: {held})"
        )
    if body.kind == "emergency":
        await executor.client.stop("emergency", 200, True)
    elif body.kind == OVERRIDE and executor.live_entry is None:
        await executor.client.route_live(None)
    await executor.priority.release(body.kind, body.ref)
    await record(request, scope, "priority.release", f"{body.kind}/{body.ref}")
    return ClaimOut(kind=body.kind, ref=body.ref, on_air=executor.priority.on_air.key)
