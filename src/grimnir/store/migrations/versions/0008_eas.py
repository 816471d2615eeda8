"""Emergency alerts: the compliance log of alerts received and their airings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from grimnir.store.types import UTCDateTime

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "eas_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=True),
        sa.Column("sender", sa.String(length=255), nullable=True),
        sa.Column("sent", UTCDateTime(), nullable=True),
        sa.Column("msg_type", sa.String(length=16), nullable=True),
        sa.Column("event", sa.String(length=255), nullable=True),
        sa.Column("same_header", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("original", MESSAGE, nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_eas_alerts_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eas_alerts")),
    )
    op.create_index(
        op.f("ix_eas_alerts_station_id_received_at"), "eas_alerts", ["station_id", "received_at"]
    )
    op.create_table(
        "eas_airings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("latency_frames", sa.Integer(), nullable=True),
        sa.Column("ended_how", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["eas_alerts.id"],
            name=op.f("fk_eas_airings_alert_id_eas_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_eas_airings_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eas_airings")),
    )
    op.create_index(op.f("ix_eas_airings_alert_id"), "eas_airings", ["alert_id"])
    op.create_index(op.f("ix_eas_airings_station_id"), "eas_airings", ["station_id"])


def downgrade() -> None:
    op.drop_table("eas_airings")
    op.drop_table("eas_alerts")
