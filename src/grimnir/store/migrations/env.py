"""Alembic environment of Grimnir's store.

Two ways in: ``grimnir.store.migrate`` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line (with
``sqlalchemy.url`` set) gets an engine built here.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from grimnir.store.db import async_url, create_engine
from grimnir.store.migrate import run_on_engine
from grimnir.store.models import metadata
from grimnir.store.types import PriorityType, UTCDateTime

config = context.config
target_metadata = metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our own column types by name, imported from the package."""
    if type_ == "type" and isinstance(obj, UTCDateTime | PriorityType):
        autogen_context.imports.add(f"from grimnir.store.types import {type(obj).__name__}")
        return f"{type(obj).__name__}()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
        render_item=render_item,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit SQL instead of running it (``alembic upgrade head --sql``)."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=async_url(url or "sqlite://"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_engine(url)
    try:
        await run_on_engine(engine, _run)
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database to migrate: set sqlalchemy.url, or use grimnir.store.migrate"
        )
    asyncio.run(_run_standalone(url))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
