"""``grimnir engine`` and the addresses it must listen on: controlled over a unix
socket, a taken port is one clear line and a distinct exit status, and its
supervisor reports that at once instead of restarting into the same wall."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grimnir.domain.errors import EXIT_CONFIG
from grimnir.engine.client import GrpcEngineClient, StreamAddress
from grimnir.engine.client.supervisor import (
    EngineSpec,
    EngineStatus,
    EngineSupervisor,
)
from tests.engine._stations import Alarms
from tests.engine.test_engine_process import (
    EXAMPLE,
    STATION_ID,
    free_port,
    local_copy,
    wait_serving,
)


def grimnir_engine(folder: Path, grpc: str, http: str) -> list[str]:
    config = local_copy(EXAMPLE, folder)
    command = [sys.executable, "-m", "grimnir", "engine", "--config", str(config)]
    return [*command, "--grpc", grpc, "--http", http, "--burst", "5"]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_a_taken_listener_port_is_one_line_and_a_distinct_exit_status(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        grpc = f"unix:{tmp_path / 'engine.sock'}"
        done = run(grimnir_engine(tmp_path, grpc, f"127.0.0.1:{port}"))
    assert done.returncode == EXIT_CONFIG
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert f"port {port} in use" in errors[0]
    assert "--http" in errors[0]  # what to change
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "engine.sock").exists()  # it never served control


async def test_the_engine_serves_control_on_a_unix_socket_and_replaces_a_stale_one(
    tmp_path: Path,
) -> None:
    sock = tmp_path / "engine.sock"
    with socket.socket(socket.AF_UNIX) as dead:  # a socket file nobody serves on any more
        dead.bind(str(sock))
    http = free_port()
    argv = grimnir_engine(tmp_path, f"unix:{sock}", f"127.0.0.1:{http}")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    client = GrpcEngineClient(f"unix:{sock}", STATION_ID, timeout_s=1.0)
    try:
        status = await wait_serving(client, 60)
        assert status.pid == proc.pid
        assert status.stream_server == StreamAddress("127.0.0.1", http)

        # A second engine on the same socket is refused, and the first serves on.
        second = await asyncio.to_thread(
            run, grimnir_engine(tmp_path, f"unix:{sock}", f"127.0.0.1:{free_port()}")
        )
        assert second.returncode == EXIT_CONFIG
        assert f"{sock} is already in use" in second.stderr
        assert (await client.status()).pid == proc.pid
    finally:
        await client.close()
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert not sock.exists()


async def test_the_supervisor_reports_a_taken_port_at_once_without_restarting(
    tmp_path: Path,
) -> None:
    watch = Alarms()
    events, alarm, on_event = watch.events, watch.raised, watch

    grpc = f"unix:{tmp_path / 'engine.sock'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = EngineSpec(STATION_ID, grimnir_engine(tmp_path, grpc, f"127.0.0.1:{port}"), grpc)
        supervisor = EngineSupervisor([spec], on_event=on_event)
        await supervisor.start()
        try:
            async with asyncio.timeout(120):
                await alarm.wait()
            state = supervisor.states()[STATION_ID]
        finally:
            await supervisor.stop()
    assert state.status is EngineStatus.FAILED
    assert state.starts == 1
    assert f"port {port} in use" in state.message
    assert "not restarted" in state.message
    kinds = [event.type for event in events]
    assert "engine.restarting" not in kinds
    assert kinds[:2] == ["engine.exited", "engine.alarm"]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
