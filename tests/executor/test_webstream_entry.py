"""A web-stream timeline entry through the executor: relayed from a real icecast2,
failover to the backup published on the bus, then the next entry on time."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from grimnir.bus import MemoryBus
from grimnir.domain import EntryKind, EntryStatus, Timing
from grimnir.engine.client import InProcessEngineClient
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.executor.station import StationExecutor
from grimnir.store.models import TimelineEntry, Webstream
from grimnir.store.repos import allocate_timeline_seq
from tests._peers import Senders
from tests.executor._station import Sessions, add_entry, add_media, write_tone


async def test_a_webstream_entry_fails_over_and_the_bus_hears_it(
    sessions: Sessions,
    station_id: uuid.UUID,
    bus: MemoryBus,
    senders: Senders,
    tmp_path: Path,
) -> None:
    senders.start("primary", 440.0)
    senders.start("backup", 880.0)
    song = await add_media(
        sessions, station_id, write_tone(tmp_path / "after.wav", 3.0, 300.0), "After"
    )
    start = datetime.now(UTC) + timedelta(seconds=2)
    async with sessions() as session, session.begin():
        stream = Webstream(
            station_id=station_id,
            name="Relay",
            urls=[senders.url("primary"), senders.url("backup")],
            grace_ms=1000,
        )
        session.add(stream)
        await session.flush()
        seq = await allocate_timeline_seq(session, station_id)
        session.add(
            TimelineEntry(
                station_id=station_id,
                seq=seq,
                starts_at=start,
                ends_at=start + timedelta(seconds=8),
                kind=EntryKind.WEBSTREAM,
                status=EntryStatus.PLANNED,
                timing=Timing.HARD,
                webstream_id=stream.id,
                title="Relay",
            )
        )
    await add_entry(sessions, station_id, start + timedelta(seconds=8), 3.0, media=song)

    engine = Engine(RealtimeClock(burst=5), EngineOptions(realtime=True, process_blocks=5))
    loop = threading.Thread(target=engine.run, daemon=True)
    loop.start()
    subscription = await bus.subscribe(["webstream.*", "item.started"])
    executor = StationExecutor(
        station_id, sessions, InProcessEngineClient(LocalControl(engine, str(station_id))), bus
    )
    seen: list[str] = []
    try:
        await executor.start()

        async def hear(kind: str, seconds: float) -> bool:
            deadline = asyncio.get_running_loop().time() + seconds
            while asyncio.get_running_loop().time() < deadline:
                try:
                    event = await subscription.get(timeout=0.2)
                except TimeoutError:
                    continue
                seen.append(event.type)
                if event.type == kind:
                    return True
            return False

        assert await hear("item.started", 10), seen  # the relay went on air
        await asyncio.sleep(1.5)
        senders.kill("primary")
        assert await hear("webstream.failover", 8), seen
        assert await hear("item.started", 12), seen  # the next entry, after the slot
    finally:
        await executor.close()
        await subscription.close()
        engine.close()
        loop.join(timeout=5)
