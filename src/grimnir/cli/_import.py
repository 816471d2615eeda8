"""``grimnir import``: bring a station over from AzuraCast or LibreTime (dry run
first), list the imports, roll one back."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.cli._common import JsonOpt, current_settings, ensure_schema, err, fail, out, print_json
from grimnir.cli._common import run_db as _run_db

if TYPE_CHECKING:
    from grimnir.config.settings import Settings
    from grimnir.importers import Snapshot

import_app = typer.Typer(
    help="Bring a station over from AzuraCast or LibreTime; list and roll back imports.",
    no_args_is_help=True,
)

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Only report what would be done; write nothing.")
]


def _reader(module: str) -> Any:
    """The reader module, or a clear failure when this grimnir has none."""
    import importlib

    try:
        return importlib.import_module(f"grimnir.importers.{module}")
    except ImportError as e:
        fail(
            f"this grimnir cannot read {module} backups ({e}): install a grimnir that has "
            f"grimnir.importers.{module}"
        )


def _bars() -> tuple[Progress, Callable[[str, int, int], Any]]:
    bar = Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    async def advance(part: str, done: int, total: int) -> None:
        if part not in tasks:
            tasks[part] = bar.add_task(part, total=max(total, 1))
        bar.update(tasks[part], completed=done if total else 1, total=max(total, 1))

    return bar, advance


def _import(snapshots: list[Snapshot], dry_run: bool, as_json: bool) -> None:
    """Plan (dry run) or apply each snapshot and print its report."""
    settings = current_settings()

    async def work(engine: AsyncEngine) -> list[Any]:
        from grimnir.importers import apply, plan
        from grimnir.store.db import session_factory

        await ensure_schema(engine, settings)
        sessions = session_factory(engine)
        results: list[Any] = []
        for snapshot in snapshots:
            if dry_run:
                async with sessions() as session:
                    results.append(await plan(snapshot, session))
                continue
            bar, advance = _bars()
            with contextlib.nullcontext() if as_json else bar:
                results.append(
                    await apply(
                        snapshot,
                        sessions,
                        media_dir=settings.media_dir,
                        artwork_dir=settings.data_dir / "artwork",
                        progress=None if as_json else advance,
                    )
                )
        return results

    results = _run_db(settings, work)
    if as_json:
        print_json([r.to_json() for r in results])
        return
    from grimnir.importers.text import plan_text, report_text

    for result in results:
        out.print(plan_text(result) if dry_run else report_text(result))


def _work_dir(settings: Settings) -> tempfile.TemporaryDirectory[str]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="import-", dir=settings.data_dir)


@import_app.command("azuracast")
def import_azuracast(
    backup: Annotated[
        Path, typer.Option("--backup", help="The zip `azuracast:backup` wrote (db.sql + media).")
    ],
    station: Annotated[
        str | None,
        typer.Option("--station", help="Only this station of the backup (its short name)."),
    ] = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import the stations of an AzuraCast backup (all, or --station's)."""
    from grimnir.domain.errors import GrimnirError

    if not backup.is_file():
        fail(f"{backup} is not a file: give the zip that `azuracast:backup` wrote")
    reader = _reader("azuracast")
    with _work_dir(current_settings()) as work:
        try:
            snapshots = reader.read_backup(backup, Path(work), station=station)
        except GrimnirError as e:
            fail(str(e))
        _import(snapshots, dry_run, as_json)


@import_app.command("libretime")
def import_libretime(
    storage: Annotated[
        Path, typer.Option("--storage", help="LibreTime's storage folder (its media files).")
    ],
    dump: Annotated[
        Path | None, typer.Option("--dump", help="LibreTime's database as `pg_dump` wrote it.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="LibreTime's config.yml (station details).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="A live LibreTime PostgreSQL instead of --dump."),
    ] = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a LibreTime station from its database dump (or live database) and storage."""
    import asyncio

    from grimnir.domain.errors import GrimnirError

    if (dump is None) == (database_url is None):
        fail("give the database once: --dump FILE.sql or --database-url URL")
    if dump is not None and not dump.is_file():
        fail(f"{dump} is not a file: give the SQL file `pg_dump` wrote")
    if not storage.is_dir():
        fail(f"{storage} is not a folder: give LibreTime's storage folder (its media files)")
    reader = _reader("libretime")
    try:
        if dump is not None:
            snapshot = reader.read_dump(dump, storage, config=config)
        else:
            snapshot = asyncio.run(reader.read_database(database_url, storage, config=config))
    except GrimnirError as e:
        fail(str(e))
    _import([snapshot], dry_run, as_json)


@import_app.command("rollback")
def import_rollback(
    import_id: Annotated[str, typer.Argument(help="The import's id (see `grimnir import list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Remove what an import created (not what was here before it)."""
    try:
        the_id = uuid.UUID(import_id)
    except ValueError:
        fail(f"{import_id!r} is not an import id: `grimnir import list` shows them")
    settings = current_settings()

    async def work(engine: AsyncEngine) -> dict[str, int]:
        from grimnir.importers import rollback
        from grimnir.store.db import session_factory

        await ensure_schema(engine, settings)
        return await rollback(session_factory(engine), the_id)

    removed = _run_db(settings, work)
    if as_json:
        print_json({"import_id": str(the_id), "removed": removed})
        return
    what = ", ".join(f"{n} {table}" for table, n in removed.items()) or "nothing"
    out.print(f"rolled back import {the_id}: removed {what}")


@import_app.command("list")
def import_list(as_json: JsonOpt = False) -> None:
    """Every import, newest first."""
    settings = current_settings()

    async def work(engine: AsyncEngine) -> list[dict[str, Any]]:
        from grimnir.importers import list_imports
        from grimnir.store.db import session_factory

        await ensure_schema(engine, settings)
        async with session_factory(engine)() as session:
            return [
                {
                    "id": str(row.id),
                    "product": row.product,
                    "source": row.source,
                    "state": row.state,
                    "station": (row.report.get("station") or {}).get("short_name"),
                    "started_at": row.started_at.isoformat(),
                    "rolled_back_at": row.rolled_back_at.isoformat()
                    if row.rolled_back_at
                    else None,
                }
                for row in await list_imports(session)
            ]

    rows = _run_db(settings, work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no imports yet")
        return
    table = Table("product", "source", "station", "state", "started")
    table.add_column("id", no_wrap=True, min_width=36)
    for row in rows:
        table.add_row(
            row["product"],
            row["source"],
            row["station"] or "",
            row["state"],
            row["started_at"][:19],
            row["id"],
        )
    out.print(table)
