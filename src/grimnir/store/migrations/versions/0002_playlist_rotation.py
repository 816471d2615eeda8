"""Playlists: rotation rule, jingle flag, per-item cue/fade overrides.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NOTE: existing rows get the defaults from the server; the ORM always writes
# the values itself, so the server defaults only matter for this upgrade.
_EMPTY = sa.text("'{}'")


def upgrade() -> None:
    op.add_column(
        "playlists", sa.Column("rotation", sa.JSON(), nullable=False, server_default=_EMPTY)
    )
    op.add_column(
        "playlists", sa.Column("jingle", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "playlist_items", sa.Column("overrides", sa.JSON(), nullable=False, server_default=_EMPTY)
    )


def downgrade() -> None:
    with op.batch_alter_table("playlist_items") as batch:
        batch.drop_column("overrides")
    with op.batch_alter_table("playlists") as batch:
        batch.drop_column("jingle")
        batch.drop_column("rotation")
