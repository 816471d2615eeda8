"""The as-run log over HTTP: what really aired, as pages of JSON or as CSV
(the same file ``grimnir asrun export --format csv`` writes)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from grimnir.api.auth import DjDep, StationScope, context
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import Problem
from grimnir.executor import export_rows, to_csv
from grimnir.services import playout
from grimnir.store.models import AsRun

router = APIRouter(tags=["as-run"])


class AsRunOut(BaseModel):
    """One item that aired (``ended_at`` is null while it is on air)."""

    id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    duration_ms: int | None
    end_reason: str | None
    layer: str
    priority: str
    title: str | None
    artist: str | None
    album: str | None
    timeline_entry_id: uuid.UUID | None
    media_id: uuid.UUID | None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise Problem(422, f"{value.isoformat()} is out of range: give a nearer time") from None


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime | None, ...]:
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since >= until:
        raise Problem(422, "`from` must be before `to` (both are ISO 8601 times, UTC if no zone)")
    return since, until


From = Annotated[
    datetime | None,
    Query(alias="from", description="Items that started at or after this time (UTC if no zone)."),
]
To = Annotated[datetime | None, Query(alias="to", description="…and before this time.")]


def _out(row: AsRun) -> AsRunOut:
    duration = None
    if row.ended_at is not None:
        duration = round((row.ended_at - row.started_at).total_seconds() * 1000)
    return AsRunOut(
        id=row.id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=duration,
        end_reason=None if row.end_reason is None else row.end_reason.value,
        layer=row.layer,
        priority=row.priority.key,
        title=row.title,
        artist=row.artist,
        album=row.album,
        timeline_entry_id=row.timeline_entry_id,
        media_id=row.media_id,
    )


@router.get("/stations/{station}/asrun", response_model=Page[AsRunOut])
async def list_asrun(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    page: Annotated[PageParams, Depends(page_params)],
    since: From = None,
    until: To = None,
) -> Page[AsRunOut]:
    """What aired, newest first, optionally within ``[from, to)``."""
    since, until = _window(since, until)
    async with context(request).sessions() as session:
        rows, total = await playout.asrun_page(
            session, scope.station.id, since, until, limit=page.limit, offset=page.offset
        )
        items = [_out(row) for row in rows]
    return Page[AsRunOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/stations/{station}/asrun.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The as-run log as CSV."}},
)
async def export_asrun(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    since: From = None,
    until: To = None,
) -> Response:
    """The as-run log within ``[from, to)`` as CSV, oldest first (for royalty reports)."""
    since, until = _window(since, until)
    async with context(request).sessions() as session:
        rows = await export_rows(session, scope.station.id, since, until)
    name = f"asrun-{scope.station.short_name}.csv"
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
