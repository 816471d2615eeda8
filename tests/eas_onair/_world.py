"""A station with emergency alerts on, on a migrated database, for the alert tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grimnir.bus import MemoryBus
from grimnir.config.station import StationConfig
from grimnir.services.alerts import AlertContext
from grimnir.services.stations import register_station
from grimnir.store import create_engine
from grimnir.store.db import session_factory
from grimnir.store.models import Station
from tests._api import example_config

#: Inside the sample alerts' life (sent 13:05 −05:00, expiring 14:05 −05:00).
DURING = datetime(2026, 3, 1, 18, 10, tzinfo=UTC)
SECRET = "s3cret-for-the-cap-pushes"

EAS: dict[str, Any] = {
    "enabled": True,
    "country": "US",
    "sender_id": "WGMR/FM",
    "same_locations": ["048453"],
    "attention_seconds": 8,
    "cap_secret": SECRET,
}


@dataclass
class AlertWorld:
    ctx: AlertContext
    station: Station
    bus: MemoryBus


@asynccontextmanager
async def alert_world(
    url: str, folder: Path, eas: dict[str, Any] | None = None, *, now: datetime = DURING
) -> AsyncIterator[AlertWorld]:
    """A fresh station (its own id, so its own tracker) with ``eas`` on database ``url``."""
    engine = create_engine(url)
    bus = MemoryBus()
    await bus.connect()
    sessions = session_factory(engine)
    raw = example_config(id=str(uuid.uuid4()), short_name=f"s{uuid.uuid4().hex[:8]}")
    raw["eas"] = dict(EAS if eas is None else eas)
    try:
        async with sessions() as session:
            station, _ = await register_station(session, StationConfig.model_validate(raw))
            await session.commit()
        ctx = AlertContext(sessions, bus, folder, clock=lambda: now)
        yield AlertWorld(ctx, station, bus)
    finally:
        await bus.close()
        await engine.dispose()
