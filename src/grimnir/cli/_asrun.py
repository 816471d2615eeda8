"""``grimnir asrun``: the as-run log (what really aired) for royalty and compliance reports."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.cli._common import current_settings, fail, out, with_session

asrun_app = typer.Typer(help="The as-run log: what aired, when, and how it ended.")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _when(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not an ISO 8601 time; write e.g. 2026-11-25T18:00:00Z")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@asrun_app.command("export")
def export_command(
    station: Annotated[str, typer.Option("--station", help="Station id or short name.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = (
        ExportFormat.CSV
    ),
    since: Annotated[
        str | None, typer.Option("--since", help="Only items that started at or after (ISO).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only items that started before (ISO).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Export the as-run log of a station, oldest first (times in UTC)."""
    from grimnir.executor.asrun import export_rows, to_csv, to_json
    from grimnir.services.stations import get_station

    start, end = _when(since, "--since"), _when(until, "--until")
    if start is not None and end is not None and end <= start:
        fail(f"--until ({until}) must be after --since ({since})")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        row = await get_station(session, station)
        return await export_rows(session, row.id, start, end)

    rows = with_session(current_settings(), work)
    text = to_csv(rows) if fmt is ExportFormat.CSV else to_json(rows)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"{len(rows)} as-run rows written to {output}")
