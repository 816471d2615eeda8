"""The compliance log of emergency alerts: every alert received, and every airing.

``EasAlert`` keeps one row per message a station received (CAP pushed or
polled, NAAD, a SAME header heard on a monitor, one a manager originated, a
test), with the decision taken and why, and the original message verbatim.
``EasAiring`` says when it went on air, on which outputs, how fast and how it
ended. No route lets a station role below admin delete either.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from grimnir.store.models._base import Base, UuidPk, json_list
from grimnir.store.types import utcnow

Message = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
"""The original message's bytes (CAP documents are up to 1 MiB: MariaDB needs LONGBLOB)."""


class EasAlert(UuidPk, Base):
    """One alert message as a station received it, and what it decided.

    ``decision`` is ``relay``, ``filter``, ``duplicate``, ``cancel`` or
    ``rejected`` (the message could not be read: ``reason`` says why).
    """

    __tablename__ = "eas_alerts"
    __table_args__ = (Index(None, "station_id", "received_at"),)

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    """``cap-push``, ``feed``, ``naad``, ``same-monitor``, ``originated`` or ``test``."""
    identifier: Mapped[str | None] = mapped_column(String(255))
    sender: Mapped[str | None] = mapped_column(String(255))
    sent: Mapped[datetime | None]
    msg_type: Mapped[str | None] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(255))
    same_header: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    original: Mapped[bytes] = mapped_column(Message)
    expires: Mapped[datetime | None]


class EasAiring(UuidPk, Base):
    """One airing of an alert on a station: when, where, how fast, how it ended.

    ``outputs`` lists the station's outputs that carried it (``{"mount",
    "output", "type"}``); ``latency_frames`` is engine frames (48 kHz) from the
    command to the alert's first sample on air; ``ended_how`` is ``completed``,
    ``cancelled`` or ``superseded`` (``None`` while it airs).
    """

    __tablename__ = "eas_airings"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("eas_alerts.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    outputs: Mapped[list[Any]] = mapped_column(JSON, default=json_list)
    item_ids: Mapped[list[str]] = mapped_column(default=json_list)
    latency_frames: Mapped[int | None]
    ended_how: Mapped[str | None] = mapped_column(String(16))
