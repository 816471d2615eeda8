"""What the playout, priority and web stream routes share: reaching the station's
executor and engine in this process, reading timeline entries, writing audit rows."""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import Request
from pydantic import BaseModel, Field

from grimnir.api.audit import audit
from grimnir.api.auth import StationScope, context
from grimnir.api.problems import Problem
from grimnir.domain import NotFoundError
from grimnir.executor.asrun import RELAY_PREFIX
from grimnir.services import timeline
from grimnir.store.models import TimelineEntry

if TYPE_CHECKING:
    from grimnir.engine.client import EngineClient
    from grimnir.executor.station import StationExecutor

# NOTE: engine item ids of a web stream moved to another URL are
# ``relay-<entry id>-<url index>-…``; the as-run log gives them their own row.


class FadeIn(BaseModel):
    """How fast to take the item off air."""

    fade_ms: int = Field(default=500, ge=0, le=10_000, description="Fade-out length in ms.")


def _not_on_air(scope: StationScope) -> Problem:
    # NOTE: 409, not 503: nothing is broken, the station is just not running here.
    return Problem(
        409,
        f"station {scope.station.short_name} is not on air in this process: "
        "start it with `grimnir up`",
    )


def executor_of(request: Request, scope: StationScope) -> StationExecutor:
    """The station's executor, or a 409 problem saying how to put it on air."""
    executor = context(request).on_air.executor(scope.station.id)
    if executor is None:
        raise _not_on_air(scope)
    return executor


def engine_of(request: Request, scope: StationScope) -> EngineClient:
    """A control client of the station's engine, or a 409 problem."""
    engine = context(request).on_air.engine(scope.station.id)
    if engine is None:
        raise _not_on_air(scope)
    return engine


def entry_id_of(item_id: str | None) -> uuid.UUID | None:
    """The timeline entry an engine item plays (entries' items are their ids; a
    relayed web stream moved to another URL carries its entry's id after ``relay-``)."""
    if not item_id:
        return None
    text = item_id[len(RELAY_PREFIX) :][:36] if item_id.startswith(RELAY_PREFIX) else item_id
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def load_entry(
    request: Request, station_id: uuid.UUID, entry_id: uuid.UUID | None
) -> TimelineEntry | None:
    """The station's timeline entry ``entry_id`` (None when missing or another station's)."""
    if entry_id is None:
        return None
    async with context(request).sessions() as session:
        try:
            return await timeline.get_entry(session, station_id, entry_id)
        except NotFoundError:
            return None


async def record(
    request: Request, scope: StationScope, action: str, target: str | None, **details: Any
) -> None:
    """Write one audit row for a change made outside the database (on air)."""
    async with context(request).sessions() as session:
        audit(session, request, scope, action, target, **details)
        await session.commit()


def finite(value: Any) -> Any:
    """``value`` with infinite/NaN numbers as None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value
