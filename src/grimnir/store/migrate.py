"""Schema migrations (Alembic), run in code: no ``alembic.ini`` needed.

The scripts live in ``grimnir/store/migrations``; ``upgrade(engine)`` brings a
database to the newest schema and is safe to run on every start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.domain import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for our scripts, bound to ``connection`` or to ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database forward to ``revision`` (default: the newest)."""
    await run_on_engine(
        engine, lambda conn: command.upgrade(alembic_config(connection=conn), revision)
    )


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    """Migrate the database back to ``revision`` (default: empty, every table dropped)."""
    await run_on_engine(
        engine, lambda conn: command.downgrade(alembic_config(connection=conn), revision)
    )


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


def head_revision() -> str:
    """The newest revision the scripts know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible with an empty versions folder
        raise StoreError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


async def run_on_engine(engine: AsyncEngine, fn: Callable[[Connection], None]) -> None:
    """Run ``fn`` in one transaction on a connection of ``engine``.

    On SQLite, foreign keys are switched off meanwhile (``ALTER TABLE`` there
    means copy, drop and rename, which would cascade) and checked afterwards,
    as the SQLite manual prescribes for schema changes.
    """
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # NOTE: the pragma is a no-op inside a transaction, so commit first.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(fn)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        tables = ", ".join(sorted({str(row[0]) for row in broken}))
                        raise StoreError(
                            f"migration left rows pointing at missing rows in: {tables}"
                        )
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()
