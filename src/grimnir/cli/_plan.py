"""``grimnir plan``: build, show and check a station's timeline.

Clocks, shows and smart blocks come from the database (the API will edit
them); a station with a scanned library and none of those gets the default
rotation, so ``grimnir library scan`` followed by ``grimnir plan build`` is
enough to see a plan.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.cli._common import JsonOpt, current_settings, ensure_schema, fail, out, print_json
from grimnir.cli._common import run_db as _run_db

if TYPE_CHECKING:
    from grimnir.planner.reports import BuildReport, Gap

plan_app = typer.Typer(help="Build, show and check a station's timeline.", no_args_is_help=True)

ROTATION = "default rotation"
StationOpt = Annotated[str, typer.Option("--station", "-s", help="Station id or short name.")]


def _run(work: Any) -> Any:
    settings = current_settings()

    async def run(engine: AsyncEngine) -> Any:
        from grimnir.store.db import session_factory

        await ensure_schema(engine, settings)
        return await work(session_factory(engine))

    return _run_db(settings, run)


async def _station(sessions: Any, ref: str) -> Any:
    from grimnir.services.stations import get_station

    async with sessions() as session:
        return await get_station(session, ref)


def _parse_from(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--from {text!r} is not an ISO time; write e.g. 2026-06-01T06:00:00+02:00")
    if value.tzinfo is None:
        fail(f"--from {text!r} has no time zone; add one, e.g. {text}Z or {text}+02:00")
    return value.astimezone(UTC)


def _summary(report: BuildReport, tz: Any) -> None:
    lo, hi = report.start.astimezone(tz), report.end.astimezone(tz)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items()) or "nothing"
    verb = "planned" if report.written else "would plan"
    out.print(
        f"{verb} {len(report.entries)} entries ({counts}) for {lo:%Y-%m-%d %H:%M} – "
        f"{hi:%Y-%m-%d %H:%M} {hi.tzname()}; kept {report.kept}, replaced {report.removed}; "
        f"{report.elapsed_ms:.0f} ms"
    )
    _findings(report, tz)


def _findings(report: BuildReport, tz: Any) -> None:
    for line in report.conflicts:
        out.print(f"conflict: {line}")
    for gap in report.gaps:
        a, b = gap.start.astimezone(tz), gap.end.astimezone(tz)
        out.print(
            f"gap: {a:%a %H:%M:%S} – {b:%H:%M:%S} ({gap.duration_ms / 1000:g} s): {gap.reason}"
        )
    for u in report.underfilled:
        at = u.start.astimezone(tz)
        out.print(
            f"under-filled: {at:%a %H:%M} {u.slot}: {u.content_ms / 60000:.1f} of "
            f"{u.target_ms / 60000:.1f} min, {u.filler_ms / 60000:.1f} min filler"
        )
    for r in report.relaxations:
        out.print(
            f"relaxed: {r.start.astimezone(tz):%a %H:%M} {r.slot}: {', '.join(r.relaxations)}"
        )
    for w in report.warnings:
        out.print(f"warning: {w}")


@plan_app.command("build")
def plan_build(
    station: StationOpt,
    hours: Annotated[float, typer.Option(help="Length of the window in hours.")] = 48,
    start: Annotated[
        str | None, typer.Option("--from", help="Window start (ISO with zone); default now.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan but write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Plan the station's timeline (rebuilds future planned entries; aired ones stay)."""
    from grimnir.planner import zone
    from grimnir.planner.builder import build

    begin = _parse_from(start)

    async def work(sessions: Any) -> tuple[BuildReport, Any]:
        row = await _station(sessions, station)
        report = await build(
            sessions, row.id, begin, hours, now=datetime.now(UTC), write=not dry_run
        )
        return report, zone(row.timezone)

    report, tz = _run(work)
    if as_json:
        print_json(report.to_json(with_entries=dry_run))
        return
    _summary(report, tz)


@plan_app.command("show")
def plan_show(
    station: StationOpt,
    hours: Annotated[float, typer.Option(help="How many hours ahead to show.")] = 6,
    as_json: JsonOpt = False,
) -> None:
    """The stored timeline from now on, in the station's local time."""
    from grimnir.planner import zone
    from grimnir.planner.reports import PlannedEntry
    from grimnir.store.models import Playlist, Show, SmartBlock, TimelineEntry

    now = datetime.now(UTC)

    async def work(sessions: Any) -> tuple[list[PlannedEntry], dict[Any, str], Any]:
        row = await _station(sessions, station)
        async with sessions() as session:
            rows = await session.scalars(
                select(TimelineEntry)
                .where(
                    TimelineEntry.station_id == row.id,
                    TimelineEntry.ends_at > now,
                    TimelineEntry.starts_at < now + timedelta(hours=hours),
                )
                .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
            )
            entries = [PlannedEntry.from_row(r) for r in rows]
            names: dict[Any, str] = {}
            for model in (Show, Playlist, SmartBlock):
                found = await session.execute(
                    select(model.id, model.name).where(model.station_id == row.id)
                )
                names.update({r.id: r.name for r in found})
        return entries, names, zone(row.timezone)

    entries, names, tz = _run(work)
    if as_json:
        print_json([{**e.to_json(), "source": _source(e, names)} for e in entries])
        return
    if not entries:
        out.print(f"nothing planned in the next {hours:g} h: run `grimnir plan build -s {station}`")
        return
    table = Table(title=f"{station}: next {hours:g} h ({tz.key})")
    for column in ("start", "end", "kind", "artist – title", "source", "timing"):
        table.add_column(column)
    for e in entries:
        a, b = e.starts_at.astimezone(tz), e.ends_at.astimezone(tz)
        timing = e.timing.value + (f", fade {e.fade_out_ms / 1000:g} s" if e.fade_out_ms else "")
        table.add_row(
            f"{a:%a %H:%M:%S}", f"{b:%H:%M:%S}", e.kind.value, e.label(), _source(e, names), timing
        )
    out.print(table)


def _source(entry: Any, names: dict[Any, str]) -> str:
    parts = []
    if entry.show_id:
        parts.append(f"show {names.get(entry.show_id, entry.show_id)}")
    ref: uuid.UUID | None = entry.playlist_id or entry.smart_block_id
    if ref:
        parts.append(names.get(ref, str(ref)))
    filler = entry.meta.get("filler")
    if filler:
        parts.append(str(filler))
    if not parts:
        slot = str(entry.meta.get("slot", ""))
        parts.append(ROTATION if slot.startswith(f"'{ROTATION}'") else slot)
    return " / ".join(p for p in parts if p)


def _local(at: datetime, tz: Any, *, date: bool = True) -> str:
    local = at.astimezone(tz)
    day = f"{local:%a %Y-%m-%d} " if date else ""
    return f"{day}{local:%H:%M:%S}.{local.microsecond // 1000:03d}"


def _hole(gap: Gap, tz: Any) -> str:
    """A hole of the stored timeline in the station's local time, to the millisecond."""
    a, b = gap.start.astimezone(tz), gap.end.astimezone(tz)
    return (
        f"hole in the stored timeline: {_local(a, tz)} – "
        f"{_local(b, tz, date=a.date() != b.date())} {b.tzname()} "
        f"({gap.duration_ms / 1000:g} s of silence): {gap.reason}"
    )


@plan_app.command("check")
def plan_check(
    station: StationOpt,
    hours: Annotated[float, typer.Option(help="How many hours ahead to check.")] = 48,
    as_json: JsonOpt = False,
) -> None:
    """The stored timeline's holes, and what a build from now would run into:
    conflicts, gaps, under-fill, relaxations.

    Exits 1 when there are errors (a hole in the stored timeline, show
    conflicts or dead air in the plan).
    """
    from grimnir.planner import zone
    from grimnir.planner.builder import simulate, timeline_holes

    now = datetime.now(UTC)

    async def work(sessions: Any) -> tuple[BuildReport, list[Gap], Any]:
        row = await _station(sessions, station)
        report = await simulate(sessions, row.id, now, hours, now=now)
        stored = await timeline_holes(sessions, row.id, now, now + timedelta(hours=hours))
        return report, stored, zone(row.timezone)

    report, stored, tz = _run(work)
    holes = [_hole(gap, tz) for gap in stored]
    if as_json:
        data = report.to_json()
        data["holes"] = [
            {"start": g.start.isoformat(), "end": g.end.isoformat(), "reason": g.reason}
            for g in stored
        ]
        data["errors"] = [*holes, *data["errors"]]
        print_json(data)
    else:
        for line in holes:
            out.print(line, markup=False)
        _findings(report, tz)
        errors = len(holes) + len(report.errors)
        out.print(
            f"{errors} error(s), {len(report.underfilled)} under-filled slot(s), "
            f"{len(report.relaxations)} relaxation(s) in the next {hours:g} h"
        )
    if holes or report.errors:
        raise typer.Exit(1)
