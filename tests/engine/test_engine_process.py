"""``grimnir engine`` as a process: the example station as it is, a dying controller,
and the supervisor bringing a killed engine back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from grimnir.domain.errors import GrimnirError
from grimnir.engine.client import EngineEventRecord, GrpcEngineClient, StatusReport
from grimnir.engine.client.supervisor import (
    EngineSpec,
    EngineStatus,
    EngineSupervisor,
    SupervisorEvent,
    SupervisorPolicy,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION_ID = "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11"
MakeMedia = Callable[..., Path]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_copy(config: Path, folder: Path) -> Path:
    """``config`` with its ``/var/…`` output folders moved under ``folder``.

    Paths mean what they say, so the example as written would record into the
    machine's /var/recordings/wgmr.
    """
    copy = folder / f"{config.stem}.local.yaml"
    copy.write_text(config.read_text().replace('"/var/', f'"{folder}/var/'))
    return copy


def engine_argv(config: Path, grpc: str, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grimnir",
        "engine",
        "--config",
        str(local_copy(config, folder)),
        "--grpc",
        grpc,
        "--http",
        f"127.0.0.1:{free_port()}",
        "--burst",
        "5",
    ]


@contextlib.contextmanager
def engine_process(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


async def wait_serving(client: GrpcEngineClient, seconds: float) -> StatusReport:
    async with asyncio.timeout(seconds):
        while True:
            with contextlib.suppress(GrimnirError):
                return await client.status()
            await asyncio.sleep(0.05)


async def test_runs_the_example_station_as_it_is(tmp_path: Path) -> None:
    grpc = f"127.0.0.1:{free_port()}"
    with engine_process(engine_argv(EXAMPLE, grpc, tmp_path)) as proc:
        client = GrpcEngineClient(grpc, STATION_ID, timeout_s=1.0)
        try:
            status = await wait_serving(client, 30)
            assert status.station_id == STATION_ID
            outputs = {o.name: o.state for o in status.outputs}
            # Icecast on localhost:8000 is not running here: the output keeps
            # retrying instead of stopping the station.
            assert any(
                name.startswith("icecast") and state != "up" for name, state in outputs.items()
            )
            hls = tmp_path / "var" / "www" / "hls" / "wgmr"
            async with asyncio.timeout(30):
                while not list(hls.glob("*.m3u8")):
                    await asyncio.sleep(0.2)
            recordings = tmp_path / "var" / "recordings" / "wgmr"
            assert any(p.is_file() for p in recordings.rglob("*"))
        finally:
            await client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


CONTROLLER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from grimnir.engine.client import GrpcEngineClient, PlayRequest

    async def main():
        client = GrpcEngineClient(sys.argv[1], sys.argv[2])
        await client.play(PlayRequest("a", sys.argv[3], title="A"))
        await client.play(PlayRequest("b", sys.argv[4], title="B"))
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_queued_items_play_on_after_the_controller_dies_then_fallback(
    tmp_path: Path, make_media: MakeMedia
) -> None:
    a = make_media("a.wav", seconds=2.0, freq_hz=300, level_db=-10, rate=48_000)
    b = make_media("b.wav", seconds=2.0, freq_hz=500, level_db=-10, rate=48_000)
    bed = make_media("bed.wav", seconds=5.0, freq_hz=700, level_db=-10, rate=48_000)
    config = tmp_path / "station.yaml"
    config.write_text(
        EXAMPLE.read_text().replace(
            "  live_timeout_sec: 30\n",
            f"  live_timeout_sec: 30\n  fallback_paths: ['{bed}']\n",
        )
    )
    grpc = f"127.0.0.1:{free_port()}"
    events: list[EngineEventRecord] = []
    with engine_process(engine_argv(config, grpc, tmp_path)):
        observer = GrpcEngineClient(grpc, STATION_ID, timeout_s=1.0)
        try:
            await wait_serving(observer, 30)

            async def watch() -> None:
                b_ended = False
                async for event in observer.events():
                    events.append(event)
                    if event.type == "item.ended" and event.data.get("item_id") == "b":
                        b_ended = True
                    elif (
                        b_ended and event.type == "layer.changed" and event.data["to"] == "fallback"
                    ):
                        return

            watcher = asyncio.create_task(watch())
            controller = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CONTROLLER, grpc, STATION_ID, str(a), str(b)
            )
            assert await asyncio.wait_for(controller.wait(), 30) == -signal.SIGKILL
            await asyncio.wait_for(watcher, 30)
        finally:
            await observer.close()
    items = [
        (e.type, e.data.get("item_id"), e.frame)
        for e in events
        if e.type.startswith("item.") and e.data.get("layer") == "automation"
    ]
    started = {item: frame for kind, item, frame in items if kind == "item.started"}
    ended = {item: frame for kind, item, frame in items if kind == "item.ended"}
    assert set(started) == {"a", "b"}
    assert ended["a"] == started["b"]  # back to back: no gap when the controller died
    fallback = events[-1]
    assert fallback.data["to"] == "fallback"
    # The queue ran dry: fallback on the frame b ended, not after silence_duration_sec.
    assert fallback.frame == ended["b"]


@contextlib.asynccontextmanager
async def supervising(supervisor: EngineSupervisor) -> AsyncIterator[EngineSupervisor]:
    await supervisor.start()
    try:
        yield supervisor
    finally:
        await supervisor.stop()


async def test_the_supervisor_brings_a_killed_grimnir_engine_back(tmp_path: Path) -> None:
    """kill -9 the moment it serves, then the supervisor's own steps in order: exit
    seen, restart after the initial backoff (it had not run healthy yet), the new
    ``grimnir engine`` serving. How long a restart takes is measured by
    ``benchmarks/engine_restart.py``."""
    grpc = f"127.0.0.1:{free_port()}"
    spec = EngineSpec(STATION_ID, engine_argv(EXAMPLE, grpc, tmp_path), grpc)
    events: list[SupervisorEvent] = []
    supervisor = EngineSupervisor([spec], on_event=events.append)
    client = GrpcEngineClient(grpc, STATION_ID, timeout_s=0.5)
    try:
        async with supervising(supervisor):
            first = await wait_serving(client, 60)
            async with asyncio.timeout(60):  # the supervisor's own check has seen it serve
                while supervisor.states()[STATION_ID].status is not EngineStatus.RUNNING:
                    await asyncio.sleep(0.05)
            pid = supervisor.states()[STATION_ID].pid
            assert pid is not None
            assert first.pid == pid
            os.kill(pid, signal.SIGKILL)
            async with asyncio.timeout(60):  # a bound for waiting, not a claim
                while (again := await wait_serving(client, 60)).pid == pid:
                    await asyncio.sleep(0.05)
            async with asyncio.timeout(60):  # the next health check marks it running
                while supervisor.states()[STATION_ID].status is not EngineStatus.RUNNING:
                    await asyncio.sleep(0.05)
            assert supervisor.states()[STATION_ID].starts == 2
            assert again.pid == supervisor.states()[STATION_ID].pid
    finally:
        await client.close()
    kinds = [event.type for event in events]
    assert kinds[:4] == ["engine.started", "engine.exited", "engine.restarting", "engine.started"]
    assert events[1].data["returncode"] == -signal.SIGKILL
    assert events[2].data["delay_s"] == SupervisorPolicy().backoff_initial_s
    assert events[3].data["pid"] == again.pid


def test_grimnir_engine_starts_without_the_control_plane() -> None:
    """A restarted engine is off air until it serves: ``grimnir engine`` loads what it
    runs on (its config, the engine, gRPC), not the database, the library or the API
    the other commands need (seconds of a restart on a busy machine), nor rich before
    its banner."""
    probe = textwrap.dedent(
        """
        import sys
        import grimnir.cli._engine, grimnir.config.station
        import grimnir.engine.grpc, grimnir.engine.runtime
        heavy = ("sqlalchemy", "alembic", "fastapi", "httpx", "rich", "pydantic_settings",
                 "grimnir.store", "grimnir.library", "grimnir.api", "grimnir.cli._app")
        print(sorted(name for name in heavy if name in sys.modules))
        sys.argv = ["grimnir", "engine", "--help"]
        from grimnir.cli import main
        try:
            main()
        except SystemExit:
            pass
        print("grimnir.cli._app" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "[]"
    assert "grimnir engine" in done.stdout  # its own help: `main` ran the command alone
    assert lines[-1] == "False"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
