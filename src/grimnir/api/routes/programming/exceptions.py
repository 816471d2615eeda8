"""Show exceptions: cancel, move or substitute one occurrence of a show."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.audit import audit
from grimnir.api.auth import StationScope, context
from grimnir.api.problems import Problem
from grimnir.api.routes.programming.common import check_refs, finite_json, owned
from grimnir.api.routes.programming.shows import (
    _NEEDS,
    _REFS,
    ExceptionIn,
    Manager,
    ShowOut,
    _load,
    _out,
)
from grimnir.domain import NotFoundError, ShowExceptionKind
from grimnir.planner import zone
from grimnir.planner.shows import Content, occurrences
from grimnir.services import programming
from grimnir.services.programming import exceptions as service
from grimnir.store.models import Show

router = APIRouter(tags=["shows"])


async def _check_exception(
    session: AsyncSession, scope: StationScope, show: Show, body: ExceptionIn
) -> None:
    at = body.occurrence_start.astimezone(UTC)
    probe = Show(
        id=show.id,
        name=show.name,
        rrule=show.rrule,
        dtstart=show.dtstart,
        duration_ms=show.duration_ms,
        enabled=True,
        content=show.content,
    )
    ruled = occurrences(probe, [], zone(scope.station.timezone), at, at + timedelta(seconds=1))
    if not any(o.rule_start == at for o in ruled):
        raise Problem(
            422,
            f"occurrence_start: show {show.name!r} has no occurrence starting at "
            f"{at.isoformat()}: see GET …/shows/occurrences for the starts",
        )
    moves = body.new_start is not None or body.new_duration_ms is not None
    if body.kind is ShowExceptionKind.CANCEL and (moves or body.substitute):
        raise Problem(422, "kind: a cancel takes no new_start, new_duration_ms or substitute")
    if body.kind is ShowExceptionKind.MOVE and (not moves or body.substitute):
        raise Problem(422, "new_start: a move needs new_start and/or new_duration_ms only")
    if body.kind is ShowExceptionKind.SUBSTITUTE:
        if moves or not body.substitute:
            raise Problem(422, "substitute: a substitution needs substitute (and no move)")
        finite_json(body.substitute, "substitute")
        content = Content.from_show(show).substituted(body.substitute, "substitute")
        need = _NEEDS[content.kind]
        if need is not None and getattr(content, need) is None and content.rebroadcast_of is None:
            raise Problem(422, f"substitute.{need}: content {content.kind.value!r} needs {need}")
        await check_refs(
            session,
            scope.station,
            [(f"substitute.{k}", m, getattr(content, k)) for k, m in _REFS.items()],
        )
    await service.check_occurrence_free(session, show.id, at)


@router.post(
    "/stations/{station}/shows/{show_id}/exceptions", response_model=ShowOut, status_code=201
)
async def add_exception(
    show_id: uuid.UUID, body: ExceptionIn, request: Request, scope: Manager
) -> ShowOut:
    """Cancel, move or substitute one occurrence of the show."""
    async with context(request).sessions() as session:
        show = await _load(session, scope, show_id)
        await _check_exception(session, scope, show, body)
        row = await service.add_exception(
            session,
            show,
            occurrence_start=body.occurrence_start,
            kind=body.kind,
            new_start=body.new_start,
            new_duration_ms=body.new_duration_ms,
            substitute=body.substitute,
            note=body.note,
        )
        audit(
            session, request, scope, "show.exception", show.name, kind=body.kind.value,
            occurrence=row.occurrence_start.isoformat(),
        )  # fmt: skip
        await session.commit()
        return _out(await _load(session, scope, show.id))


@router.delete("/stations/{station}/shows/{show_id}/exceptions/{exception_id}", status_code=204)
async def delete_exception(
    show_id: uuid.UUID, exception_id: uuid.UUID, request: Request, scope: Manager
) -> Response:
    """Drop an exception: the occurrence airs as the rule says again."""
    async with context(request).sessions() as session:
        show = await owned(session, Show, show_id, scope.station)
        try:
            row = await service.show_exception(session, show, exception_id)
        except NotFoundError as e:
            raise Problem(404, f"{e}: see GET …/shows/{show_id}") from None
        audit(session, request, scope, "show.exception.delete", show.name, id=str(row.id))
        await programming.remove(session, row)
        await session.commit()
    return Response(status_code=204)
