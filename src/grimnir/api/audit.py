"""The audit log: who changed what, when, from where."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.auth import Principal, StationScope, client_address
from grimnir.services.audit import record


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
    record(
        session,
        action,
        target,
        user_id=user_id,
        station_id=station_id,
        remote_addr=client_address(request),
        details=details,
    )
