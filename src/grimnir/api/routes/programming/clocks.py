"""Clocks: hour templates with slots (checked by the planner's slot validation),
and a simulation of what a clock would put on air."""

from __future__ import annotations

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
from grimnir.api.routes.programming.report import EntryOut, ReportOut
from grimnir.domain import SlotKind, Timing
from grimnir.planner import load_context, zone
from grimnir.planner.builder import plan
from grimnir.planner.clocks import HOUR_MS, ClockSpec, SlotSpec, validate_slots
from grimnir.planner.shows import ShowSchedule
from grimnir.services import programming
from grimnir.services.programming import clocks as service
from grimnir.store.models import Clock, MediaItem, Playlist, SmartBlock, Webstream

router = APIRouter(tags=["clocks"])


class SlotIn(BaseModel):
    name: str | None = Field(default=None, max_length=255)
    offset_ms: int = Field(ge=0, le=HOUR_MS, description="From the top of the hour.")
    duration_ms: int = Field(ge=1, le=HOUR_MS)
    kind: SlotKind
    timing: Timing = Timing.SOFT
    smart_block_id: uuid.UUID | None = None
    playlist_id: uuid.UUID | None = None
    media_id: uuid.UUID | None = None
    webstream_id: uuid.UUID | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class SlotOut(SlotIn):
    id: uuid.UUID
    position: int


class ClockIn(BaseModel):
    name: Name = Field(description="The clock named 'default' runs every hour without a show.")
    description: Description = ""
    slots: list[SlotIn] = Field(default_factory=list, max_length=500)


class ClockOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    slots: list[SlotOut]
    covered_ms: int = Field(description="How much of the hour the slots fill.")
    created_at: datetime
    updated_at: datetime


class SimulationOut(BaseModel):
    """What the clock would put on air, hour after hour, if it ran alone."""

    entries: list[EntryOut]
    report: ReportOut


def _specs(slots: list[SlotIn]) -> list[SlotSpec]:
    return [
        SlotSpec(
            offset_ms=s.offset_ms,
            duration_ms=s.duration_ms,
            kind=s.kind,
            timing=s.timing,
            position=i,
            name=s.name,
            smart_block_id=s.smart_block_id,
            playlist_id=s.playlist_id,
            media_id=s.media_id,
            webstream_id=s.webstream_id,
        )
        for i, s in enumerate(slots)
    ]


async def _validate(session: AsyncSession, scope: StationScope, body: ClockIn) -> None:
    """The planner's slot checks (inside the hour, no overlap, what each kind needs),
    then the references: 422 naming the slot."""
    specs = _specs(body.slots)
    errors: list[dict[str, Any]] = []
    own: set[str] = set()
    for i, spec in enumerate(specs):
        finite_json(body.slots[i].params, f"slots[{i}].params")
        for message in validate_slots([spec]):
            own.add(message)
            errors.append({"loc": ["body", "slots", str(i)], "msg": message})
    for message in validate_slots(specs):
        if message not in own:
            errors.append({"loc": ["body", "slots"], "msg": message})
    if errors:
        parts = "; ".join(
            f"{'slots[' + e['loc'][2] + ']' if len(e['loc']) > 2 else 'slots'}: {e['msg']}"
            for e in errors[:5]
        )
        raise Problem(422, f"fix the clock's slots: {parts}", errors=errors)
    refs: list[tuple[str, type[Any], uuid.UUID | None]] = []
    for i, s in enumerate(body.slots):
        refs += [
            (f"slots.{i}.smart_block_id", SmartBlock, s.smart_block_id),
            (f"slots.{i}.playlist_id", Playlist, s.playlist_id),
            (f"slots.{i}.media_id", MediaItem, s.media_id),
            (f"slots.{i}.webstream_id", Webstream, s.webstream_id),
        ]
    await check_refs(session, scope.station, refs)


def _out(row: Clock) -> ClockOut:
    slots = [SlotOut.model_validate(s, from_attributes=True) for s in row.slots]
    return ClockOut(
        id=row.id,
        name=row.name,
        description=row.description,
        slots=slots,
        covered_ms=sum(s.duration_ms for s in slots),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _load(session: AsyncSession, scope: StationScope, clock_id: uuid.UUID) -> Clock:
    await owned(session, Clock, clock_id, scope.station)
    return await service.clock_with_slots(session, clock_id)


Dj = DjScope
Manager = ManagerScope


@router.get("/stations/{station}/clocks", response_model=Page[ClockOut])
async def list_clocks(
    request: Request, scope: Dj, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ClockOut]:
    """The station's clocks with their slots, by name."""
    async with context(request).sessions() as session:
        rows, total = await service.list_clocks(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        return page_of(rows, total, page, _out)


@router.post("/stations/{station}/clocks", response_model=ClockOut, status_code=201)
async def add_clock(body: ClockIn, request: Request, scope: Manager) -> ClockOut:
    """A new clock with its slots."""
    async with context(request).sessions() as session:
        await _validate(session, scope, body)
        row = await service.create_clock(
            session,
            scope.station.id,
            name=body.name,
            description=body.description,
            slots=[s.model_dump() for s in body.slots],
        )
        audit(session, request, scope, "clock.create", body.name, id=str(row.id))
        await session.commit()
        return _out(await _load(session, scope, row.id))


@router.get("/stations/{station}/clocks/{clock_id}", response_model=ClockOut)
async def get_clock(clock_id: uuid.UUID, request: Request, scope: Dj) -> ClockOut:
    """One clock with its slots."""
    async with context(request).sessions() as session:
        return _out(await _load(session, scope, clock_id))


@router.put("/stations/{station}/clocks/{clock_id}", response_model=ClockOut)
async def edit_clock(
    clock_id: uuid.UUID, body: ClockIn, request: Request, scope: Manager
) -> ClockOut:
    """Replace the clock's name, description and slots (a rebuild applies it)."""
    async with context(request).sessions() as session:
        row = await owned(session, Clock, clock_id, scope.station)
        await _validate(session, scope, body)
        await service.update_clock(
            session,
            row,
            name=body.name,
            description=body.description,
            slots=[s.model_dump() for s in body.slots],
        )
        audit(session, request, scope, "clock.update", body.name, id=str(row.id))
        await session.commit()
        return _out(await _load(session, scope, row.id))


@router.delete("/stations/{station}/clocks/{clock_id}", status_code=204)
async def delete_clock(clock_id: uuid.UUID, request: Request, scope: Manager) -> Response:
    """Delete the clock; shows that used it lose the reference."""
    async with context(request).sessions() as session:
        row = await owned(session, Clock, clock_id, scope.station)
        audit(session, request, scope, "clock.delete", row.name, id=str(row.id))
        await programming.remove(session, row)
        await session.commit()
    return Response(status_code=204)


@router.post("/stations/{station}/clocks/{clock_id}/simulate", response_model=SimulationOut)
async def simulate_clock(
    clock_id: uuid.UUID,
    request: Request,
    scope: Dj,
    hours: Annotated[int, Query(ge=1, le=48, description="How many hours to simulate.")] = 1,
    start: Annotated[
        AwareDatetime | None,
        Query(description="First hour (rounded down to the hour); default the next hour."),
    ] = None,
) -> SimulationOut:
    """The planner's plan of this clock alone (no shows, nothing stored kept) for
    ``hours`` from ``start``, with its report. Nothing is written."""
    now = datetime.now(UTC)
    tz = zone(scope.station.timezone)
    local = (start or now + timedelta(hours=1)).astimezone(tz)
    begin = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    async with context(request).sessions() as session:
        row = await _load(session, scope, clock_id)
        spec = ClockSpec.from_row(row, row.slots)
        end = begin + timedelta(hours=hours)
        ctx = await load_context(session, scope.station.id, begin, end)
    ctx.default_clock = spec
    ctx.entries, ctx.later_planned = [], 0
    result = plan(ctx, ShowSchedule(), begin, end, now=min(now, begin), lock=timedelta(0))
    return SimulationOut(
        entries=[EntryOut.of(e) for e in result.report.entries],
        report=ReportOut.of(result.report),
    )
