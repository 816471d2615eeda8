"""Shows: recurring programmes (RRULE in the station's time zone), their
exceptions, and the occurrences of a window as the planner lays them out."""

from __future__ import annotations

import re
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
from grimnir.api.routes.programming.common import Description, Name, check_refs, owned
from grimnir.domain import PlannerError, ShowExceptionKind
from grimnir.planner import zone
from grimnir.planner.shows import occurrences, schedule
from grimnir.services import programming
from grimnir.services.programming import shows as service
from grimnir.store.models import (
    Clock,
    Playlist,
    Show,
    ShowContent,
    ShowException,
    SmartBlock,
    Webstream,
)

router = APIRouter(tags=["shows"])

_WEEK_MS = 7 * 86_400_000
_MAX_WINDOW = timedelta(days=31)
_REFS: dict[str, type[Any]] = {
    "clock_id": Clock,
    "playlist_id": Playlist,
    "smart_block_id": SmartBlock,
    "webstream_id": Webstream,
}
_NEEDS: dict[ShowContent, str | None] = {
    ShowContent.CLOCK: "clock_id",
    ShowContent.PLAYLIST: "playlist_id",
    ShowContent.SMART_BLOCK: "smart_block_id",
    ShowContent.WEBSTREAM: "webstream_id",
    ShowContent.LIVE: None,
}
_TOO_OFTEN = re.compile(r"FREQ\s*=\s*(SECONDLY|MINUTELY)", re.IGNORECASE)


class ShowIn(BaseModel):
    name: Name
    description: Description = ""
    rrule: str = Field(
        default="",
        max_length=1000,
        description="RFC 5545 rule in the station's time zone, e.g. FREQ=WEEKLY;BYDAY=MO,FR "
        "(empty: a one-off show at dtstart).",
    )
    dtstart: AwareDatetime = Field(description="First start, with a time zone.")
    duration_ms: int = Field(ge=1, le=_WEEK_MS)
    enabled: bool = True
    host_user_id: uuid.UUID | None = None
    content: ShowContent
    clock_id: uuid.UUID | None = None
    playlist_id: uuid.UUID | None = None
    smart_block_id: uuid.UUID | None = None
    webstream_id: uuid.UUID | None = None


class ExceptionIn(BaseModel):
    occurrence_start: AwareDatetime = Field(description="The start the rule gives it.")
    kind: ShowExceptionKind
    new_start: AwareDatetime | None = Field(default=None, description="move: the new start.")
    new_duration_ms: int | None = Field(default=None, ge=1, le=_WEEK_MS)
    substitute: dict[str, Any] = Field(
        default_factory=dict,
        description='substitute: e.g. {"content": "playlist", "playlist_id": "…"} or '
        '{"rebroadcast_of": "<UTC start of an earlier occurrence>"}',
    )
    note: str | None = Field(default=None, max_length=2000)


class ExceptionOut(ExceptionIn):
    id: uuid.UUID
    created_at: datetime


class ShowOut(ShowIn):
    id: uuid.UUID
    exceptions: list[ExceptionOut]
    created_at: datetime
    updated_at: datetime


class OccurrenceOut(BaseModel):
    show_id: uuid.UUID
    name: str
    start: datetime = Field(description="In the station's time zone.")
    end: datetime
    rule_start: datetime
    content: ShowContent
    clock_id: uuid.UUID | None
    playlist_id: uuid.UUID | None
    smart_block_id: uuid.UUID | None
    webstream_id: uuid.UUID | None
    rebroadcast_of: datetime | None
    host_user_id: uuid.UUID | None
    exception: ShowExceptionKind | None


class OverlapOut(BaseModel):
    """One conflict, as data: two shows claim ``start`` … ``end``; ``winner`` airs."""

    winner_show_id: uuid.UUID
    winner_name: str
    winner_rule_start: datetime = Field(description="The winning occurrence's rule start.")
    loser_show_id: uuid.UUID
    loser_name: str
    loser_rule_start: datetime = Field(description="The losing occurrence's rule start.")
    start: datetime = Field(description="In the station's time zone.")
    end: datetime


class OccurrencesOut(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    occurrences: list[OccurrenceOut]
    conflicts: list[str]
    overlaps: list[OverlapOut] = Field(
        description="The conflicts as data, in the order of ``conflicts`` (what a page "
        "marks on a calendar)."
    )
    warnings: list[str]


def _out(row: Show) -> ShowOut:
    return ShowOut.model_validate(
        {
            **{k: getattr(row, k) for k in ShowIn.model_fields},
            "id": row.id,
            "exceptions": [
                ExceptionOut.model_validate(e, from_attributes=True) for e in row.exceptions
            ],
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


def _expand(show: Show, tz_name: str, exceptions: list[ShowException]) -> None:
    """Run the planner over a month of the show: a bad RRULE or substitute is a 422."""
    text = show.rrule.strip()
    if "\n" in text or "\r" in text or (text and not text.upper().startswith(("RRULE:", "FREQ"))):
        raise Problem(
            422,
            f"rrule {text[:80]!r}: give one RRULE line, e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR "
            "(the start goes in dtstart)",
        )
    if _TOO_OFTEN.search(text):
        raise Problem(422, "rrule: a show may recur at most hourly (FREQ=HOURLY or coarser)")
    try:
        occurrences(show, exceptions, zone(tz_name), show.dtstart, show.dtstart + _MAX_WINDOW)
    except PlannerError as e:
        raise Problem(422, f"rrule: {e}") from None
    except (ValueError, TypeError, OverflowError, IndexError) as e:
        raise Problem(
            422, f"rrule {text[:80]!r} cannot be expanded ({e}); write e.g. FREQ=DAILY"
        ) from None


async def _validate(session: AsyncSession, scope: StationScope, body: ShowIn) -> None:
    need = _NEEDS[body.content]
    for key in _REFS:
        value = getattr(body, key)
        if key == need and value is None:
            raise Problem(422, f"{key}: content {body.content.value!r} needs {key}")
        if key != need and value is not None:
            raise Problem(
                422, f"{key}: does not apply to content {body.content.value!r}; leave it null"
            )
    await check_refs(session, scope.station, [(k, m, getattr(body, k)) for k, m in _REFS.items()])
    if body.host_user_id is not None and not await service.may_host(
        session, body.host_user_id, scope.station.id
    ):
        raise Problem(
            422,
            f"host_user_id: user {body.host_user_id} is not a member of station "
            f"{scope.station.short_name!r}: add them with PUT …/members/{{user_id}} first",
        )


async def _load(session: AsyncSession, scope: StationScope, show_id: uuid.UUID) -> Show:
    await owned(session, Show, show_id, scope.station)
    return await service.show_with_exceptions(session, show_id)


Dj = DjScope
Manager = ManagerScope


@router.get("/stations/{station}/shows", response_model=Page[ShowOut])
async def list_shows(
    request: Request, scope: Dj, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ShowOut]:
    """The station's shows with their exceptions, by name."""
    async with context(request).sessions() as session:
        rows, total = await service.list_shows(
            session, scope.station.id, limit=page.limit, offset=page.offset
        )
        return page_of(rows, total, page, _out)


@router.post("/stations/{station}/shows", response_model=ShowOut, status_code=201)
async def add_show(body: ShowIn, request: Request, scope: Manager) -> ShowOut:
    """A new show (a rebuild puts it on the timeline)."""
    async with context(request).sessions() as session:
        await _validate(session, scope, body)
        row = await service.create_show(session, scope.station.id, body.model_dump())
        _expand(row, scope.station.timezone, [])
        audit(session, request, scope, "show.create", body.name, id=str(row.id))
        await session.commit()
        return _out(await _load(session, scope, row.id))


@router.get("/stations/{station}/shows/occurrences", response_model=OccurrencesOut)
async def list_occurrences(
    request: Request,
    scope: Dj,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Window start; default now.")
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="Window end; default start + 7 days.")
    ] = None,
) -> OccurrencesOut:
    """Every show's occurrences in the window (≤ 31 days), exceptions applied and
    overlaps resolved as the planner does, in the station's time zone."""
    lo = (start or datetime.now(UTC)).astimezone(UTC)
    hi = end.astimezone(UTC) if end else lo + timedelta(days=7)
    if hi <= lo:
        raise Problem(422, "to must be after from")
    if hi - lo > _MAX_WINDOW:
        raise Problem(422, "the window is longer than 31 days: ask for a shorter from … to")
    tz = zone(scope.station.timezone)
    async with context(request).sessions() as session:
        rows = await service.all_shows(session, scope.station.id)
        shows = [(s, list(s.exceptions)) for s in rows]
    found = schedule(shows, tz, lo, hi)
    return OccurrencesOut(
        timezone=tz.key,
        start=lo.astimezone(tz),
        end=hi.astimezone(tz),
        occurrences=[
            OccurrenceOut(
                show_id=o.show_id,
                name=o.name,
                start=o.start.astimezone(tz),
                end=o.end.astimezone(tz),
                rule_start=o.rule_start.astimezone(tz),
                content=o.content.kind,
                clock_id=o.content.clock_id,
                playlist_id=o.content.playlist_id,
                smart_block_id=o.content.smart_block_id,
                webstream_id=o.content.webstream_id,
                rebroadcast_of=o.content.rebroadcast_of,
                host_user_id=o.host_user_id,
                exception=o.exception,
            )
            for o in found.occurrences
        ],
        conflicts=[c.describe(tz) for c in found.conflicts],
        overlaps=[
            OverlapOut(
                winner_show_id=c.winner.show_id,
                winner_name=c.winner.name,
                winner_rule_start=c.winner.rule_start.astimezone(tz),
                loser_show_id=c.loser.show_id,
                loser_name=c.loser.name,
                loser_rule_start=c.loser.rule_start.astimezone(tz),
                start=c.start.astimezone(tz),
                end=c.end.astimezone(tz),
            )
            for c in found.conflicts
        ],
        warnings=found.warnings,
    )


@router.get("/stations/{station}/shows/{show_id}", response_model=ShowOut)
async def get_show(show_id: uuid.UUID, request: Request, scope: Dj) -> ShowOut:
    """One show with its exceptions."""
    async with context(request).sessions() as session:
        return _out(await _load(session, scope, show_id))


@router.put("/stations/{station}/shows/{show_id}", response_model=ShowOut)
async def edit_show(show_id: uuid.UUID, body: ShowIn, request: Request, scope: Manager) -> ShowOut:
    """Replace the show's settings (its exceptions stay)."""
    async with context(request).sessions() as session:
        row = await _load(session, scope, show_id)
        await _validate(session, scope, body)
        await service.update_show(session, row, body.model_dump())
        _expand(row, scope.station.timezone, [])
        audit(session, request, scope, "show.update", body.name, id=str(row.id))
        await session.commit()
        return _out(await _load(session, scope, row.id))


@router.delete("/stations/{station}/shows/{show_id}", status_code=204)
async def delete_show(show_id: uuid.UUID, request: Request, scope: Manager) -> Response:
    """Delete the show and its exceptions."""
    async with context(request).sessions() as session:
        row = await owned(session, Show, show_id, scope.station)
        audit(session, request, scope, "show.delete", row.name, id=str(row.id))
        await programming.remove(session, row)
        await session.commit()
    return Response(status_code=204)
