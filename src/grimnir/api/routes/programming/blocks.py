"""Smart blocks: CRUD (rules checked by the planner's compiler) and previews of
what a block would pick now from the READY library."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import DjScope, ManagerScope, StationScope, context
from grimnir.api.pages import Page, PageParams, page_of, page_params
from grimnir.api.problems import Problem
from grimnir.api.routes.programming.common import (
    Description,
    Name,
    check_refs,
    finite_json,
    owned,
)
from grimnir.planner.history import PlayHistory
from grimnir.planner.smartblock import SmartBlockSpec, fill, load_smart_blocks
from grimnir.planner.tracks import TrackLibrary, block_candidates
from grimnir.services import programming
from grimnir.services.programming import blocks as service
from grimnir.store.models import SmartBlock

router = APIRouter(tags=["smart blocks"])

_DAY_MS = 86_400_000
_MAX_PREVIEW_ITEMS = 500


class SmartBlockIn(BaseModel):
    name: Name
    description: Description = ""
    rules: dict[str, Any] = Field(
        default_factory=dict,
        description='Filters, weights, quotas, separation…: {"groups": [[{"field": "genre", '
        '"modifier": "is", "value": "Rock"}]], "separation": {"artist": 60}, …}',
    )
    target_duration_ms: int | None = Field(default=None, ge=1, le=_DAY_MS)
    tolerance_ms: int = Field(default=0, ge=0, le=3_600_000)
    fallback_block_id: uuid.UUID | None = None


class SmartBlockOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    rules: dict[str, Any]
    target_duration_ms: int | None
    tolerance_ms: int
    fallback_block_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SmartBlock) -> SmartBlockOut:
        return cls.model_validate(row, from_attributes=True)


class PickOut(BaseModel):
    media_id: uuid.UUID
    starts_at: datetime
    duration_ms: int
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    year: int | None
    source_block_id: uuid.UUID | None


class PreviewOut(BaseModel):
    """What the block would pick, and what it had to give up to fill."""

    start: datetime
    target_ms: int | None
    duration_ms: int
    shortfall_ms: int
    library_size: int = Field(description="READY tracks of the station.")
    matching: int = Field(
        description="READY tracks of the block's filter with a playable length and a weight "
        "above 0, before separation and quotas (the fallback block's are not counted)."
    )
    tracks: list[PickOut]
    relaxations: list[str]
    notes: list[str]
    used_block_id: uuid.UUID | None
    trim_last_to_ms: int | None = Field(
        description="Under overflow trim_last: the length the last track is faded out at."
    )


def _spec(body: SmartBlockIn, block_id: str) -> SmartBlockSpec:
    """The planner's spec of ``body``; a bad rule is a PlannerError (422) naming it."""
    finite_json(body.rules, "rules")
    return SmartBlockSpec.from_rules(
        block_id,
        body.name,
        body.rules,
        target_ms=body.target_duration_ms,
        tolerance_ms=body.tolerance_ms,
        fallback_id=None if body.fallback_block_id is None else str(body.fallback_block_id),
    )


async def _validate(
    session: AsyncSession, scope: StationScope, body: SmartBlockIn, block_id: uuid.UUID | None
) -> None:
    _spec(body, str(block_id or "new"))
    if block_id is not None and body.fallback_block_id == block_id:
        raise Problem(422, "fallback_block_id: a block cannot fall back to itself")
    await check_refs(
        session, scope.station, [("fallback_block_id", SmartBlock, body.fallback_block_id)]
    )


Dj = DjScope
Manager = ManagerScope
StartQ = Annotated[
    AwareDatetime | None,
    Query(description="When the picks would start (with a time zone); default now."),
]
TargetQ = Annotated[
    int | None,
    Query(ge=1, le=_DAY_MS, description="Air time to fill; default the block's target, or 1 h."),
]


@router.get("/stations/{station}/smart-blocks", response_model=Page[SmartBlockOut])
async def list_blocks(
    request: Request, scope: Dj, page: Annotated[PageParams, Depends(page_params)]
) -> Page[SmartBlockOut]:
    """The station's smart blocks, by name."""
    async with context(request).sessions() as session:
        rows, total = await service.list_blocks(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        return page_of(rows, total, page, SmartBlockOut.of)


@router.post("/stations/{station}/smart-blocks", response_model=SmartBlockOut, status_code=201)
async def add_block(body: SmartBlockIn, request: Request, scope: Manager) -> SmartBlockOut:
    """A new smart block; its rules are checked as the planner will read them."""
    async with context(request).sessions() as session:
        await _validate(session, scope, body, None)
        row = await service.create_block(session, scope.station.id, body.model_dump())
        audit(session, request, scope, "smart_block.create", body.name, id=str(row.id))
        await session.commit()
        return SmartBlockOut.of(row)


@router.post("/stations/{station}/smart-blocks/preview", response_model=PreviewOut)
async def preview_unsaved(
    body: SmartBlockIn, request: Request, scope: Dj, start: StartQ = None, target_ms: TargetQ = None
) -> PreviewOut:
    """What a block with these settings would pick now (nothing is saved)."""
    async with context(request).sessions() as session:
        await _validate(session, scope, body, None)
        return await _preview(session, scope, _spec(body, "preview"), start, target_ms)


@router.get("/stations/{station}/smart-blocks/{block_id}", response_model=SmartBlockOut)
async def get_block(block_id: uuid.UUID, request: Request, scope: Dj) -> SmartBlockOut:
    """One smart block."""
    async with context(request).sessions() as session:
        row = await owned(session, SmartBlock, block_id, scope.station)
        return SmartBlockOut.of(row)


@router.put("/stations/{station}/smart-blocks/{block_id}", response_model=SmartBlockOut)
async def edit_block(
    block_id: uuid.UUID, body: SmartBlockIn, request: Request, scope: Manager
) -> SmartBlockOut:
    """Replace the block's settings and rules."""
    async with context(request).sessions() as session:
        row = await owned(session, SmartBlock, block_id, scope.station)
        await _validate(session, scope, body, row.id)
        await service.update_block(session, row, body.model_dump())
        audit(session, request, scope, "smart_block.update", body.name, id=str(row.id))
        await session.commit()
        return SmartBlockOut.of(row)


@router.delete("/stations/{station}/smart-blocks/{block_id}", status_code=204)
async def delete_block(block_id: uuid.UUID, request: Request, scope: Manager) -> Response:
    """Delete the block; slots, shows and blocks that used it lose the reference."""
    async with context(request).sessions() as session:
        row = await owned(session, SmartBlock, block_id, scope.station)
        audit(session, request, scope, "smart_block.delete", row.name, id=str(row.id))
        await programming.remove(session, row)
        await session.commit()
    return Response(status_code=204)


@router.post("/stations/{station}/smart-blocks/{block_id}/preview", response_model=PreviewOut)
async def preview_block(
    block_id: uuid.UUID,
    request: Request,
    scope: Dj,
    start: StartQ = None,
    target_ms: TargetQ = None,
) -> PreviewOut:
    """What the block would pick now from the READY library, with the relaxation report."""
    async with context(request).sessions() as session:
        row = await owned(session, SmartBlock, block_id, scope.station)
        return await _preview(session, scope, SmartBlockSpec.from_row(row), start, target_ms)


async def _preview(
    session: AsyncSession,
    scope: StationScope,
    spec: SmartBlockSpec,
    start: datetime | None,
    target_ms: int | None,
) -> PreviewOut:
    at = (start or datetime.now(UTC)).astimezone(UTC)
    target = target_ms if target_ms is not None else spec.target_ms
    if target is None and spec.limit.minutes is None:
        if spec.limit.items is None:
            target = 3_600_000
        elif spec.limit.items > _MAX_PREVIEW_ITEMS:
            raise Problem(
                422,
                f"a preview picks at most {_MAX_PREVIEW_ITEMS} tracks: pass target_ms or "
                "lower the block's limit.items",
            )
    sid = scope.station.id
    library = await TrackLibrary.load(session, sid)
    history = await PlayHistory.load(session, sid, at - timedelta(hours=24))
    blocks = await load_smart_blocks(session, sid)
    seed = hashlib.sha256(f"{sid}|{spec.id}|{at.isoformat()}".encode()).hexdigest()
    rng = random.Random(int(seed, 16))  # noqa: S311 — programming choices, not secrets
    matching = int(block_candidates(spec, library, at).index.size)
    result = fill(spec, library, history, at, target, rng, blocks=blocks)
    picks = [
        PickOut(
            media_id=uuid.UUID(track.id),
            starts_at=begin,
            duration_ms=track.duration_ms,
            title=track.title,
            artist=track.artist,
            album=track.album,
            genre=track.genre,
            year=track.year,
            source_block_id=_uuid(source),
        )
        for track, begin, source in zip(result.tracks, result.starts, result.sources, strict=True)
    ]
    return PreviewOut(
        start=at,
        target_ms=target,
        duration_ms=result.duration_ms,
        shortfall_ms=result.shortfall_ms,
        library_size=len(library),
        matching=matching,
        tracks=picks,
        relaxations=result.relaxations,
        notes=result.notes,
        used_block_id=_uuid(result.used_block_id),
        trim_last_to_ms=result.trim_last_to_ms,
    )


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return None if text is None else uuid.UUID(text)
    except ValueError:  # "preview": the unsaved block
        return None
