"""``grimnir library``: scan folders into a station's library, list, show, reanalyse."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.cli._common import JsonOpt, current_settings, ensure_schema, err, fail, out, print_json
from grimnir.cli._common import run_db as _run_db
from grimnir.domain import MediaState
from grimnir.library import TAG_FIELDS

if TYPE_CHECKING:
    from grimnir.config.settings import Settings
    from grimnir.library.ingest import ScanReport
    from grimnir.store.models import MediaItem, Station

library_app = typer.Typer(
    help="Scan music into a station's library, list and inspect it.", no_args_is_help=True
)

StationOpt = Annotated[str, typer.Option("--station", "-s", help="Station id or short name.")]
_DEFAULT_TARGET_LUFS = -16.0
_SPARK = "▁▂▃▄▅▆▇█"


def station_target_lufs(station: Station) -> float | None:
    """The loudness target of the station's ``loudness_normalize`` DSP node, if it has one."""
    graph = (station.config or {}).get("dsp_graph") or {}
    for node in graph.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "loudness_normalize":
            target = node.get("target_lufs")
            if isinstance(target, int | float):
                return float(target)
    return None


def _run(work: Any) -> Any:
    settings = current_settings()

    async def run(engine: AsyncEngine) -> Any:
        from grimnir.store.db import session_factory

        await ensure_schema(engine, settings)
        return await work(session_factory(engine), settings)

    return _run_db(settings, run)


async def _station(sessions: Any, ref: str) -> Station:
    from grimnir.services.stations import get_station

    async with sessions() as session:
        station: Station = await get_station(session, ref)
        return station


def _options(station: Station, target_lufs: float | None) -> Any:
    from grimnir.library.analysis import AnalysisOptions

    target = target_lufs if target_lufs is not None else station_target_lufs(station)
    return AnalysisOptions(target_lufs=target if target is not None else _DEFAULT_TARGET_LUFS)


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:.1f} files/s"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _print_report(report: ScanReport, as_json: bool, what: str) -> None:
    if as_json:
        print_json(
            {
                **report.counts(),
                "seconds": round(report.seconds, 3),
                "failures": [{"path": p, "reason": r} for p, r in report.failures],
                "warnings": [{"path": p, "warning": w} for p, w in report.warnings],
            }
        )
        return
    rate = report.total / report.seconds if report.seconds > 0 else 0.0
    out.print(f"{what} {report.total} file(s) in {report.seconds:.1f} s ({rate:.1f} files/s)")
    table = Table("count", "files")
    for name, value in report.counts().items():
        if name != "total":
            table.add_row(name, str(value))
    out.print(table)
    if report.failures:
        # NOTE: lines, not a table: long paths and reasons must stay whole to be useful
        out.print(f"[bold red]{len(report.failures)} failed:[/]")
        for path, reason in report.failures:
            out.print(f"  {path}: {reason}", markup=False)


@library_app.command("scan")
def library_scan(
    directory: Annotated[Path, typer.Argument(help="Folder to scan (recursively).")],
    station: StationOpt,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="Analysis processes.")
    ] = None,
    target_lufs: Annotated[
        float | None,
        typer.Option("--target-lufs", help="Loudness target (default: the station's, or -16)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add every audio file under DIRECTORY to the station's library and analyse it.

    Safe to run again: files already stored are skipped, copies are reported
    as duplicates, and files that cannot go on air are listed with the reason.
    """
    if not directory.is_dir():
        fail(f"{directory} is not a folder: give the folder that holds the music")

    async def work(sessions: Any, settings: Settings) -> ScanReport:
        from grimnir.library.ingest import scan
        from grimnir.library.pool import AnalysisPool

        row = await _station(sessions, station)
        options = _options(row, target_lufs)
        async with AnalysisPool(workers=workers) as pool:
            if as_json:
                return await scan(
                    sessions,
                    row.id,
                    directory,
                    pool=pool,
                    options=options,
                    artwork_dir=settings.data_dir / "artwork",
                )
            with _progress_bar() as bar:
                task = bar.add_task(f"scanning {directory}", total=None, rate=0.0)

                def advance(done: int, total: int, _result: object) -> None:
                    elapsed = bar.tasks[0].elapsed or 0.0
                    rate = done / elapsed if elapsed > 0 else 0.0
                    bar.update(task, completed=done, total=total, rate=rate)

                return await scan(
                    sessions,
                    row.id,
                    directory,
                    pool=pool,
                    options=options,
                    artwork_dir=settings.data_dir / "artwork",
                    progress=advance,
                )

    _print_report(_run(work), as_json, "scanned")


def _row(item: MediaItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "state": item.state.value,
        "artist": item.artist,
        "title": item.title,
        "album": item.album,
        "duration_ms": item.duration_ms,
        "loudness_lufs": item.loudness_lufs,
        "path": item.path,
        "failed_reason": item.failed_reason,
    }


@library_app.command("list")
def library_list(
    station: StationOpt,
    state: Annotated[
        MediaState | None, typer.Option("--state", help="Only items in this state.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Text in title, artist, album or path.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List the station's library, by artist and title."""

    async def work(sessions: Any, _settings: Settings) -> list[dict[str, Any]]:
        from grimnir.library import queries

        row = await _station(sessions, station)
        async with sessions() as session:
            items = await queries.list_media(
                session, row.id, state=state, search=search, limit=limit
            )
            return [_row(i) for i in items]

    rows = _run(work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no items: add music with `grimnir library scan DIR --station S`")
        return
    table = Table("id", "state", "artist", "title", "length", "LUFS", "path / reason")
    for r in rows:
        length = f"{r['duration_ms'] / 1000:.1f} s" if r["duration_ms"] is not None else ""
        lufs = f"{r['loudness_lufs']:.1f}" if r["loudness_lufs"] is not None else ""
        where = r["failed_reason"] if r["state"] == "failed" else r["path"]
        table.add_row(
            r["id"][:8], r["state"], r["artist"] or "", r["title"] or "", length, lufs, where
        )
    out.print(table)


def sparkline(waveform: bytes | None, width: int = 60) -> str:
    """The waveform (signed min/max byte pairs) as one line of block characters."""
    if not waveform:
        return ""
    peaks = [max(abs(lo), abs(hi)) for lo, hi in _pairs(waveform)]
    step = max(1, -(-len(peaks) // width))
    columns = [max(peaks[i : i + step]) for i in range(0, len(peaks), step)]
    return "".join(_SPARK[min(len(_SPARK) - 1, p * len(_SPARK) // 128)] for p in columns)


def _pairs(waveform: bytes) -> list[tuple[int, int]]:
    signed = [b - 256 if b > 127 else b for b in waveform]
    return list(zip(signed[0::2], signed[1::2], strict=False))


_SHOWN = [
    *TAG_FIELDS,
    "format",
    "sample_rate_hz",
    "channels",
    "bitrate_kbps",
    "duration_ms",
    "loudness_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "gain_db",
    "cue_in_ms",
    "cue_out_ms",
    "intro_end_ms",
    "segue_ms",
    "state",
    "failed_reason",
    "analysis_attempts",
    "play_count",
    "path",
    "size_bytes",
    "sha256",
    "artwork_path",
]


@library_app.command("show")
def library_show(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="Media item id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one item: every tag, the analysis and a sketch of its waveform."""

    async def work(sessions: Any, _settings: Settings) -> dict[str, Any]:
        from grimnir.library import queries

        async with sessions() as session:
            item = await queries.get_media(session, item_id)
        data: dict[str, Any] = {"id": str(item.id), "station_id": str(item.station_id)}
        for name in _SHOWN:
            value = getattr(item, name)
            data[name] = value.value if isinstance(value, MediaState) else value
        data["custom_tags"] = item.custom_tags
        data["waveform_points"] = len(item.waveform or b"") // 2
        data["waveform"] = sparkline(item.waveform)
        return data

    data = _run(work)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if value not in (None, "", {}):
            out.print(f"{key:26} {value}", markup=False)


@library_app.command("reanalyze")
def library_reanalyze(
    station: StationOpt,
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Items.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed item.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every item.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1)] = None,
    target_lufs: Annotated[float | None, typer.Option("--target-lufs")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Analyse items again (given ids, --failed, or --all), e.g. after fixing files."""
    if bool(ids) + failed + everything != 1:
        fail("say which items to reanalyse: give ids, or --failed, or --all (one of them)")

    async def work(sessions: Any, _settings: Settings) -> ScanReport:
        from grimnir.library.ingest import reanalyze
        from grimnir.library.pool import AnalysisPool

        row = await _station(sessions, station)
        async with AnalysisPool(workers=workers) as pool:
            return await reanalyze(
                sessions,
                row.id,
                pool=pool,
                options=_options(row, target_lufs),
                ids=[uuid_or_text(i) for i in ids or []],
                failed_only=failed,
                all_items=everything,
            )

    _print_report(_run(work), as_json, "reanalysed")


def uuid_or_text(value: str) -> uuid.UUID | str:
    try:
        return uuid.UUID(value)
    except ValueError:
        return value


__all__ = ["library_app", "sparkline", "station_target_lufs"]
