"""The supervisor keeps real engine processes running, stops restarting a crash loop,
and leaves no process behind.

The engines are ``python -m grimnir.engine.grpc`` processes on free loopback
ports or unix socket files; crashes are real (``kill -9``, or a process that
exits at once), and so are taken addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from grimnir.domain.errors import EXIT_CONFIG, GrimnirError
from grimnir.engine.client import GrpcEngineClient, StatusReport
from grimnir.engine.client.supervisor import (
    EngineSpec,
    EngineStatus,
    EngineSupervisor,
    SupervisorEvent,
    SupervisorPolicy,
)
from tests.engine._stations import Alarms

STATION = "wgmr"


def _free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def _engine_spec(station_id: str = STATION, address: str | None = None) -> EngineSpec:
    """An engine process; its address doubles as the marker of "our own" engine."""
    address = address or _free_address()
    argv = [sys.executable, "-m", "grimnir.engine.grpc", "--grpc", address]
    return EngineSpec(
        station_id,
        [*argv, "--station-id", station_id, "--log-level", "WARNING"],
        address,
        marker=address,
    )


def _address(kind: str, folder: Path) -> str:
    """A TCP address, or a socket file deeper than the 107 bytes a socket path may have."""
    if kind == "tcp":
        return _free_address()
    deep = folder / ("station-folder-" + "x" * 100)
    deep.mkdir()
    return f"unix:{deep / 'engine.sock'}"


async def _wait_answering(client: GrpcEngineClient, timeout: float) -> StatusReport:
    async with asyncio.timeout(timeout):
        while True:
            with contextlib.suppress(GrimnirError):
                return await client.status()
            await asyncio.sleep(0.05)


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


async def test_a_killed_engine_is_restarted_after_the_first_backoff_and_serves_again() -> None:
    """Killed the moment it serves (before ``healthy_run_s``, as if it died starting).
    How long a restart takes is measured by ``benchmarks/engine_restart.py``; here,
    what the supervisor decides: it sees the exit itself (no failed health checks
    first), waits only the initial backoff, and the new process serves."""
    spec = _engine_spec()
    events: list[SupervisorEvent] = []
    supervisor = EngineSupervisor([spec], on_event=events.append)
    client = GrpcEngineClient(spec.grpc_address, STATION, timeout_s=0.5)
    pids: list[int] = []
    try:
        async with _supervising(supervisor):
            pids.append(await _wait_running(supervisor, STATION, 60))
            os.kill(pids[0], signal.SIGKILL)
            async with asyncio.timeout(60):
                while True:
                    with contextlib.suppress(GrimnirError):
                        status = await client.status()
                        if status.station_id == STATION and status.pid != pids[0]:
                            break
                    await asyncio.sleep(0.02)
            pids.append(await _wait_running(supervisor, STATION, 60))
            assert pids[1] != pids[0]
            assert status.pid == pids[1]  # the new process answered
            assert supervisor.states()[STATION].starts == 2
    finally:
        await client.close()
    kinds = [event.type for event in events]
    assert kinds[:4] == ["engine.started", "engine.exited", "engine.restarting", "engine.started"]
    assert events[0].data["pid"] == pids[0]
    assert events[1].data["returncode"] == -signal.SIGKILL
    assert events[2].data["delay_s"] == SupervisorPolicy().backoff_initial_s
    assert events[3].data["pid"] == pids[1]
    assert kinds[-1] == "engine.stopped"
    # stop() leaves nothing behind
    assert not any(_alive(pid) for pid in pids)
    assert _our_children() == []
    assert supervisor.states()[STATION].status is EngineStatus.STOPPED


async def test_an_engine_that_ran_healthy_is_restarted_at_once() -> None:
    """A crash of an engine that had been running is a crash, not a loop: no backoff
    (the station is off air until the new engine serves). The backoff here is longer
    than the test waits, so a restart that waited for it would fail the test."""
    spec = _engine_spec()
    events: list[SupervisorEvent] = []
    policy = SupervisorPolicy(healthy_run_s=0.3, backoff_initial_s=600.0)
    supervisor = EngineSupervisor([spec], policy=policy, on_event=events.append)
    async with _supervising(supervisor):
        first = await _wait_running(supervisor, STATION, 60)
        await asyncio.sleep(1.0)  # ran healthy (healthy_run_s)
        os.kill(first, signal.SIGKILL)
        async with asyncio.timeout(60):
            while supervisor.states()[STATION].starts < 2:
                await asyncio.sleep(0.02)
        second = await _wait_running(supervisor, STATION, 60)
    assert second != first
    kinds = [event.type for event in events]
    assert kinds[:4] == ["engine.started", "engine.exited", "engine.restarting", "engine.started"]
    assert events[2].data["delay_s"] == 0.0
    assert _our_children() == []


async def test_crashes_after_healthy_runs_raise_the_alarm_but_are_not_slowed_down() -> None:
    """An engine that keeps dying after it ran healthy: a human should look (the alarm,
    once), but the restarts stay immediate; a slow retry would only add dead air."""
    spec = _engine_spec()
    watch = Alarms()
    policy = SupervisorPolicy(
        healthy_run_s=0.3, max_restarts=2, backoff_initial_s=600.0, crash_loop_retry_s=600.0
    )
    supervisor = EngineSupervisor([spec], policy=policy, on_event=watch)
    pids: list[int] = []
    async with _supervising(supervisor):
        for _ in range(4):
            async with asyncio.timeout(60):
                while (pid := await _wait_running(supervisor, STATION, 60)) in pids:
                    await asyncio.sleep(0.02)
            pids.append(pid)
            if len(pids) < 4:
                await asyncio.sleep(0.6)  # ran healthy
                os.kill(pid, signal.SIGKILL)
        assert watch.raised.is_set()
        state = supervisor.states()[STATION]
        assert state.status is EngineStatus.RUNNING
        assert state.starts == 4
    kinds = [event.type for event in watch.events]
    assert kinds.count("engine.alarm") == 1
    assert kinds.index("engine.alarm") == len(kinds) - 4  # at the third crash, then restarted
    assert kinds[-3:] == ["engine.restarting", "engine.started", "engine.stopped"]
    delays = [e.data["delay_s"] for e in watch.events if e.type == "engine.restarting"]
    assert delays == [0.0, 0.0, 0.0]
    assert _our_children() == []


async def test_a_crash_loop_raises_the_alarm_and_slows_the_restarts_down() -> None:
    spec = EngineSpec("kxyz", [sys.executable, "-c", "import sys; sys.exit(3)"], _free_address())
    watch = Alarms()
    events, alarm, on_event = watch.events, watch.raised, watch

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
        assert "now tried every 60 s" in state.message
    kinds = [event.type for event in events]
    assert kinds.count("engine.exited") == 6
    assert kinds.count("engine.restarting") == 5
    assert kinds.count("engine.alarm") == 1
    delays = [event.data["delay_s"] for event in events if event.type == "engine.restarting"]
    assert delays == [0.05, 0.1, 0.2, 0.2, 0.2]  # doubling, capped
    assert sup.states()["kxyz"].status is EngineStatus.FAILED  # stays failed after stop


async def test_after_a_crash_loop_the_engine_is_tried_again_and_comes_back_by_itself(
    tmp_path: Path,
) -> None:
    """The supervisor never gives a station up: an engine that crashed ten times (a full
    disk, a device away) is tried again at the slow pace, serves, and the alarm clears."""
    count = tmp_path / "starts"
    real = _engine_spec()
    flaky = (
        "import os, sys\n"
        f"path = {str(count)!r}\n"
        "n = int(open(path).read()) if os.path.exists(path) else 0\n"
        "open(path, 'w').write(str(n + 1))\n"
        "if n < 10:\n"
        "    sys.exit(3)\n"
        f"os.execv(sys.executable, {list(real.argv)!r})\n"
    )
    spec = EngineSpec(STATION, [sys.executable, "-c", flaky], real.grpc_address, marker="flaky")
    watch = Alarms()
    policy = SupervisorPolicy(
        backoff_initial_s=0.05, backoff_max_s=0.1, crash_loop_retry_s=0.3, backoff_reset_s=1.0
    )
    async with _supervising(EngineSupervisor([spec], policy=policy, on_event=watch)) as sup:
        async with asyncio.timeout(60):
            while "engine.recovered" not in [e.type for e in watch.events]:
                await asyncio.sleep(0.05)
        state = sup.states()[STATION]
        assert state.status is EngineStatus.RUNNING
        assert state.starts == 11
        client = GrpcEngineClient(real.grpc_address, STATION, 2.0)
        try:
            await _wait_answering(client, 10)
        finally:
            await client.close()
    kinds = [event.type for event in watch.events]
    assert kinds.count("engine.alarm") == 1  # raised once, not per slow retry
    assert kinds.count("engine.exited") == 10
    assert kinds.index("engine.alarm") < kinds.index("engine.started")
    assert kinds.index("engine.started") < kinds.index("engine.recovered")


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


@pytest.mark.parametrize("kind", ["tcp", "unix"])
async def test_an_engine_left_running_is_adopted_and_replaced_when_it_dies(
    kind: str, tmp_path: Path
) -> None:
    """A control plane that was killed left its engine on air: the next one takes it over."""
    spec = _engine_spec(address=_address(kind, tmp_path))
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


async def test_an_engine_on_a_unix_socket_comes_back_over_its_stale_socket(
    tmp_path: Path,
) -> None:
    """kill -9 leaves the socket file behind; the restarted engine replaces it and serves."""
    address = _address("unix", tmp_path)
    socket_file = Path(address.removeprefix("unix:"))
    spec = _engine_spec(address=address)
    supervisor = EngineSupervisor([spec])
    client = GrpcEngineClient(address, STATION, timeout_s=0.5)
    try:
        async with _supervising(supervisor):
            first = await _wait_running(supervisor, STATION, 60)
            assert (await _wait_answering(client, 10)).pid == first
            assert socket_file.is_socket()
            assert socket_file.stat().st_mode & 0o777 == 0o600  # only its user controls it
            os.kill(first, signal.SIGKILL)
            async with asyncio.timeout(60):
                while supervisor.states()[STATION].starts < 2:
                    await asyncio.sleep(0.05)
            second = await _wait_running(supervisor, STATION, 60)
            assert second != first
            assert (await _wait_answering(client, 10)).pid == second
    finally:
        await client.close()
    assert not socket_file.exists()  # a clean stop takes its socket away
    assert _our_children() == []


async def test_an_engine_whose_address_is_taken_is_reported_at_once_not_restarted() -> None:
    watch = Alarms()
    events, alarm, on_event = watch.events, watch.raised, watch

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        spec = _engine_spec(address=address)
        async with _supervising(EngineSupervisor([spec], on_event=on_event)) as sup:
            async with asyncio.timeout(60):
                await alarm.wait()
            state = sup.states()[STATION]
    assert state.status is EngineStatus.FAILED
    assert state.starts == 1
    assert f"cannot listen for gRPC on {address}" in state.message  # the engine's own words
    assert "not restarted" in state.message
    assert [e.type for e in events] == ["engine.exited", "engine.alarm", "engine.stopped"]
    assert events[0].data["returncode"] == EXIT_CONFIG
    assert address in events[1].data["reason"]
    assert _our_children() == []


async def test_an_engine_of_another_data_dir_is_never_adopted_or_touched() -> None:
    """Same station id and address (a TCP port asked for twice), another data dir's engine:
    it is left alone, and ours reports the taken address instead of fighting for it."""
    foreign = _engine_spec()
    orphan = subprocess.Popen([*foreign.argv], start_new_session=True)
    client = GrpcEngineClient(foreign.grpc_address, STATION, timeout_s=0.5)
    ours = EngineSpec(
        STATION, foreign.argv, foreign.grpc_address, marker="/other/data/stations/wgmr.yaml"
    )
    events: list[SupervisorEvent] = []
    supervisor = EngineSupervisor([ours], on_event=events.append)
    try:
        await _wait_answering(client, 60)
        async with _supervising(supervisor):
            async with asyncio.timeout(60):
                while supervisor.states()[STATION].status is not EngineStatus.FAILED:
                    await asyncio.sleep(0.05)
            assert "already in use" in supervisor.states()[STATION].message
        assert "engine.adopted" not in [e.type for e in events]
        assert orphan.poll() is None  # never signalled
        assert (await client.status()).pid == orphan.pid
    finally:
        await client.close()
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(timeout=5)
