"""Realtime: a ``grimnir engine`` process under the supervisor is killed with kill -9;
the executor gets the station back on air at the item that was playing, at its position.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from grimnir.bus import MemoryBus
from grimnir.engine.client import GrpcEngineClient
from grimnir.engine.client.supervisor import EngineSpec, EngineStatus, EngineSupervisor
from grimnir.executor import StationExecutor
from grimnir.store.models import AsRun, Station
from tests.executor._station import Sessions, add_entry, add_media, write_tone

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION_ID = uuid.UUID("6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def running_pid(supervisor: EngineSupervisor, timeout: float) -> int:
    async with asyncio.timeout(timeout):
        while True:
            state = supervisor.states()[str(STATION_ID)]
            if state.status is EngineStatus.RUNNING and state.pid is not None:
                return state.pid
            await asyncio.sleep(0.02)


async def test_a_killed_engine_is_back_on_air_at_the_right_item(
    sessions: Sessions, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    async with sessions() as session, session.begin():
        if await session.get(Station, STATION_ID) is None:
            session.add(Station(id=STATION_ID, short_name="wgmr-exec", name="WGMR"))
    a = await add_media(sessions, STATION_ID, write_tone(tmp_path / "a.wav", 14, 300), "A")
    b = await add_media(sessions, STATION_ID, write_tone(tmp_path / "b.wav", 4, 500), "B")
    grpc = f"127.0.0.1:{free_port()}"
    argv = [
        sys.executable, "-m", "grimnir", "engine", "--config", str(EXAMPLE), "--grpc", grpc,
        "--http", f"127.0.0.1:{free_port()}", "--path-prefix", str(tmp_path), "--burst", "5",
    ]  # fmt: skip
    supervisor = EngineSupervisor([EngineSpec(str(STATION_ID), argv, grpc)])
    client = GrpcEngineClient(grpc, str(STATION_ID), timeout_s=1.0)
    graph = yaml.safe_load(EXAMPLE.read_text())["dsp_graph"]
    bus = MemoryBus()
    started = await bus.subscribe(["item.started"], str(STATION_ID))
    ex = StationExecutor(STATION_ID, sessions, client, bus, poll_s=0.1, graph=graph)
    await supervisor.start()
    try:
        first_pid = await running_pid(supervisor, 60)
        await ex.start()
        await ex.wait_ready(30)
        now = datetime.now(UTC)
        first = await add_entry(sessions, STATION_ID, now + timedelta(seconds=2), 14, media=a)
        second = await add_entry(sessions, STATION_ID, now + timedelta(seconds=16), 4, media=b)
        on_air = await started.get(timeout=15)
        assert on_air.data["entry_id"] == str(first.id)
        await asyncio.sleep(4)
        killed_at = datetime.now(UTC)
        killed = time.monotonic()
        os.kill(first_pid, signal.SIGKILL)
        back = await started.get(timeout=30)
        back_s = time.monotonic() - killed
        assert back.data["entry_id"] == str(first.id)  # the same item, not the next one
        played_s = (killed_at - on_air.at).total_seconds()
        (entry, offset_ms), *_ = ex.resumed
        record_property("back_on_air_s", round(back_s, 3))
        print(
            f"\nback on air {back_s:.3f} s after kill -9; "
            f"resumed at {offset_ms / 1000:.3f} s, cut at {played_s:.3f} s"
        )
        assert entry == str(first.id)
        assert abs(offset_ms / 1000 - played_s) <= 1.0
        assert back_s < 3.0
        assert await running_pid(supervisor, 5) != first_pid
        nxt = await started.get(timeout=30)
        assert nxt.data["entry_id"] == str(second.id)
        await asyncio.sleep(4.5)
    finally:
        await ex.close()
        await supervisor.stop()
        await client.close()
        await bus.close()
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(AsRun).where(AsRun.station_id == STATION_ID).order_by(AsRun.started_at)
            )
        )
    # the interrupted item keeps one row, continued after the restart
    assert [r.timeline_entry_id for r in rows] == [first.id, second.id]
    assert all(r.ended_at is not None for r in rows)
