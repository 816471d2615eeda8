"""Migrations: up, down and up again on every database, and the schema they build
is exactly the one the models describe."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Uuid,
    bindparam,
    inspect,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.store import create_engine, current_revision, downgrade, head_revision, upgrade
from grimnir.store.migrate import alembic_config
from grimnir.store.models import Playlist, metadata
from grimnir.store.types import UTCDateTime

STATION = uuid.UUID("6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11")
PLAYLIST = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TYPED = (bindparam("id", type_=Uuid()), bindparam("now", type_=UTCDateTime()))


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def _schema_diff(conn: Connection, target: MetaData = metadata) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, target))


def test_head_revision_is_the_newest_migration() -> None:
    assert head_revision() == "0009"


async def test_upgrading_a_filled_database_keeps_its_rows(empty_url: str) -> None:
    """0001 → 0002 on a database with a playlist: the row stays, with the new defaults."""
    engine = create_engine(empty_url)
    try:
        await upgrade(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO stations (id, short_name, name, timezone, description, enabled,"
                    " config, timeline_seq, created_at, updated_at) VALUES (:id, 'wgmr', 'WGMR',"
                    " 'UTC', '', :t, '{}', 0, :now, :now)"
                ).bindparams(*TYPED),
                {"id": STATION, "t": True, "now": NOW},
            )
            await conn.execute(
                text(
                    "INSERT INTO playlists (id, station_id, name, description, shuffle,"
                    " created_at, updated_at) VALUES (:id, :sid, 'Jingles', '', :f, :now, :now)"
                ).bindparams(*TYPED, bindparam("sid", type_=Uuid())),
                {"id": PLAYLIST, "sid": STATION, "f": False, "now": NOW},
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        Playlist.__table__.c.name,
                        Playlist.__table__.c.rotation,
                        Playlist.__table__.c.jingle,
                    )
                )
            ).one()
        assert tuple(row) == ("Jingles", {}, False)
    finally:
        await downgrade(engine)
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await _tables(engine) == {*metadata.tables, "alembic_version"}

        await downgrade(engine)
        assert await current_revision(engine) is None
        assert await _tables(engine) - {"alembic_version"} == set()

        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await _tables(engine) == {*metadata.tables, "alembic_version"}
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == []


async def test_schema_comparison_sees_type_changes(engine: AsyncEngine) -> None:
    """Guards the test above against comparing nothing: a changed length and a new
    column must show up."""
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    users = changed.tables["users"]
    users.c.username.type = String(80)
    users.append_column(Column("nickname", String(32)))
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: _schema_diff(c, changed))
    kinds = sorted(d[0] if isinstance(d, tuple) else d[0][0] for d in diff)
    assert kinds == ["add_column", "modify_type"]


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()


def test_alembic_command_line_mode_builds_its_own_engine(tmp_path: Any) -> None:
    """``alembic upgrade head`` with ``sqlalchemy.url`` set (no connection passed in)."""
    url = f"sqlite:///{tmp_path / 'cli' / 'grimnir.db'}"
    command.upgrade(alembic_config(url=url), "head")
    command.downgrade(alembic_config(url=url), "base")
    command.upgrade(alembic_config(url=url), "head")
    import sqlite3

    with sqlite3.connect(tmp_path / "cli" / "grimnir.db") as db:
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert version == head_revision()
    assert set(metadata.tables) <= tables


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "TIMESTAMP WITH TIME ZONE"),
        ("mysql://u@h/db", "DATETIME(6)"),
        ("sqlite://", "DATETIME"),
    ],
)
def test_offline_sql_renders_named_checks_and_enums(url: str, expected: str) -> None:
    cfg = alembic_config(url=url)
    out = io.StringIO()
    cfg.stdout = out
    cfg.output_buffer = out
    command.upgrade(cfg, "head", sql=True)
    sql = out.getvalue()
    assert "CREATE TABLE timeline_entries" in sql
    assert "CONSTRAINT ck_outputs_kind CHECK (kind IN ('icecast', 'http'," in sql
    assert "CONSTRAINT ck_clock_slots_within_hour CHECK (offset_ms + duration_ms <= 3600000)" in sql
    assert "CONSTRAINT ck_priority_sources_priority_range CHECK (priority BETWEEN 0 AND 4)" in sql
    assert "CONSTRAINT uq_timeline_entries_station_id_seq UNIQUE (station_id, seq)" in sql
    assert expected in sql
