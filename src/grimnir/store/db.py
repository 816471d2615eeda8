"""Engines and sessions for SQLite (embedded default), PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

from grimnir.domain import StoreError
from grimnir.domain.text import register_sqlite_functions
from grimnir.domain.urls import mask_url as domain_mask_url

# The async driver used for each plain URL scheme.
_ASYNC_DRIVERS: dict[str, str] = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+asyncmy",
    # NOTE: MariaDB goes through SQLAlchemy's MySQL dialect on purpose: its
    # ``mariadb`` dialect stores UUIDs natively, the MySQL one as CHAR(32), and
    # the schema must not depend on which of the two spellings a URL used.
    "mariadb": "mysql+asyncmy",
    "mariadb+asyncmy": "mysql+asyncmy",
}

_MARIADB_CHECK_FAILED = 4025  # ER_CONSTRAINT_FAILED: a CHECK constraint refused the row


def async_url(url: str | URL) -> URL:
    """``url`` with its plain scheme (``sqlite://``, ``postgresql://``, ``mysql://``,
    ``mariadb://``) mapped to the async driver Grimnir uses."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as e:
        raise StoreError(
            f"cannot parse the database URL {mask_url(str(url))!r}: {e}; expected e.g. "
            "sqlite:///var/lib/grimnir/grimnir.db or postgresql://user:pass@host/db"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``.

    SQLite connections enforce foreign keys (off by default there) and use WAL
    so readers do not wait for the planner's writes; the database file's folder
    is created. Server connections are checked before use (``pool_pre_ping``),
    since a pooled connection may have been dropped by the server.
    """
    parsed = async_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in database
        if in_memory:
            # one shared connection, or every session would see its own empty DB
            kwargs["poolclass"] = StaticPool
        elif not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect(wal=not in_memory))
        return engine
    engine = _create_async_engine(parsed, pool_pre_ping=True)
    if backend == "mysql":
        event.listen(engine.sync_engine, "handle_error", _mariadb_check_is_integrity_error)
    return engine


def _sqlite_on_connect(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # NOTE: SQLite's lower() folds ASCII only; searches and smart-block rules
        # must fold "Å" like PostgreSQL and MariaDB do.
        register_sqlite_functions(dbapi_connection)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def _mariadb_check_is_integrity_error(context: ExceptionContext) -> exc.DBAPIError | None:
    """Report a failed CHECK as ``IntegrityError`` on MariaDB too, as the other
    databases do (the driver files error 4025 under ``OperationalError``)."""
    orig = context.original_exception
    args = getattr(orig, "args", ())
    if args and args[0] == _MARIADB_CHECK_FAILED and isinstance(orig, Exception):
        return exc.IntegrityError(context.statement, context.parameters, orig)
    return None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``. Objects stay usable after commit (no expiry), which
    async code needs because it cannot lazily reload attributes."""
    return async_sessionmaker(engine, expire_on_commit=False)


# For URLs SQLAlchemy cannot parse: whatever sits between a colon and an "@".
# It may hide a bit more than the password, never less.
def mask_url(url: str | URL) -> str:
    """``url`` safe to print: the password, if any, replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return domain_mask_url(url)
