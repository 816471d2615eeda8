"""Engines, URLs and the UTC column type, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect

from grimnir.domain import Priority, StoreError
from grimnir.store import (
    NaiveDatetimeError,
    PriorityType,
    UTCDateTime,
    async_url,
    create_engine,
    mask_url,
    session_factory,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///grimnir.db", "sqlite+aiosqlite:///grimnir.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://u:p@db/radio", "postgresql+asyncpg://u:***@db/radio"),
        ("postgres://u@db/radio", "postgresql+asyncpg://u@db/radio"),
        ("mysql://root@db/radio", "mysql+asyncmy://root@db/radio?charset=utf8mb4"),
        ("mariadb://root@db/radio", "mysql+asyncmy://root@db/radio?charset=utf8mb4"),
        ("mysql://root@db/radio?charset=latin1", "mysql+asyncmy://root@db/radio?charset=latin1"),
        ("postgresql+asyncpg://u@db/radio", "postgresql+asyncpg://u@db/radio"),
    ],
)
def test_plain_urls_get_async_drivers(url: str, expected: str) -> None:
    assert mask_url(async_url(url)) == expected


def test_unparsable_url_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError, match="cannot parse the database URL") as caught:
        async_url("not a url:s3cret@")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://grimnir:s3cr%40t@db:5432/radio", "postgresql://grimnir:***@db:5432/radio"),
        ("mysql://root@db/radio", "mysql://root@db/radio"),
        ("sqlite:////var/lib/grimnir/grimnir.db", "sqlite:////var/lib/grimnir/grimnir.db"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


async def test_sqlite_engine_creates_the_folder_and_enforces_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "grimnir.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert path.exists()
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_is_one_database_for_every_session() -> None:
    engine = create_engine("sqlite://")
    try:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (42)"))
        async with sessions() as session:
            assert (await session.execute(text("SELECT x FROM t"))).scalar() == 42
    finally:
        await engine.dispose()


# NOTE: the psycopg dialect's __init__ has no annotations (SQLAlchemy 2.0).
DIALECTS: list[Dialect] = [
    sqlite.dialect(),
    postgresql.dialect(),  # type: ignore[no-untyped-call]
    mysql.dialect(),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_utc_datetime_binds_utc_and_reads_aware(dialect: Dialect) -> None:
    col = UTCDateTime()
    oslo = datetime(2024, 7, 1, 14, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    bound = col.process_bind_param(oslo, dialect)
    assert bound is not None
    assert bound.replace(tzinfo=UTC) == datetime(2024, 7, 1, 12, 0, 0, 1, tzinfo=UTC)
    if dialect.name == "postgresql":
        assert bound.tzinfo is UTC
    else:
        assert bound.tzinfo is None
    back = col.process_result_value(bound, dialect)
    assert back == oslo
    assert back is not None
    assert back.tzinfo is UTC
    assert col.process_bind_param(None, dialect) is None


def test_utc_datetime_refuses_naive_and_non_datetimes() -> None:
    col = UTCDateTime()
    with pytest.raises(NaiveDatetimeError, match="refusing to store the naive datetime"):
        col.process_bind_param(datetime(2024, 1, 1), sqlite.dialect())  # noqa: DTZ001
    with pytest.raises(TypeError, match="expected a datetime"):
        col.process_bind_param("2024-01-01", sqlite.dialect())  # type: ignore[arg-type]


def test_priority_type_round_trips_and_refuses_off_ladder_values() -> None:
    col = PriorityType()
    assert col.process_bind_param(Priority.LIVE_OVERRIDE, sqlite.dialect()) == 1
    assert col.process_result_value(4, sqlite.dialect()) is Priority.FALLBACK
    with pytest.raises(ValueError, match="is not a valid Priority"):
        col.process_bind_param(7, sqlite.dialect())


async def test_sqlite_lower_folds_every_script_like_the_servers() -> None:
    """Searches and smart-block rules fold "ÅSA" to "åsa" on SQLite as on PostgreSQL."""
    engine = create_engine("sqlite:///:memory:")
    try:
        async with engine.connect() as conn:
            folded = await conn.scalar(text("SELECT lower('ÅSA ΣΑΣ ÉTÉ')"))
        assert folded == "åsa σασ été"
    finally:
        await engine.dispose()
