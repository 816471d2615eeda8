"""Reading the compliance log: pages, one alert, a month as CSV, JSON or a printable page.

Read only: nothing here (nor anywhere a station role reaches) deletes a row.
"""

from __future__ import annotations

import csv
import html
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import NotFoundError
from grimnir.services.paging import rows_page
from grimnir.store.models import EasAiring, EasAlert, Station

DECISIONS = ("relay", "filter", "duplicate", "cancel", "rejected")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One alert of the log with its airings."""

    alert: EasAlert
    airings: tuple[EasAiring, ...]


def month_range(month: str) -> tuple[datetime, datetime]:
    """``2026-12`` → its first instant and the next month's (UTC); ValueError if bad."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"month {month!r}: write it as YYYY-MM, like 2026-12") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _where(
    station_id: uuid.UUID, month: str | None, decision: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [EasAlert.station_id == station_id]
    if month is not None:
        start, end = month_range(month)
        where += [EasAlert.received_at >= start, EasAlert.received_at < end]
    if decision is not None:
        if decision not in DECISIONS:
            raise ValueError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
        where.append(EasAlert.decision == decision)
    return where


async def _with_airings(session: AsyncSession, rows: Sequence[EasAlert]) -> list[LogEntry]:
    ids = [row.id for row in rows]
    airings: dict[uuid.UUID, list[EasAiring]] = {i: [] for i in ids}
    if ids:
        found = await session.scalars(
            select(EasAiring).where(EasAiring.alert_id.in_(ids)).order_by(EasAiring.started_at)
        )
        for airing in found:
            airings[airing.alert_id].append(airing)
    return [LogEntry(row, tuple(airings[row.id])) for row in rows]


async def page(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    month: str | None,
    decision: str | None,
    limit: int,
    offset: int,
) -> tuple[list[LogEntry], int]:
    """One page of the log, newest first, and how many entries match."""
    rows, total = await rows_page(
        session,
        EasAlert,
        limit=limit,
        offset=offset,
        where=_where(station_id, month, decision),
        order_by=[EasAlert.received_at.desc(), EasAlert.id],
    )
    return await _with_airings(session, rows), total


async def entry(session: AsyncSession, station_id: uuid.UUID, alert_id: uuid.UUID) -> LogEntry:
    """One alert of the station's log; :class:`NotFoundError` when it has none such."""
    row = await session.get(EasAlert, alert_id)
    if row is None or row.station_id != station_id:
        raise NotFoundError(f"no alert {alert_id} in this station's log")
    return (await _with_airings(session, [row]))[0]


async def month_entries(session: AsyncSession, station_id: uuid.UUID, month: str) -> list[LogEntry]:
    """The month's whole log, oldest first."""
    rows = (
        await session.scalars(
            select(EasAlert)
            .where(*_where(station_id, month, None))
            .order_by(EasAlert.received_at, EasAlert.id)
        )
    ).all()
    return await _with_airings(session, rows)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def original_text(row: EasAlert) -> str:
    """The original message as text (CAP is XML; bytes that are not UTF-8 are escaped)."""
    return bytes(row.original).decode("utf-8", errors="backslashreplace")


def as_dict(item: LogEntry, *, original: bool = False) -> dict[str, Any]:
    """A log entry as plain JSON values (``original``: with the message itself)."""
    row = item.alert
    data: dict[str, Any] = {
        "id": str(row.id),
        "received_at": _iso(row.received_at),
        "source": row.source,
        "identifier": row.identifier,
        "sender": row.sender,
        "sent": _iso(row.sent) or None,
        "msg_type": row.msg_type,
        "event": row.event,
        "same_header": row.same_header,
        "decision": row.decision,
        "reason": row.reason,
        "expires": _iso(row.expires) or None,
        "airings": [
            {
                "id": str(a.id),
                "started_at": _iso(a.started_at),
                "ended_at": _iso(a.ended_at) or None,
                "ended_how": a.ended_how,
                "latency_frames": a.latency_frames,
                "outputs": list(a.outputs or []),
            }
            for a in item.airings
        ],
    }
    if original:
        data["original"] = original_text(row)
    return data


def _outputs_text(outputs: Sequence[dict[str, Any]], sep: str) -> str:
    return sep.join(f"{o.get('mount')}/{o.get('output')} ({o.get('type')})" for o in outputs)


def _blank(value: Any) -> Any:
    return "" if value is None else value


CSV_FIELDS = (
    "received_at", "source", "identifier", "sender", "sent", "msg_type", "event",
    "same_header", "decision", "reason", "expires", "aired_from", "aired_to", "ended_how",
    "outputs", "latency_frames",
)  # fmt: skip


def as_csv(items: Sequence[LogEntry]) -> str:
    """The entries as CSV, one row per alert and airing (an alert not aired: one row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for item in items:
        base = as_dict(item)
        airings: list[dict[str, Any]] = base["airings"] or [{}]
        for airing in airings:
            outputs = _outputs_text(airing.get("outputs", []), ";")
            writer.writerow(
                [_blank(base[k]) for k in CSV_FIELDS[:11]]
                + [
                    airing.get("started_at") or "",
                    airing.get("ended_at") or "",
                    airing.get("ended_how") or "",
                    outputs,
                    _blank(airing.get("latency_frames")),
                ]
            )
    return out.getvalue()


def as_html(station: Station, month: str, items: Sequence[LogEntry]) -> str:
    """A printable monthly log: each alert received, what was decided and why, and
    each airing with its start and end on every output."""
    e = html.escape
    rows: list[str] = []
    for item in items:
        data = as_dict(item)
        aired = "".join(
            f"<li>{e(a['started_at'])} – {e(a['ended_at'] or 'on air')} "
            f"({e(a['ended_how'] or 'airing')}) on "
            f"{e(_outputs_text(a['outputs'], ', ') or 'no outputs')}"
            "</li>"
            for a in data["airings"]
        )
        rows.append(
            "<tr>"
            f"<td>{e(data['received_at'])}</td><td>{e(data['source'])}</td>"
            f"<td>{e(data['event'] or '')}<br><small>{e(data['identifier'] or '')}</small></td>"
            f"<td><code>{e(data['same_header'] or '')}</code></td>"
            f"<td>{e(data['decision'])}</td><td>{e(data['reason'])}</td>"
            f"<td><ul>{aired}</ul></td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="7">No alerts were received this month.</td></tr>'
    title = f"Emergency alert log — {station.name} ({station.short_name}) — {month}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font: 11pt sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #888; padding: 4px; vertical-align: top; text-align: left; }}
code {{ font-size: 9pt; word-break: break-all; }}
@media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
<h1>{e(title)}</h1>
<p>Times are UTC. Every alert the station received is listed, with the decision taken
and why; aired alerts list each airing with its start and end on the station's outputs.</p>
<table>
<thead><tr><th>Received</th><th>Source</th><th>Event</th><th>SAME header</th>
<th>Decision</th><th>Reason</th><th>Aired</th></tr></thead>
<tbody>
{body}
</tbody></table>
<p>Generated {e(datetime.now(UTC).isoformat(timespec="seconds"))}.</p>
</body></html>
"""
