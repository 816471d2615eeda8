"""An instance in a process of its own, for the SIGSTOP test (test_sigstop.py).

It carries one station as a :class:`ClusterNode` on real clocks and, while it
holds the station, "acts" every 50 ms: it checks its token, writes the
executor's state under :meth:`ClusterNode.fenced` and stands for an engine
command. Each line it prints says what it did, with the token and the
``time.monotonic()`` of the check before it (system-wide on Linux, so the test
can compare it with the moment it sent SIGSTOP).

Run: ``python -m tests.cluster._paused_child URL STATION_ID TTL``.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Collection

from grimnir.cluster import ClusterNode, FencingError, station_resource
from grimnir.domain import ExecutorState
from grimnir.store import create_engine, session_factory
from grimnir.store.models import ExecutorStateRecord


def say(*words: object) -> None:
    print(*words, flush=True)


async def main(url: str, station_id: uuid.UUID, ttl: float) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    resource = station_resource(station_id)
    acting: list[asyncio.Task[None]] = []
    node: ClusterNode

    async def act() -> None:
        n = 0
        try:
            while True:
                checked = time.monotonic()
                token = node.token(resource)
                if token is None:
                    say("stopped", "no-token", f"{time.monotonic():.6f}")
                    return
                async with sessions() as session, session.begin():
                    await node.fenced(session, resource)
                    row = await session.get(ExecutorStateRecord, station_id)
                    if row is None:
                        row = ExecutorStateRecord(station_id=station_id)
                        session.add(row)
                    row.state = ExecutorState.PLAYING
                    row.position_ms = token * 1_000_000 + n
                say("wrote", token, n, f"{checked:.6f}")
                checked = time.monotonic()
                if node.token(resource) == token:
                    say("command", token, n, f"{checked:.6f}")
                n += 1
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            # NOTE: ``lost`` (the node's watchdog) may come first and cancel this task
            say("stopped", "cancelled", f"{time.monotonic():.6f}")
            raise
        except FencingError as e:
            say("stopped", "refused", f"{time.monotonic():.6f}", e)
        except Exception as e:  # its transaction ended by the server while it was paused
            say("stopped", "failed", f"{time.monotonic():.6f}", type(e).__name__)

    async def acquired(name: str, token: int) -> None:
        say("acquired", name, token)
        if name == resource:
            acting.append(asyncio.create_task(act()))

    async def lost(name: str) -> None:
        say("lost", name, f"{time.monotonic():.6f}")
        if name == resource:
            for task in acting:
                task.cancel()

    async def stations() -> Collection[uuid.UUID]:
        return [station_id]

    node = ClusterNode(
        sessions,
        name="child",
        ttl=ttl,
        stations=stations,
        lead=False,
        capacity=0.001,
        on_acquired=acquired,
        on_lost=lost,
    )
    try:
        async with node:
            await asyncio.Event().wait()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2]), float(sys.argv[3])))
