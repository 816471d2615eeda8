"""Realtime: a ``grimnir engine`` process under the supervisor is killed with kill -9;
the executor gets the station back on air at the item that was playing, at its position.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from grimnir.bus import MemoryBus
from grimnir.domain.errors import EngineError
from grimnir.engine.client import EngineEventRecord, GrpcEngineClient, InProcessEngineClient
from grimnir.engine.client.supervisor import EngineSpec, EngineStatus, EngineSupervisor
from grimnir.engine.control import LocalControl
from grimnir.executor import StationExecutor
from grimnir.store.models import AsRun, Station
from tests.executor._station import Sessions, VirtualStation, add_entry, add_media, write_tone

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
    sessions: Sessions, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        if await session.get(Station, STATION_ID) is None:
            session.add(Station(id=STATION_ID, short_name="wgmr-exec", name="WGMR"))
    a = await add_media(sessions, STATION_ID, write_tone(tmp_path / "a.wav", 20, 300), "A")
    b = await add_media(sessions, STATION_ID, write_tone(tmp_path / "b.wav", 4, 500), "B")
    grpc = f"127.0.0.1:{free_port()}"
    # NOTE: paths mean what they say: the example's /var/… folders move under tmp_path.
    config = tmp_path / "station.yaml"
    config.write_text(EXAMPLE.read_text().replace('"/var/', f'"{tmp_path}/var/'))
    argv = [
        sys.executable, "-m", "grimnir", "engine", "--config", str(config), "--grpc", grpc,
        "--http", f"127.0.0.1:{free_port()}", "--burst", "5",
    ]  # fmt: skip
    supervisor = EngineSupervisor([EngineSpec(str(STATION_ID), argv, grpc)])
    client = GrpcEngineClient(grpc, str(STATION_ID), timeout_s=1.0)
    graph = yaml.safe_load(EXAMPLE.read_text())["dsp_graph"]
    bus = MemoryBus()
    started = await bus.subscribe(["item.started"], str(STATION_ID))
    ended = await bus.subscribe(["item.ended"], str(STATION_ID))
    outputs = await bus.subscribe(["output.down", "output.up"], str(STATION_ID))
    # NOTE: no fallback rotation: the test follows the timeline's own items
    ex = StationExecutor(
        STATION_ID, sessions, client, bus, poll_s=0.1, graph=graph, fallback_rotation=False
    )
    await supervisor.start()
    try:
        first_pid = await running_pid(supervisor, 60)
        await ex.start()
        await ex.wait_ready(30)
        now = datetime.now(UTC)
        # NOTE: A is long enough to be still in its slot when a slow machine has restarted
        # the engine (a cut item is resumed only then); how long a restart takes is
        # benchmarks/engine_restart.py's business, not this test's.
        first = await add_entry(sessions, STATION_ID, now + timedelta(seconds=2), 20, media=a)
        second = await add_entry(sessions, STATION_ID, now + timedelta(seconds=22), 4, media=b)
        on_air = await started.get(timeout=30)
        assert on_air.data["entry_id"] == str(first.id)
        await asyncio.sleep(3)
        killed_at = datetime.now(UTC)
        os.kill(first_pid, signal.SIGKILL)
        back = await started.get(timeout=60)
        seen_at = datetime.now(UTC)
        # the station said it was off air (public answers drop their cache on it), then on
        down, up = await outputs.get(timeout=5), await outputs.get(timeout=5)
        assert (down.type, down.data["output"]) == ("output.down", "engine")
        assert (up.type, up.data["output"]) == ("output.up", "engine")
        assert killed_at <= down.at <= up.at <= seen_at
        assert back.data["entry_id"] == str(first.id)  # the same item, not the next one
        (entry, offset_ms), *_ = ex.resumed
        assert entry == str(first.id)
        # Resumed where it was cut: the executor takes the cut from the moment it lost
        # the engine, which lies after the kill (nothing that aired plays twice) and before
        # the item was back (nothing is skipped beyond the outage) ...
        played_s = (killed_at - on_air.at).total_seconds()
        back_s = (seen_at - on_air.at).total_seconds()
        offset_s = offset_ms / 1000
        assert played_s - 0.001 <= offset_s <= back_s + 0.001, (played_s, offset_s, back_s)
        # ... and it is the cut, not the return: the executor hears the engine die at
        # once, while the new one needs a whole start
        assert offset_s - played_s < (back_s - played_s) / 2, (played_s, offset_s, back_s)
        assert await running_pid(supervisor, 60) != first_pid
        nxt = await started.get(timeout=60)
        assert nxt.data["entry_id"] == str(second.id)
        async with asyncio.timeout(60):  # B plays out; its as-run row is closed first
            while (await ended.get(timeout=60)).data["item_id"] != str(second.id):
                pass
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


class AwayEngine(InProcessEngineClient):
    """The station's engine, unreachable until ``back`` (its event stream fails as a
    gRPC one does when nothing listens at the engine's address)."""

    def __init__(self, control: LocalControl) -> None:
        super().__init__(control)
        self.back = False
        self.tries = 0

    async def events(
        self, *, include_telemetry: bool = False, since_frame: int | None = None
    ) -> AsyncGenerator[EngineEventRecord, None]:
        self.tries += 1
        if not self.back:
            raise EngineError("engine at unix:engine.sock is not reachable: connection refused")
        stream = super().events(include_telemetry=include_telemetry, since_frame=since_frame)
        async for record in stream:
            yield record


async def test_the_executor_reaches_a_restarted_engine_when_told_not_at_its_next_retry(
    sessions: Sessions, station_id: uuid.UUID, virtual: VirtualStation, bus: MemoryBus
) -> None:
    """``grimnir up`` tells the executor when the supervisor sees the new engine serve:
    the station is off air until the executor has lined it up, so it goes at once."""
    client = AwayEngine(virtual.control)
    ex = StationExecutor(
        station_id, sessions, client, bus, reconnect_s=600.0, fallback_rotation=False
    )
    await ex.start()
    try:
        async with asyncio.timeout(30):
            while client.tries < 1:
                await asyncio.sleep(0.01)
        client.back = True  # the next try on its own would be ten minutes away
        ex.engine_started()
        await ex.wait_ready(30)
    finally:
        await ex.close()
    assert client.tries == 2


async def test_an_item_whose_slot_ended_while_its_engine_was_dead_is_closed_in_the_log(
    sessions: Sessions, tmp_path: Path
) -> None:
    """The engine dies under an item and is back only after the item's slot is over: it
    is not resumed, and its as-run row ends where the engine died (in error), not never."""
    station_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(Station(id=station_id, short_name="cut-exec", name="Cut"))
    a = await add_media(sessions, station_id, write_tone(tmp_path / "a.wav", 8, 300), "A")
    b = await add_media(sessions, station_id, write_tone(tmp_path / "b.wav", 30, 500), "B")
    grpc = f"127.0.0.1:{free_port()}"
    config = tmp_path / "station.yaml"
    text = EXAMPLE.read_text().replace('"/var/', f'"{tmp_path}/var/')
    config.write_text(text.replace(str(STATION_ID), str(station_id)))
    argv = [
        sys.executable, "-m", "grimnir", "engine", "--config", str(config), "--grpc", grpc,
        "--http", f"127.0.0.1:{free_port()}", "--burst", "5",
    ]  # fmt: skip
    client = GrpcEngineClient(grpc, str(station_id), timeout_s=1.0)
    bus = MemoryBus()
    started = await bus.subscribe(["item.started"], str(station_id))
    ex = StationExecutor(station_id, sessions, client, bus, poll_s=0.1, fallback_rotation=False)
    engine = await asyncio.create_subprocess_exec(*argv, start_new_session=True)
    try:
        await ex.start()
        await ex.wait_ready(60)
        now = datetime.now(UTC)
        first = await add_entry(sessions, station_id, now + timedelta(seconds=2), 8, media=a)
        second = await add_entry(sessions, station_id, now + timedelta(seconds=10), 30, media=b)
        assert (await started.get(timeout=30)).data["entry_id"] == str(first.id)
        await asyncio.sleep(2)
        killed_at = datetime.now(UTC)
        engine.kill()
        await engine.wait()
        await asyncio.sleep(max(0.0, (first.ends_at - datetime.now(UTC)).total_seconds() + 1))
        engine = await asyncio.create_subprocess_exec(*argv, start_new_session=True)
        ex.engine_started()
        back = await started.get(timeout=60)
        assert back.data["entry_id"] == str(second.id)  # A's slot is over: B, joined
    finally:
        await ex.close()
        if engine.returncode is None:
            engine.kill()
            await engine.wait()
        await client.close()
        await bus.close()
    async with sessions() as session:
        row = await session.scalar(select(AsRun).where(AsRun.timeline_entry_id == first.id))
    assert row is not None
    assert row.ended_at is not None, "the cut item's as-run row was left open"
    assert row.end_reason == "error"
    assert (
        killed_at - timedelta(seconds=1)
        <= row.ended_at.replace(tzinfo=UTC)
        <= killed_at + (timedelta(seconds=1))
    )
