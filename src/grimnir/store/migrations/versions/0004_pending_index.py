"""Index the timeline by station, status and start, so the executor's poll reads a
station's pending entries without walking its aired history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 02:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_timeline_entries_station_id_status_starts_at"),
        "timeline_entries",
        ["station_id", "status", "starts_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_timeline_entries_station_id_status_starts_at"), table_name="timeline_entries"
    )
