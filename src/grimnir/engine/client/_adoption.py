"""Engines the supervisor did not start itself: left running by a control
plane that died, found at their address, known by the pid they report."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from grimnir.domain.errors import GrimnirError
from grimnir.engine.client._grpc import GrpcEngineClient
from grimnir.engine.v1.status import StatusReport


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def zombie(pid: int) -> bool:
    """True for a process that has ended but whose parent has not reaped it yet."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def started_with(pid: int, argument: str) -> bool:
    """True when process ``pid`` was started with ``argument`` as one of its arguments.

    Without ``/proc`` (not Linux) this cannot be checked and is taken as true.
    """
    proc = Path("/proc")
    if not (proc / "self").is_dir():
        return True
    try:
        arguments = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.fsencode(argument) in arguments


async def end_group(pid: int, sig: signal.Signals, timeout_s: float) -> bool:
    """Signal an adopted engine's process group (its own session); True once it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid) or zombie(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def find_engine(
    address: str, station_id: str, *, marker: str | None = None, timeout_s: float = 1.0
) -> StatusReport | None:
    """The status of the engine a supervisor would adopt at ``address``, or ``None``.

    That is an engine answering there for ``station_id``, alive, and started
    with ``marker`` among its arguments when one is given.
    """
    client = GrpcEngineClient(address, station_id, timeout_s)
    try:
        status = await client.status()
    except GrimnirError:
        return None
    finally:
        await client.close()
    return status if owned_pid(status, station_id, marker) is not None else None


def owned_pid(status: StatusReport, station_id: str, marker: str | None) -> int | None:
    """The pid of the engine whose ``status`` this is, if it is this station's own."""
    pid = status.pid
    if status.station_id is not None and status.station_id != station_id:
        return None
    if pid is None or not alive(pid):
        return None
    if marker is not None and not started_with(pid, marker):
        return None  # another data dir's engine (or a reused pid): never ours to signal
    return pid
