"""The library's text search reads one folded column (title, artist and album) through
an index instead of folding three columns of every row: with 100k tracks a search
walked the whole table, waveforms and all. The sort indexes carry their tie-breaks
(title, id) and the search text, so a page, searched or not, and the rows a deep
offset skips are read from one index, never from the rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from grimnir.domain.text import fold

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_SORTS = {
    "artist": ["artist", "title", "id", "search_text"],
    "title": ["title", "id", "search_text"],
    "created_at": ["created_at", "title", "id", "search_text"],
    "duration_ms": ["duration_ms", "title", "id", "search_text"],
}
_PREFIX = {"search_text": 100}


def _key(title: str | None, artist: str | None, album: str | None) -> str:
    # NOTE: what models.media.search_key gives, as of this revision
    return fold("\x1f".join(v or "" for v in (title, artist, album)))


def upgrade() -> None:
    # NOTE: NOT NULL with a default, then filled: SQLite adds such a column in place
    op.add_column(
        "media_items",
        sa.Column("search_text", sa.String(800), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    items = sa.table(
        "media_items",
        sa.column("id", sa.Uuid()),
        sa.column("title", sa.String()),
        sa.column("artist", sa.String()),
        sa.column("album", sa.String()),
        sa.column("search_text", sa.String()),
    )
    update = (
        sa.update(items)
        .where(items.c.id == sa.bindparam("item_id"))
        .values(search_text=sa.bindparam("key"))
    )
    if op.get_context().as_sql:
        # NOTE: offline (SQL printed for a DBA): the database's lower() folds as fold()
        # does on PostgreSQL and MariaDB
        sep = sa.literal("\x1f", sa.String())
        parts = [sa.func.coalesce(c, "") for c in (items.c.title, items.c.artist, items.c.album)]
        op.execute(
            sa.update(items).values(
                search_text=sa.func.lower(parts[0] + sep + parts[1] + sep + parts[2])
            )
        )
    else:
        # NOTE: read first, then write: SQLite cannot be written under an open read
        rows = bind.execute(
            sa.select(items.c.id, items.c.title, items.c.artist, items.c.album)
        ).all()
        for start in range(0, len(rows), _BATCH):
            chunk = rows[start : start + _BATCH]
            bind.execute(
                update, [{"item_id": r.id, "key": _key(r.title, r.artist, r.album)} for r in chunk]
            )
    if bind.dialect.name != "sqlite":
        # NOTE: SQLite cannot drop a column's default in place (the ORM sets the value)
        op.alter_column(
            "media_items", "search_text", existing_type=sa.String(800), server_default=None
        )
    op.create_index(
        op.f("ix_media_items_station_id_search_text"),
        "media_items",
        ["station_id", "search_text"],
        mysql_length=_PREFIX,
    )
    for key, columns in _SORTS.items():
        op.drop_index(op.f(f"ix_media_items_station_id_{key}"), table_name="media_items")
        op.create_index(
            op.f("ix_media_items_station_id_" + "_".join(columns)),
            "media_items",
            ["station_id", *columns],
            mysql_length=_PREFIX,
        )


def downgrade() -> None:
    for key, columns in _SORTS.items():
        op.drop_index(
            op.f("ix_media_items_station_id_" + "_".join(columns)), table_name="media_items"
        )
        op.create_index(
            op.f(f"ix_media_items_station_id_{key}"), "media_items", ["station_id", key]
        )
    op.drop_index(op.f("ix_media_items_station_id_search_text"), table_name="media_items")
    op.drop_column("media_items", "search_text")
