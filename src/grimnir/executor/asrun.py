"""The as-run log: what really aired, written from engine events, not from the plan.

Every ``item.started`` the engine reports opens one ``as_run`` row (its UTC
time is the engine frame the first sample aired); the matching ``item.ended``
closes it with how it ended (finished, skipped, pre-empted, error). Items the
engine dropped without airing (``aired: false``) leave no row. Live DJs are
logged twice: a row in ``live_sessions`` (connected → disconnected) and an
as-run row for the time their audio held the air.

``export_rows`` / ``to_csv`` / ``to_json`` serve ``grimnir asrun export``
(the log a station hands its royalty societies and regulators).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EndReason, Priority
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.client import EngineEventRecord
from grimnir.executor._timeline import Sessions
from grimnir.store.models import AsRun, LiveSession, MediaItem, TimelineEntry

RELAY_PREFIX = "relay-"
"""Item ids of a web stream moved to another URL by hand (the API's failover):
such an item gets its own row, even while the one it replaces is still open."""

ADOPT_WINDOW = timedelta(seconds=30)
"""A session the API opened this recently on the mount is the one the engine reports."""

EXPORT_FIELDS = (
    "id",
    "started_at",
    "ended_at",
    "duration_ms",
    "end_reason",
    "layer",
    "priority",
    "title",
    "artist",
    "album",
    "timeline_entry_id",
    "media_id",
)
"""Columns of an export, in order (CSV header, JSON keys)."""


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class AsRunLog:
    """Writes one station's ``as_run`` and ``live_sessions`` rows from engine events."""

    def __init__(self, station_id: uuid.UUID, sessions: Sessions) -> None:
        self.station_id = station_id
        self._sessions = sessions
        self._open: dict[str, uuid.UUID] = {}
        """Engine item id → open as-run row."""
        self._live_row: uuid.UUID | None = None
        self._live_title = ""
        self._sessions_open: dict[str, uuid.UUID] = {}
        """Harbor mount → open live session row."""

    async def item_started(self, record: EngineEventRecord, priority: Priority) -> uuid.UUID:
        """Open (or, for a resumed item, keep) the row of the item that started."""
        data = record.data
        item_id = str(data.get("item_id", ""))
        entry_id = _uuid(data.get("entry_id"))
        async with self._sessions() as session, session.begin():
            if entry_id is not None and await session.get(TimelineEntry, entry_id) is None:
                # NOTE: a rebuild replaced the entry after the engine had it: what aired
                # is logged all the same, without the link to a row that is gone
                entry_id = None
            row: AsRun | None = None
            if entry_id is not None:
                # NOTE: an item resumed after an engine restart continues its row.
                row = await session.scalar(
                    select(AsRun).where(
                        AsRun.timeline_entry_id == entry_id, AsRun.ended_at.is_(None)
                    )
                )
                if (
                    row is not None
                    and item_id.startswith(RELAY_PREFIX)
                    and row.id in self._open.values()
                ):
                    row = None  # a forced web-stream failover airs beside the old relay
            if row is None:
                media_id = _uuid(data.get("media_id"))
                album = None
                if media_id is not None:
                    album = await session.scalar(
                        select(MediaItem.album).where(MediaItem.id == media_id)
                    )
                title, artist = str(data.get("title") or ""), str(data.get("artist") or "")
                if entry_id is not None and not title:
                    # jingles go to the engine without metadata; the log keeps the plan's text
                    found = (
                        await session.execute(
                            select(TimelineEntry.title, TimelineEntry.artist).where(
                                TimelineEntry.id == entry_id
                            )
                        )
                    ).first()
                    if found is not None:
                        title, artist = found[0] or "", found[1] or ""
                row = AsRun(
                    station_id=self.station_id,
                    timeline_entry_id=entry_id,
                    media_id=media_id,
                    title=title or None,
                    artist=artist or None,
                    album=album,
                    started_at=record.time,
                    priority=priority,
                    layer=str(data.get("layer") or "automation"),
                )
                session.add(row)
                await session.flush()
            self._open[item_id] = row.id
            return row.id

    async def item_ended(
        self, record: EngineEventRecord, reason: EndReason, priority: Priority
    ) -> None:
        """Close the item's row; an item that started before this executor ran gets
        its row now (its start comes from the event's ``start_frame``)."""
        data = record.data
        item_id = str(data.get("item_id", ""))
        entry_id = _uuid(data.get("entry_id") or item_id)
        row_id = self._open.pop(item_id, None)
        async with self._sessions() as session, session.begin():
            row = None if row_id is None else await session.get(AsRun, row_id)
            if row is None and entry_id is not None:
                row = await session.scalar(
                    select(AsRun).where(
                        AsRun.timeline_entry_id == entry_id, AsRun.ended_at.is_(None)
                    )
                )
            if row is None:
                start_frame = int(data.get("start_frame", record.frame))
                started = record.time - timedelta(
                    seconds=(record.frame - start_frame) / SAMPLE_RATE
                )
                entry = None if entry_id is None else await session.get(TimelineEntry, entry_id)
                row = AsRun(
                    station_id=self.station_id,
                    timeline_entry_id=None if entry is None else entry.id,
                    media_id=None if entry is None else entry.media_id,
                    title=None if entry is None else entry.title,
                    artist=None if entry is None else entry.artist,
                    started_at=started,
                    priority=priority,
                    layer=str(data.get("layer") or "automation"),
                )
                session.add(row)
            row.ended_at = max(record.time, row.started_at)
            row.end_reason = reason

    async def cut(self, item_id: str, entry_id: uuid.UUID, at: datetime, reason: EndReason) -> bool:
        """Close the open row of an item whose engine died under it and that is not
        resumed (its slot is over): it left the air at ``at``. False: no open row."""
        row_id = self._open.pop(item_id, None)
        async with self._sessions() as session, session.begin():
            row = None if row_id is None else await session.get(AsRun, row_id)
            if row is None or row.ended_at is not None:
                row = await session.scalar(
                    select(AsRun)
                    .where(AsRun.timeline_entry_id == entry_id, AsRun.ended_at.is_(None))
                    .order_by(AsRun.started_at.desc())
                    .limit(1)
                )
            if row is None:
                return False
            row.ended_at = max(at, row.started_at)
            row.end_reason = reason
        return True

    async def latest(self) -> datetime | None:
        """The latest moment the log holds for the station (a start or an end)."""
        async with self._sessions() as session:
            started, ended = (
                await session.execute(
                    select(func.max(AsRun.started_at), func.max(AsRun.ended_at)).where(
                        AsRun.station_id == self.station_id
                    )
                )
            ).one()
        found = [t for t in (started, ended) if t is not None]
        return max(found) if found else None

    async def live_connected(self, record: EngineEventRecord) -> None:
        """A DJ connected to the harbor (or, on a bare engine, a live source started)."""
        mount = str(record.data.get("mount") or "")
        if mount in self._sessions_open:
            return
        async with self._sessions() as session, session.begin():
            # NOTE: the API's harbor check records the session (with the DJ's account)
            # just before the engine reports the connection: continue that row.
            row = await session.scalar(
                select(LiveSession)
                .where(
                    LiveSession.station_id == self.station_id,
                    LiveSession.mount == (mount or "(live)"),
                    LiveSession.disconnected_at.is_(None),
                    LiveSession.connected_at >= record.time - ADOPT_WINDOW,
                )
                .order_by(LiveSession.connected_at.desc())
                .limit(1)
            )
            if row is None:
                row = LiveSession(
                    station_id=self.station_id,
                    mount=mount or "(live)",
                    connected_at=record.time,
                    remote_addr=_text(
                        record.data.get("remote_addr") or record.data.get("peer"), 64
                    ),
                    user_agent=_text(record.data.get("user_agent"), 512),
                )
                session.add(row)
                await session.flush()
            self._sessions_open[mount] = row.id

    async def live_disconnected(self, record: EngineEventRecord) -> None:
        mount = str(record.data.get("mount") or "")
        row_id = self._sessions_open.pop(mount, None)
        if row_id is None:
            return
        async with self._sessions() as session, session.begin():
            row = await session.get(LiveSession, row_id)
            if row is not None and row.disconnected_at is None:
                row.disconnected_at = max(record.time, row.connected_at)

    async def live_on_air(self, record: EngineEventRecord, priority: Priority) -> None:
        """The live source's audio took the air (``live.started``)."""
        await self.live_connected(record)
        mount = str(record.data.get("mount") or "")
        self._live_title = f"Live on {mount}" if mount else "Live"
        async with self._sessions() as session, session.begin():
            row = AsRun(
                station_id=self.station_id,
                title=self._live_title,
                started_at=record.time,
                priority=priority,
                layer="live",
            )
            session.add(row)
            await session.flush()
            self._live_row = row.id

    async def live_paused(self, record: EngineEventRecord, reason: EndReason) -> None:
        """The live layer left the air within the session: the DJ's audio stopped (a
        dropout, a disconnect: automation is heard, ``FINISHED``) or an alert took over
        (``PREEMPTED``). The live row ends here; ``live_resumed`` opens the next."""
        row_id, self._live_row = self._live_row, None
        if row_id is None:
            return
        async with self._sessions() as session, session.begin():
            row = await session.get(AsRun, row_id)
            if row is not None and row.ended_at is None:
                row.ended_at = max(record.time, row.started_at)
                row.end_reason = reason

    async def live_resumed(self, record: EngineEventRecord, priority: Priority) -> None:
        """The DJ's audio is back on air within the same session: a new live row."""
        if self._live_row is not None:
            return
        async with self._sessions() as session, session.begin():
            row = AsRun(
                station_id=self.station_id,
                title=self._live_title or "Live",
                started_at=record.time,
                priority=priority,
                layer="live",
            )
            session.add(row)
            await session.flush()
            self._live_row = row.id

    async def live_off_air(self, record: EngineEventRecord) -> None:
        """The live source left the air (``live.ended``: disconnected, timeout, error…)."""
        reason = str(record.data.get("reason") or "")
        row_id, self._live_row = self._live_row, None
        if row_id is not None:
            async with self._sessions() as session, session.begin():
                row = await session.get(AsRun, row_id)
                if row is not None and row.ended_at is None:
                    row.ended_at = max(record.time, row.started_at)
                    row.end_reason = EndReason.ERROR if reason == "error" else EndReason.FINISHED
        await self.live_disconnected(record)


def _text(value: Any, limit: int) -> str | None:
    return None if value in (None, "") else str(value)[:limit]


# -- export ------------------------------------------------------------------------------


async def export_rows(
    session: AsyncSession,
    station_id: uuid.UUID,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """As-run rows of a station that started in ``[since, until)``, oldest first."""
    query = select(AsRun).where(AsRun.station_id == station_id)
    if since is not None:
        query = query.where(AsRun.started_at >= since)
    if until is not None:
        query = query.where(AsRun.started_at < until)
    rows = (await session.scalars(query.order_by(AsRun.started_at, AsRun.id))).all()
    return [_row_dict(row) for row in rows]


def _row_dict(row: AsRun) -> dict[str, Any]:
    duration = ended = None
    if row.ended_at is not None:
        ended = row.ended_at.isoformat(timespec="milliseconds")
        duration = round((row.ended_at - row.started_at) / timedelta(milliseconds=1))
    return {
        "id": str(row.id),
        "started_at": row.started_at.isoformat(timespec="milliseconds"),
        "ended_at": ended,
        "duration_ms": duration,
        "end_reason": None if row.end_reason is None else row.end_reason.value,
        "layer": row.layer,
        "priority": row.priority.key,
        "title": row.title,
        "artist": row.artist,
        "album": row.album,
        "timeline_entry_id": None if row.timeline_entry_id is None else str(row.timeline_entry_id),
        "media_id": None if row.media_id is None else str(row.media_id),
    }


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV with a header line; missing values are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in EXPORT_FIELDS})
    return buffer.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    """Read :func:`to_csv` output back into export rows (empty cells → None)."""
    rows: list[dict[str, Any]] = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {key: (raw.get(key) or None) for key in EXPORT_FIELDS}
        if row["duration_ms"] is not None:
            row["duration_ms"] = int(row["duration_ms"])
        rows.append(row)
    return rows
