"""Playlists: CRUD and their ordered items (media of the same station)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import DjScope, ManagerScope, context
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import Problem
from grimnir.api.routes.programming.common import Description, Name, owned
from grimnir.domain import MediaState
from grimnir.planner.playlists import PlaylistSpec
from grimnir.services import programming
from grimnir.services.programming import playlists as service
from grimnir.store.models import Playlist

router = APIRouter(tags=["playlists"])

_DAY_MS = 86_400_000


class RotationBody(BaseModel):
    """How often the playlist may air (see the planner's playlist rotation)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["default", "once_per_n_songs", "once_per_n_minutes", "once_per_hour"] = "default"
    n: int | None = Field(default=None, ge=1, le=100_000)


class PlaylistIn(BaseModel):
    name: Name
    description: Description = ""
    shuffle: bool = False
    rotation: RotationBody = RotationBody()
    jingle: bool = Field(default=False, description="Jingles air without now-playing data.")


class PlaylistOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    shuffle: bool
    rotation: dict[str, Any]
    jingle: bool
    item_count: int
    created_at: datetime
    updated_at: datetime


class ItemOverrides(BaseModel):
    """Per-item changes over the media's own cue points."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    cue_in_ms: int | None = Field(default=None, ge=0, le=_DAY_MS)
    cue_out_ms: int | None = Field(default=None, gt=0, le=_DAY_MS)
    fade_in_ms: int | None = Field(default=None, ge=0, le=600_000)
    fade_out_ms: int | None = Field(default=None, ge=0, le=600_000)
    weight: float | None = Field(default=None, gt=0, le=1000, description="Shuffle weight.")


class ItemIn(BaseModel):
    media_id: uuid.UUID
    overrides: ItemOverrides = ItemOverrides()


class ItemOut(BaseModel):
    position: int
    media_id: uuid.UUID
    overrides: dict[str, Any]
    title: str | None
    artist: str | None
    duration_ms: int | None
    state: MediaState


def _rotation(body: RotationBody) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


def _check(
    name: str, rotation: dict[str, Any], items: list[tuple[str, int, Mapping[str, Any]]]
) -> None:
    """The planner's own checks (rotation needs n, cue_out after cue_in…): PlannerError → 422."""
    PlaylistSpec.from_parts("new", name, list(items), rotation=rotation)


async def _out(session: AsyncSession, row: Playlist) -> PlaylistOut:
    count = await service.item_count(session, row.id)
    return PlaylistOut(
        id=row.id,
        name=row.name,
        description=row.description,
        shuffle=row.shuffle,
        rotation=dict(row.rotation or {}),
        jingle=row.jingle,
        item_count=count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


Dj = DjScope
Manager = ManagerScope


@router.get("/stations/{station}/playlists", response_model=Page[PlaylistOut])
async def list_playlists(
    request: Request, scope: Dj, page: Annotated[PageParams, Depends(page_params)]
) -> Page[PlaylistOut]:
    """The station's playlists, by name."""
    async with context(request).sessions() as session:
        rows, total = await service.list_playlists(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        items = [await _out(session, r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/stations/{station}/playlists", response_model=PlaylistOut, status_code=201)
async def add_playlist(body: PlaylistIn, request: Request, scope: Manager) -> PlaylistOut:
    """A new, empty playlist (fill it with PUT …/playlists/{id}/items)."""
    rotation = _rotation(body.rotation)
    _check(body.name, rotation, [])
    async with context(request).sessions() as session:
        row = await service.create_playlist(
            session,
            scope.station.id,
            name=body.name,
            description=body.description,
            shuffle=body.shuffle,
            rotation=rotation,
            jingle=body.jingle,
        )
        audit(session, request, scope, "playlist.create", body.name, id=str(row.id))
        await session.commit()
        return await _out(session, row)


@router.get("/stations/{station}/playlists/{playlist_id}", response_model=PlaylistOut)
async def get_playlist(playlist_id: uuid.UUID, request: Request, scope: Dj) -> PlaylistOut:
    """One playlist."""
    async with context(request).sessions() as session:
        row = await owned(session, Playlist, playlist_id, scope.station)
        return await _out(session, row)


@router.put("/stations/{station}/playlists/{playlist_id}", response_model=PlaylistOut)
async def edit_playlist(
    playlist_id: uuid.UUID, body: PlaylistIn, request: Request, scope: Manager
) -> PlaylistOut:
    """Replace the playlist's name, description, shuffle, rotation and jingle flag."""
    rotation = _rotation(body.rotation)
    _check(body.name, rotation, [])
    async with context(request).sessions() as session:
        row = await owned(session, Playlist, playlist_id, scope.station)
        await service.update_playlist(
            session,
            row,
            name=body.name,
            description=body.description,
            shuffle=body.shuffle,
            rotation=rotation,
            jingle=body.jingle,
        )
        audit(session, request, scope, "playlist.update", body.name, id=str(row.id))
        await session.commit()
        return await _out(session, row)


@router.delete("/stations/{station}/playlists/{playlist_id}", status_code=204)
async def delete_playlist(playlist_id: uuid.UUID, request: Request, scope: Manager) -> Response:
    """Delete the playlist; clock slots and shows that used it lose the reference."""
    async with context(request).sessions() as session:
        row = await owned(session, Playlist, playlist_id, scope.station)
        audit(session, request, scope, "playlist.delete", row.name, id=str(row.id))
        await programming.remove(session, row)
        await session.commit()
    return Response(status_code=204)


async def _items(session: AsyncSession, playlist_id: uuid.UUID) -> list[ItemOut]:
    return [
        ItemOut(
            position=item.position,
            media_id=item.media_id,
            overrides=dict(item.overrides or {}),
            title=media.title,
            artist=media.artist,
            duration_ms=media.duration_ms,
            state=media.state,
        )
        for item, media in await service.playlist_items(session, playlist_id)
    ]


@router.get("/stations/{station}/playlists/{playlist_id}/items", response_model=list[ItemOut])
async def list_items(playlist_id: uuid.UUID, request: Request, scope: Dj) -> list[ItemOut]:
    """The playlist's items in play order."""
    async with context(request).sessions() as session:
        await owned(session, Playlist, playlist_id, scope.station)
        return await _items(session, playlist_id)


@router.put("/stations/{station}/playlists/{playlist_id}/items", response_model=list[ItemOut])
async def set_items(
    playlist_id: uuid.UUID,
    body: Annotated[list[ItemIn], Body(max_length=5000)],
    request: Request,
    scope: Manager,
) -> list[ItemOut]:
    """Replace the ordered list of items (a media item may appear more than once)."""
    short = scope.station.short_name
    async with context(request).sessions() as session:
        row = await owned(session, Playlist, playlist_id, scope.station)
        found = await service.station_media(session, scope.station.id, {i.media_id for i in body})
        errors = [
            {
                "loc": ["body", str(i), "media_id"],
                "msg": f"no media item {item.media_id} on station {short!r}: use one listed by "
                f"GET /api/v1/stations/{short}/media",
            }
            for i, item in enumerate(body)
            if item.media_id not in found
        ]
        if errors:
            parts = "; ".join(f"[{e['loc'][1]}].media_id: {e['msg']}" for e in errors[:5])
            raise Problem(422, f"fix these items: {parts}", errors=errors)
        triples: list[tuple[str, int, Mapping[str, Any]]] = [
            (str(i.media_id), pos, i.overrides.model_dump(exclude_none=True))
            for pos, i in enumerate(body)
        ]
        _check(row.name, dict(row.rotation or {}), triples)
        await service.replace_items(session, row, [(uuid.UUID(m), o) for m, _, o in triples])
        audit(session, request, scope, "playlist.items", row.name, id=str(row.id), count=len(body))
        await session.commit()
        return await _items(session, row.id)
