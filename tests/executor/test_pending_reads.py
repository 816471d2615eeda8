"""The executor's every-poll reads: a station's pending entries, in air order, read
without walking the aired history behind them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import event, update

from grimnir.domain import EntryStatus
from grimnir.executor import _timeline as tl
from grimnir.store.models import TimelineEntry
from tests.executor._station import ORIGIN, Sessions, add_entry


async def _timeline(sessions: Sessions, station: uuid.UUID) -> list[uuid.UUID]:
    """Ten aired entries, then ten pending ones (the 5th and 6th share a start)."""
    ids = []
    for n in range(20):
        start = ORIGIN + timedelta(minutes=n if n != 15 else 14)
        ids.append((await add_entry(sessions, station, start, 60)).id)
    async with sessions() as session, session.begin():
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.id.in_(ids[:10]))
            .values(status=EntryStatus.AIRED)
        )
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.id == ids[10]).values(status="on_air")
        )
    return ids


async def test_pending_rows_come_in_air_order_up_to_until_then_at_least(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    ids = await _timeline(sessions, station_id)
    until = ORIGIN + timedelta(minutes=14)
    got = await tl.pending_rows(sessions, station_id, until)
    # 10..14 start by until, and 15 (moved to minute 14, later seq) too
    assert [row.id for row in got] == [*ids[10:15], ids[15]]
    assert got[0].status is EntryStatus.ON_AIR

    more = await tl.pending_rows(sessions, station_id, ORIGIN + timedelta(minutes=11), at_least=5)
    assert [row.id for row in more] == ids[10:15]
    everything = await tl.pending_rows(sessions, station_id, ORIGIN, at_least=100)
    assert [row.id for row in everything] == ids[10:]

    full = await tl.load_pending(sessions, station_id, until, at_least=8)
    assert [entry.id for entry in full] == ids[10:18]
    assert [entry.seq for entry in full] == sorted(entry.seq for entry in full)


async def test_the_poll_read_uses_the_pending_index_not_the_history(
    sessions: Sessions, station_id: uuid.UUID
) -> None:
    """On SQLite, whose planner needs no statistics: the read that runs on every poll
    searches the (station, status, start) index, so a year of aired entries costs it
    nothing."""
    await _timeline(sessions, station_id)
    engine = sessions.kw["bind"]
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await tl.pending_rows(sessions, station_id, ORIGIN + timedelta(minutes=14))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len(seen) == 1
    statement, params = seen[0]
    async with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return  # the others plan from statistics; the index is in their schema alike
        plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_timeline_entries_station_id_status_starts_at" in details, details
    assert "TEMP B-TREE" not in details, details  # sorted in Python, not by the database
