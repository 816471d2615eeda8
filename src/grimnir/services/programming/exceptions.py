"""Show exceptions: one occurrence of a show cancelled, moved or substituted."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError, NotFoundError, ShowExceptionKind
from grimnir.store.models import Show, ShowException


async def check_occurrence_free(
    session: AsyncSession, show_id: uuid.UUID, occurrence_start: datetime
) -> None:
    """``ConflictError`` when the occurrence (its UTC start as the rule gives it)
    already has an exception."""
    taken = await session.scalar(
        select(func.count()).where(
            ShowException.show_id == show_id, ShowException.occurrence_start == occurrence_start
        )
    )
    if taken:
        raise ConflictError(
            f"the occurrence at {occurrence_start.isoformat()} already has an exception: "
            "delete it first"
        )


async def add_exception(
    session: AsyncSession,
    show: Show,
    *,
    occurrence_start: datetime,
    kind: ShowExceptionKind,
    new_start: datetime | None,
    new_duration_ms: int | None,
    substitute: Mapping[str, Any],
    note: str | None,
) -> ShowException:
    """A new exception of ``show`` (times stored in UTC); see ``check_occurrence_free``."""
    row = ShowException(
        show_id=show.id,
        occurrence_start=occurrence_start.astimezone(UTC),
        kind=kind,
        new_start=None if new_start is None else new_start.astimezone(UTC),
        new_duration_ms=new_duration_ms,
        substitute=dict(substitute),
        note=note,
    )
    session.add(row)
    return row


async def show_exception(
    session: AsyncSession, show: Show, exception_id: uuid.UUID
) -> ShowException:
    """The show's exception ``exception_id``; ``NotFoundError`` when the show has none
    of that id."""
    row = await session.get(ShowException, exception_id)
    if row is None or row.show_id != show.id:
        raise NotFoundError(f"show {show.name!r} has no exception {exception_id}")
    return row
