"""The audit log: who changed what, when, from where."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.auth import Principal, StationScope, client_address
from grimnir.store.models import AuditLog


def audit(
    session: AsyncSession,
    request: Request,
    who: Principal | StationScope | None,
    action: str,
    target: str | None = None,
    *,
    station_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    """Add an audit row to ``session`` (written with the change it describes)."""
    user_id: uuid.UUID | None = None
    if isinstance(who, StationScope):
        user_id = who.principal.user_id
        station_id = station_id or who.station.id
    elif who is not None:
        user_id = who.user_id
    session.add(
        AuditLog(
            user_id=user_id,
            station_id=station_id,
            action=action[:64],
            target=None if target is None else target[:255],
            remote_addr=client_address(request)[:64],
            details=details,
        )
    )
