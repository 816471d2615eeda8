"""A station's timeline: read it, rebuild it, check it, and see what a rebuild
would change. Reads need the DJ role, a rebuild the manager role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from grimnir.api.audit import audit
from grimnir.api.auth import DjScope, ManagerScope, StationScope, context
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import Problem
from grimnir.api.routes.programming.report import DiffOut, EntryOut, ReportOut
from grimnir.bus import SCHEDULE_UPDATED, Event
from grimnir.domain import NotFoundError
from grimnir.planner.builder import LOCK, BuildReport, build, simulate
from grimnir.planner.reports import PlannedEntry, diff
from grimnir.services import timeline

router = APIRouter(tags=["timeline"])

MAX_HOURS = 14 * 24
REBUILD_HOURS = 48.0
"""What a rebuild plans unless told otherwise (as the rolling planner of ``grimnir up``)."""

Dj = DjScope
Manager = ManagerScope
HoursQ = Annotated[
    float, Query(gt=0, le=MAX_HOURS, description="Length of the window in hours (≤ 14 days).")
]
FromQ = Annotated[
    AwareDatetime | None, Query(alias="from", description="Window start (with zone); default now.")
]


@router.get("/stations/{station}/timeline", response_model=Page[EntryOut])
async def list_timeline(
    request: Request,
    scope: Dj,
    page: Annotated[PageParams, Depends(page_params)],
    start: FromQ = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="Window end; default from + 24 h.")
    ] = None,
) -> Page[EntryOut]:
    """Stored entries overlapping ``from`` … ``to``, in air order."""
    lo = (start or datetime.now(UTC)).astimezone(UTC)
    hi = end.astimezone(UTC) if end else lo + timedelta(hours=24)
    if hi <= lo:
        raise Problem(422, "to must be after from")
    async with context(request).sessions() as session:
        rows, total = await timeline.entries_overlapping(
            session, scope.station.id, lo, hi, limit=page.limit, offset=page.offset
        )
        items = [EntryOut.of_row(r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/stations/{station}/timeline/check", response_model=ReportOut)
async def check_timeline(request: Request, scope: Dj, hours: HoursQ = 48) -> ReportOut:
    """What a build from now would run into (as ``grimnir plan check``): show
    conflicts, gaps, under-filled slots and relaxed rules. Nothing is written."""
    now = datetime.now(UTC)
    report = await simulate(context(request).sessions, scope.station.id, now, hours, now=now)
    return ReportOut.of(report)


@router.get("/stations/{station}/timeline/{entry_id}", response_model=EntryOut)
async def get_entry(entry_id: uuid.UUID, request: Request, scope: Dj) -> EntryOut:
    """One timeline entry."""
    async with context(request).sessions() as session:
        try:
            row = await timeline.get_entry(session, scope.station.id, entry_id)
        except NotFoundError:
            short = scope.station.short_name
            raise Problem(
                404,
                f"no timeline entry {entry_id} on station {short!r} (a rebuild replaces planned "
                f"entries): see GET /api/v1/stations/{short}/timeline",
            ) from None
    return EntryOut.of_row(row)


@router.post("/stations/{station}/timeline/rebuild", response_model=ReportOut)
async def rebuild_timeline(
    request: Request, scope: Manager, hours: HoursQ = REBUILD_HOURS, start: FromQ = None
) -> ReportOut:
    """Plan ``hours`` from ``from`` and store it: planned entries from two minutes
    ahead on are replaced, aired and queued ones stay. Publishes ``schedule.updated``."""
    now = datetime.now(UTC)
    begin = (start or now).astimezone(UTC)
    return ReportOut.of(await rebuild(request, scope, begin, hours, now=now))


async def rebuild(
    request: Request,
    scope: StationScope,
    begin: datetime,
    hours: float = REBUILD_HOURS,
    *,
    now: datetime,
    **details: Any,
) -> BuildReport:
    """Plan ``hours`` from ``begin`` for the scope's station and store it, audit it as
    ``timeline.rebuild`` (with ``details``) and publish ``schedule.updated``: what
    ``POST …/timeline/rebuild`` does, for routes whose change the timeline must follow."""
    ctx = context(request)
    report = await build(ctx.sessions, scope.station.id, begin, hours, now=now)
    async with ctx.sessions() as session:
        audit(
            session, request, scope, "timeline.rebuild", scope.station.short_name,
            start=report.start.isoformat(), end=report.end.isoformat(),
            planned=len(report.entries), removed=report.removed, **details,
        )  # fmt: skip
        await session.commit()
    await ctx.bus.publish(
        Event.now(
            SCHEDULE_UPDATED,
            str(scope.station.id),
            start=report.start.isoformat(),
            end=report.end.isoformat(),
            planned=len(report.entries),
            removed=report.removed,
        )
    )
    return report


@router.post("/stations/{station}/timeline/diff", response_model=DiffOut)
async def diff_timeline(
    request: Request, scope: Dj, hours: HoursQ = 48, start: FromQ = None
) -> DiffOut:
    """What ``POST …/timeline/rebuild`` with the same window would add, remove and
    change, and why; nothing is written."""
    ctx = context(request)
    now = datetime.now(UTC)
    begin = (start or now).astimezone(UTC)
    report = await simulate(ctx.sessions, scope.station.id, begin, hours, now=now)
    async with ctx.sessions() as session:
        # NOTE: queued entries too: a rebuild replaces them like planned ones
        rows = await timeline.replanable_from(session, scope.station.id, now + LOCK)
        old = [PlannedEntry.from_row(r) for r in rows]
    return DiffOut.of(diff(old, report.entries), report)
