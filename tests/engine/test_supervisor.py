"""The supervisor keeps real engine processes running, stops restarting a crash loop,
and leaves no process behind.

The engines are ``python -m grimnir.engine.grpc`` processes on free loopback
ports; crashes are real (``kill -9``, or a process that exits at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from grimnir.domain.errors import GrimnirError
from grimnir.engine.client import GrpcEngineClient
from grimnir.engine.client.supervisor import (
    EngineSpec,
    EngineStatus,
    EngineSupervisor,
    SupervisorEvent,
    SupervisorPolicy,
)

STATION = "wgmr"


def _free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def _engine_spec(station_id: str = STATION) -> EngineSpec:
    address = _free_address()
    argv = [sys.executable, "-m", "grimnir.engine.grpc", "--grpc", address]
    return EngineSpec(
        station_id, [*argv, "--station-id", station_id, "--log-level", "WARNING"], address
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


MARKERS = (b"grimnir.engine.grpc", b"sys.exit(3)", b"SIG_IGN")
"""Command-line parts of the processes these tests start."""


def _our_children() -> list[int]:
    """Pids of engines this test process started that still exist (from /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
            if int(fields[1]) == os.getpid() and any(m in cmdline for m in MARKERS):
                children.append(int(entry.name))
    return children


async def _wait_running(supervisor: EngineSupervisor, station_id: str, timeout: float) -> int:
    async with asyncio.timeout(timeout):
        while True:
            state = supervisor.states()[station_id]
            if state.status is EngineStatus.RUNNING and state.pid is not None:
                return state.pid
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _supervising(supervisor: EngineSupervisor) -> AsyncIterator[EngineSupervisor]:
    await supervisor.start()
    try:
        yield supervisor
    finally:
        await supervisor.stop()


async def test_a_killed_engine_serves_again_within_two_seconds(
    record_property: Callable[[str, object], None],
) -> None:
    spec = _engine_spec()
    events: list[SupervisorEvent] = []
    supervisor = EngineSupervisor([spec], on_event=events.append)
    client = GrpcEngineClient(spec.grpc_address, STATION, timeout_s=0.5)
    pids: list[int] = []
    try:
        async with _supervising(supervisor):
            begun = time.monotonic()
            pids.append(await _wait_running(supervisor, STATION, 60))
            first_start_s = time.monotonic() - begun
            os.kill(pids[0], signal.SIGKILL)
            killed = time.monotonic()
            async with asyncio.timeout(30):
                while True:
                    with contextlib.suppress(GrimnirError):
                        status = await client.status()
                        if status["station_id"] == STATION:
                            break
                    await asyncio.sleep(0.02)
            back_s = time.monotonic() - killed
            pids.append(await _wait_running(supervisor, STATION, 30))
            record_property("first_start_s", round(first_start_s, 3))
            record_property("serving_again_s", round(back_s, 3))
            print(f"\nengine first start {first_start_s:.3f} s; back {back_s:.3f} s after kill -9")
            assert back_s < 2.0
            assert pids[1] != pids[0]
            assert supervisor.states()[STATION].starts == 2
    finally:
        await client.close()
    kinds = [event.type for event in events]
    assert kinds[:4] == ["engine.started", "engine.exited", "engine.restarting", "engine.started"]
    assert kinds[-1] == "engine.stopped"
    # stop() leaves nothing behind
    assert not any(_alive(pid) for pid in pids)
    assert _our_children() == []
    assert supervisor.states()[STATION].status is EngineStatus.STOPPED


async def test_a_crash_loop_raises_the_alarm_and_stops_restarting() -> None:
    spec = EngineSpec("kxyz", [sys.executable, "-c", "import sys; sys.exit(3)"], _free_address())
    events: list[SupervisorEvent] = []
    alarm = asyncio.Event()

    def on_event(event: SupervisorEvent) -> None:
        events.append(event)
        if event.type == "engine.alarm":
            alarm.set()

    policy = SupervisorPolicy(backoff_initial_s=0.05, backoff_max_s=0.2)
    async with _supervising(EngineSupervisor([spec], policy=policy, on_event=on_event)) as sup:
        async with asyncio.timeout(30):
            await alarm.wait()
        await asyncio.sleep(1.0)  # nothing more is started
        state = sup.states()["kxyz"]
        assert state.status is EngineStatus.FAILED
        assert state.starts == 6  # the first start and 5 restarts
        assert state.restarts_in_window == 5
        assert "exited with code 3" in state.message
        assert "restarts have stopped" in state.message
    kinds = [event.type for event in events]
    assert kinds.count("engine.exited") == 6
    assert kinds.count("engine.restarting") == 5
    assert kinds.count("engine.alarm") == 1
    delays = [event.data["delay_s"] for event in events if event.type == "engine.restarting"]
    assert delays == [0.05, 0.1, 0.2, 0.2, 0.2]  # doubling, capped
    assert sup.states()["kxyz"].status is EngineStatus.FAILED  # stays failed after stop


async def test_stop_kills_an_engine_that_ignores_sigterm() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    spec = EngineSpec("kxyz", [sys.executable, "-c", stubborn], _free_address())
    supervisor = EngineSupervisor([spec], policy=SupervisorPolicy(stop_timeout_s=0.5))
    await supervisor.start()
    try:
        async with asyncio.timeout(10):
            while supervisor.states()["kxyz"].pid is None:
                await asyncio.sleep(0.02)
        pid = supervisor.states()["kxyz"].pid
        assert pid is not None
        await asyncio.sleep(0.3)  # let it install its SIGTERM handler
    finally:
        await supervisor.stop()
    assert not _alive(pid)
    assert _our_children() == []
    assert supervisor.states()["kxyz"].status is EngineStatus.STOPPED


async def test_an_engine_left_running_is_adopted_and_replaced_when_it_dies() -> None:
    """A control plane that was killed left its engine on air: the next one takes it over."""
    spec = _engine_spec()
    orphan = subprocess.Popen([*spec.argv], start_new_session=True)
    client = GrpcEngineClient(spec.grpc_address, STATION, timeout_s=0.5)
    events: list[SupervisorEvent] = []
    supervisor = EngineSupervisor([spec], on_event=events.append)
    try:
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(GrimnirError):
                    await client.status()
                    break
                await asyncio.sleep(0.05)
        async with _supervising(supervisor):
            pid = await _wait_running(supervisor, STATION, 10)
            assert pid == orphan.pid
            assert [e.type for e in events] == ["engine.adopted"]
            assert supervisor.states()[STATION].starts == 0
            os.kill(orphan.pid, signal.SIGKILL)
            orphan.wait(timeout=5)
            async with asyncio.timeout(30):
                while supervisor.states()[STATION].starts < 1:
                    await asyncio.sleep(0.05)
            new_pid = await _wait_running(supervisor, STATION, 30)
            assert new_pid != orphan.pid
    finally:
        await client.close()
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(timeout=5)
    assert _our_children() == []


async def test_stop_ends_an_adopted_engine() -> None:
    spec = _engine_spec()
    orphan = subprocess.Popen([*spec.argv], start_new_session=True)
    client = GrpcEngineClient(spec.grpc_address, STATION, timeout_s=0.5)
    supervisor = EngineSupervisor([spec])
    try:
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(GrimnirError):
                    await client.status()
                    break
                await asyncio.sleep(0.05)
        async with _supervising(supervisor):
            assert await _wait_running(supervisor, STATION, 10) == orphan.pid
        assert orphan.wait(timeout=10) is not None
    finally:
        await client.close()
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(timeout=5)
