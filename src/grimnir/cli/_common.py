"""Shared pieces of the ``grimnir`` command: consoles, errors, settings, database."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from grimnir.config.settings import Settings, load_settings
from grimnir.domain.errors import ConfigError, GrimnirError, StoreError
from grimnir.domain.urls import mask_url

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class State:
    """Options given before the subcommand."""

    settings_file: Path | None = None


def fail(message: str, problems: list[str] | None = None) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    for line in problems or []:
        err.print(f"  {line}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def warn(lines: list[str]) -> None:
    """Print ``warning: …`` lines on stderr (the command goes on)."""
    for line in lines:
        err.print(f"[yellow]warning:[/] {escape(line)}", markup=True, soft_wrap=True)


def current_settings() -> Settings:
    try:
        return load_settings(State.settings_file)
    except ConfigError as exc:
        fail(str(exc.args[0]), exc.problems if len(exc.problems) > 1 else None)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def run_db(
    settings: Settings,
    work: Callable[[AsyncEngine], Awaitable[T]],
) -> T:
    """Run ``work`` against the configured database, turning failures into one clear line."""
    from grimnir.store.db import create_engine

    async def main() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    url = mask_url(settings.resolved_database_url)
    try:
        return asyncio.run(main())
    except GrimnirError as exc:
        problems = getattr(exc, "problems", None)
        fail(
            str(exc.args[0]) if exc.args else str(exc),
            problems if problems and len(problems) > 1 else None,
        )
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        fail(
            f"cannot use the database at {url}: {reason}",
            [
                "check GRIMNIR_DATABASE_URL (or database_url in the settings file) and that "
                "the server is running"
            ],
        )
    except SQLAlchemyError as exc:
        fail(f"database error at {url}: {exc}")


async def ensure_schema(engine: AsyncEngine, settings: Settings) -> None:
    """Migrate the embedded SQLite database by itself; ask for a server database."""
    from grimnir.store import migrate

    current = await migrate.current_revision(engine)
    head = migrate.head_revision()
    if current == head:
        return
    if settings.is_embedded_database:
        await migrate.upgrade(engine)
        return
    raise StoreError(
        f"the database is at revision {current or 'none (empty)'} but this grimnir needs "
        f"{head}: run `grimnir db upgrade`"
    )


def with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction, committed when it returns."""
    from grimnir.store.db import session_factory

    async def run(engine: AsyncEngine) -> T:
        await ensure_schema(engine, settings)
        async with session_factory(engine)() as session, session.begin():
            return await work(session)

    return run_db(settings, run)


# -- version / config --------------------------------------------------------
