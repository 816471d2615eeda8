"""``executor_states``: the state, current entry and position each executor last reported.

The UI shows it; it is written at most once a second (and on every state or
item change), so a database round trip per poll is not needed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, select, update
from sqlalchemy.exc import SQLAlchemyError

from grimnir.executor._timeline import parse_uuid
from grimnir.store.models import ExecutorStateRecord, TimelineEntry

if TYPE_CHECKING:
    from grimnir.executor.station import StationExecutor

log = logging.getLogger("grimnir.executor")

EVERY_S = 1.0


class StateRow:
    """One executor's ``executor_states`` row: remembers what it last wrote, so an
    unchanged state and item are written at most every ``EVERY_S``."""

    def __init__(self) -> None:
        self._last: tuple[object, datetime] | None = None

    async def save(self, ex: StationExecutor, now: datetime) -> None:
        """Upsert the row from ``ex`` (never raises: it is advisory)."""
        key = (ex.state, ex.current)
        seen = self._last
        if seen is not None and seen[0] == key and (now - seen[1]).total_seconds() < EVERY_S:
            return
        self._last = (key, now)
        await _upsert(ex, now)


async def _upsert(ex: StationExecutor, now: datetime) -> None:
    entry = parse_uuid(ex.current)
    try:
        async with ex.sessions() as session, session.begin():
            # NOTE: one statement for the usual case (the row is there); the current
            # entry only if the planner has not rebuilt it away under us
            table = cast(Table, ExecutorStateRecord.__table__)
            current = (
                None
                if entry is None
                else select(TimelineEntry.id).where(TimelineEntry.id == entry).scalar_subquery()
            )
            saved = await session.execute(
                update(table)
                .where(table.c.station_id == ex.station_uuid)
                .values(
                    state=ex.state,
                    current_entry_id=current,
                    position_ms=ex.position_ms(now),
                    updated_at=now,
                )
            )
            if getattr(saved, "rowcount", 0):
                return
            if entry is not None and await session.get(TimelineEntry, entry) is None:
                entry = None  # the planner rebuilt the timeline under us
            row = await session.get(ExecutorStateRecord, ex.station_uuid)
            if row is None:
                row = ExecutorStateRecord(station_id=ex.station_uuid)
                session.add(row)
            row.state = ex.state
            row.current_entry_id = entry
            row.position_ms = ex.position_ms(now)
            row.updated_at = now
    except SQLAlchemyError as exc:
        log.warning("station %s: executor state not saved: %s", ex.station_key, exc)
