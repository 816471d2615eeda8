"""Relayed web streams of a station: their failover chains of URLs, and the two
operator actions on one, failover (next URL now) and reset (primary, health cleared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import DjDep, ManagerDep, StationScope, context
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.routes._playout_common import executor_of
from grimnir.api.routes._playout_webstream import (
    failover_now,
    on_air_index,
    stream_on_air,
    switch_to,
)
from grimnir.domain.urls import mask_url
from grimnir.services import webstreams
from grimnir.store.models import Webstream

router = APIRouter(tags=["webstreams"])

BASE = "/stations/{station}/webstreams"


def _http_url(value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"{value!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL such as https://host/stream")
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError(f"{value!r} contains spaces or control characters")
    return text


HttpUrl = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_http_url)]
Urls = Annotated[
    list[HttpUrl],
    Field(min_length=1, max_length=10, description="Primary first, then backups (1 to 10)."),
]
Name = Annotated[str, Field(min_length=1, max_length=255)]
StallMs = Annotated[
    int, Field(ge=500, le=120_000, description="Silence before the next URL is tried.")
]
GraceMs = Annotated[int, Field(ge=0, le=600_000, description="How long a recovered URL must hold.")]


class WebstreamIn(BaseModel):
    name: Name
    urls: Urls
    stall_timeout_ms: StallMs = 5_000
    grace_ms: GraceMs = 2_000
    pass_metadata: bool = True


class WebstreamPatch(BaseModel):
    name: Name | None = None
    urls: Urls | None = None
    stall_timeout_ms: StallMs | None = None
    grace_ms: GraceMs | None = None
    pass_metadata: bool | None = None


class WebstreamOut(BaseModel):
    id: uuid.UUID
    name: str
    urls: list[str] = Field(description="Passwords in URLs are shown as ***.")
    stall_timeout_ms: int
    grace_ms: int
    pass_metadata: bool
    health: str
    active_url: str | None
    last_error: str | None
    checked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SwitchOut(BaseModel):
    """What a failover or reset did."""

    webstream: WebstreamOut
    switched: bool = Field(description="True when the stream on air moved to another URL.")
    item_id: str | None = Field(default=None, description="The engine item now relaying it.")
    url: str | None = Field(default=None, description="The URL now on air (masked).")


def _out(row: Webstream) -> WebstreamOut:
    return WebstreamOut(
        id=row.id,
        name=row.name,
        urls=[mask_url(u) for u in row.urls],
        stall_timeout_ms=row.stall_timeout_ms,
        grace_ms=row.grace_ms,
        pass_metadata=row.pass_metadata,
        health=row.health,
        active_url=None if row.active_url is None else mask_url(row.active_url),
        last_error=row.last_error,
        checked_at=row.checked_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


StreamId = Annotated[uuid.UUID, Path(description="The web stream's id.")]


async def _get(session: AsyncSession, scope: StationScope, stream_id: uuid.UUID) -> Webstream:
    return await webstreams.get_webstream(session, scope.station, stream_id)


@router.get(BASE, response_model=Page[WebstreamOut])
async def list_webstreams(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[WebstreamOut]:
    """The station's web streams by name."""
    async with context(request).sessions() as session:
        rows, total = await webstreams.list_webstreams(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        items = [_out(r) for r in rows]
    return Page[WebstreamOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(BASE, response_model=WebstreamOut, status_code=201)
async def add_webstream(
    body: WebstreamIn, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> WebstreamOut:
    """Add a web stream (a failover chain of URLs) to the station."""
    async with context(request).sessions() as session:
        row = await webstreams.add_webstream(
            session,
            scope.station.id,
            name=body.name,
            urls=body.urls,
            stall_timeout_ms=body.stall_timeout_ms,
            grace_ms=body.grace_ms,
            pass_metadata=body.pass_metadata,
        )
        audit(session, request, scope, "webstream.add", body.name, webstream_id=str(row.id))
        await session.commit()
        return _out(row)


@router.get(f"{BASE}/{{stream_id}}", response_model=WebstreamOut)
async def get_webstream(
    stream_id: StreamId, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> WebstreamOut:
    """One web stream with its health."""
    async with context(request).sessions() as session:
        return _out(await _get(session, scope, stream_id))


@router.patch(f"{BASE}/{{stream_id}}", response_model=WebstreamOut)
async def edit_webstream(
    stream_id: StreamId,
    body: WebstreamPatch,
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
) -> WebstreamOut:
    """Change some fields; the new URLs apply the next time the stream goes on air."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    async with context(request).sessions() as session:
        row = await webstreams.edit_webstream(
            session, await _get(session, scope, stream_id), changes
        )
        audit(session, request, scope, "webstream.edit", row.name, fields=sorted(changes))
        await session.commit()
        return _out(row)


@router.delete(f"{BASE}/{{stream_id}}", status_code=204)
async def delete_webstream(
    stream_id: StreamId, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> Response:
    """Delete a web stream; clock slots and shows that named it keep an empty slot."""
    async with context(request).sessions() as session:
        row = await _get(session, scope, stream_id)
        audit(session, request, scope, "webstream.delete", row.name, webstream_id=str(row.id))
        await webstreams.delete_webstream(session, row)
        await session.commit()
    return Response(status_code=204)


@router.post(f"{BASE}/{{stream_id}}/failover", response_model=SwitchOut)
async def failover(
    stream_id: StreamId, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> SwitchOut:
    """Move the stream on air to its next URL now (409 when it is not playing)."""
    executor = executor_of(request, scope)
    async with context(request).sessions() as session:
        row = await _get(session, scope, stream_id)
        item_id, url = await failover_now(request, scope, executor, row)
        await webstreams.record_failover(session, row, url, executor.clock())
        audit(session, request, scope, "webstream.failover", row.name, to=mask_url(url))
        await session.commit()
        return SwitchOut(webstream=_out(row), switched=True, item_id=item_id, url=mask_url(url))


@router.post(f"{BASE}/{{stream_id}}/reset", response_model=SwitchOut)
async def reset(
    stream_id: StreamId, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> SwitchOut:
    """Clear the stream's health and last error; if it is on air on a backup URL,
    go back to the primary now. Works whether or not the station is on air here."""
    on_air = context(request).on_air.executor(scope.station.id)
    async with context(request).sessions() as session:
        row = await _get(session, scope, stream_id)
        item_id: str | None = None
        if on_air is not None:
            playing = await stream_on_air(request, scope, on_air, row)
            if playing is not None and on_air_index(on_air, playing[0], list(row.urls)) != 0:
                reason = f"reset by {scope.principal.username}"
                item_id = await switch_to(request, scope, on_air, row, playing, 0, reason)
        await webstreams.clear_health(session, row)
        audit(session, request, scope, "webstream.reset", row.name, switched=item_id is not None)
        await session.commit()
        url = mask_url(row.urls[0]) if item_id else None
        return SwitchOut(
            webstream=_out(row), switched=item_id is not None, item_id=item_id, url=url
        )
