"""The audit log: who changed what, when, from where."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.store.models import AuditLog


def record(
    session: AsyncSession,
    action: str,
    target: str | None = None,
    *,
    user_id: uuid.UUID | None = None,
    station_id: uuid.UUID | None = None,
    remote_addr: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to ``session``, so it is written with the change it describes
    (texts cut to the columns' sizes)."""
    row = AuditLog(
        user_id=user_id,
        station_id=station_id,
        action=action[:64],
        target=None if target is None else target[:255],
        remote_addr=None if remote_addr is None else remote_addr[:64],
        details={} if details is None else details,
    )
    session.add(row)
    return row
