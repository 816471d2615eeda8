"""Index the library by each key its pages sort on (title, created_at, duration_ms),
as artist already was: the first page of a 100k-track library is then a walk of an
index instead of a sort of every item of the station.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ("title", "created_at", "duration_ms")


def upgrade() -> None:
    for key in _KEYS:
        op.create_index(
            op.f(f"ix_media_items_station_id_{key}"), "media_items", ["station_id", key]
        )


def downgrade() -> None:
    for key in _KEYS:
        op.drop_index(op.f(f"ix_media_items_station_id_{key}"), table_name="media_items")
