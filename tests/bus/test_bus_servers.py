"""What only a networked bus has: lost connections, restarts, missing servers, foreign payloads."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime

import nats
import pytest
from redis.asyncio import Redis

from grimnir.bus import (
    BUS_GAP,
    NOW_PLAYING,
    BusError,
    Event,
    EventBus,
    NatsBus,
    RedisBus,
    Subscription,
)
from tests._require import skip_or_fail
from tests.bus._bus_helpers import (
    NATS_URL,
    REDIS_URL,
    collect,
    connect_or_skip,
    make_bus,
    unique_prefix,
    wait_until,
)


def ev(n: int, marker: str = "") -> Event:
    return Event(NOW_PLAYING, "st-a", datetime.now(UTC), {"n": n, "marker": marker})


async def first_after_outage(
    bus: EventBus, sub: Subscription, timeout: float = 20, gaps: list[Event] | None = None
) -> Event:
    """Publish numbered events until ``sub`` gets one: proof that delivery resumed
    (``bus.gap`` notices on the way are kept in ``gaps``)."""
    n = 0
    async with asyncio.timeout(timeout):
        while True:
            await bus.publish(ev(n, "retry"))
            n += 1
            try:
                event = await sub.get(timeout=0.2)
            except TimeoutError:
                continue
            if event.type != BUS_GAP:
                return event
            if gaps is not None:
                gaps.append(event)


async def resumes_in_order(
    bus: EventBus, sub: Subscription, gaps: list[Event] | None = None
) -> list[int]:
    """After an outage, five new events arrive once each and in order."""
    for i in range(5):
        await bus.publish(ev(i, "after"))
    got: list[int] = []
    async with asyncio.timeout(10):
        while len(got) < 5:
            event = await anext(sub)
            if event.data.get("marker") == "after":
                got.append(event.data["n"])
            elif event.type == BUS_GAP and gaps is not None:
                gaps.append(event)
    return got


async def redis_patterns(admin: Redis, name: str) -> list[tuple[int, int]]:
    """(client id, pattern count) of every connection named ``name`` that listens."""
    clients = await admin.client_list()
    return [
        (int(c["id"]), int(c["psub"]))
        for c in clients
        if c.get("name") == name and "P" in c["flags"]
    ]


@asynccontextmanager
async def redis_bus() -> AsyncIterator[tuple[RedisBus, Redis]]:
    bus = RedisBus(REDIS_URL, prefix=unique_prefix(), connect_timeout=3.0)
    await connect_or_skip("redis", bus)
    admin = Redis.from_url(REDIS_URL)
    try:
        yield bus, admin
    finally:
        await admin.aclose()
        await bus.close()


@pytest.mark.redis
async def test_redis_subscription_resumes_after_its_connection_is_killed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="grimnir.bus")
    async with redis_bus() as (bus, admin):
        sub = await bus.subscribe([NOW_PLAYING])
        await bus.publish(ev(-1))
        assert [e.data["n"] for e in await collect(sub, 1)] == [-1]
        [(old_id, _)] = await redis_patterns(admin, bus.client_name)
        # NOTE: kill only this bus's listener (CLIENT KILL TYPE pubsub would also hit
        # the subscribers of tests running in parallel on the same server).
        assert await admin.client_kill_filter(_id=str(old_id)) == 1
        first = await first_after_outage(bus, sub)
        assert first.data["marker"] == "retry"
        assert await resumes_in_order(bus, sub) == [0, 1, 2, 3, 4]
        listeners = await redis_patterns(admin, bus.client_name)
        assert len(listeners) == 1
        assert listeners[0][0] != old_id
        assert bus.reconnects == 1
    assert "lost its connection" in caplog.text
    assert "reconnected" in caplog.text


@pytest.mark.redis
async def test_redis_shares_patterns_and_drops_them_on_close() -> None:
    async with redis_bus() as (bus, admin):
        name = bus.client_name

        async def pattern_count(expected: int) -> None:
            async with asyncio.timeout(5):
                while sum(p for _, p in await redis_patterns(admin, name)) != expected:
                    await asyncio.sleep(0.02)

        a = await bus.subscribe(["item.*"])
        b = await bus.subscribe(["item.*"])  # same pattern: one PSUBSCRIBE
        c = await bus.subscribe(station_id="st-a")
        await pattern_count(2)
        await a.close()
        await pattern_count(2)
        await b.close()
        await pattern_count(1)
        await c.close()
        await pattern_count(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateServer:
    """A throwaway redis-server or nats-server on a free port that a test may restart."""

    def __init__(self, kind: str, program: str, workdir: str) -> None:
        self.port = free_port()
        if kind == "redis":
            self.argv = [program, "--port", str(self.port), "--bind", "127.0.0.1"]
            self.argv += ["--save", "", "--appendonly", "no", "--dir", workdir]
            self.url = f"redis://127.0.0.1:{self.port}/0"
        else:
            self.argv = [program, "-a", "127.0.0.1", "-p", str(self.port)]
            self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.argv[0]} did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    def restart(self) -> None:
        """kill -9 and start again on the same port, as a crashed and restarted server."""
        self.stop()
        time.sleep(0.3)  # let the clients notice the outage
        self.start()


@contextmanager
def private_server(kind: str) -> Iterator[PrivateServer]:
    program = shutil.which("redis-server" if kind == "redis" else "nats-server")
    if program is None:
        skip_or_fail(f"{kind} server program not installed: `make peers` installs it")
    workdir = tempfile.mkdtemp(prefix=f"grimnir-{kind}-")
    server = PrivateServer(kind, program, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize(
    "kind",
    [pytest.param("redis", marks=pytest.mark.redis), pytest.param("nats", marks=pytest.mark.nats)],
)
async def test_subscription_resumes_after_a_server_restart(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grimnir.bus")
    with private_server(kind) as server:
        bus: EventBus = (
            RedisBus(server.url, connect_timeout=3.0, max_backoff=0.5)
            if kind == "redis"
            else NatsBus(server.url, connect_timeout=3.0, reconnect_wait=0.2)
        )
        async with bus:
            sub = await bus.subscribe()
            await bus.publish(ev(-1))
            assert [e.data["n"] for e in await collect(sub, 1)] == [-1]
            await asyncio.to_thread(server.restart)
            gaps: list[Event] = []
            await first_after_outage(bus, sub, gaps=gaps)
            assert await resumes_in_order(bus, sub, gaps) == [0, 1, 2, 3, 4]
            # the subscriber was told it may have missed events meanwhile
            assert [gap.type for gap in gaps] == [BUS_GAP]
    assert "lost its connection" in caplog.text
    assert "reconnected" in caplog.text


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (
            lambda: RedisBus("redis://bus:s3cret@127.0.0.1:1/0", connect_timeout=1),
            "redis://bus:***@",
        ),
        (lambda: NatsBus("nats://bus:s3cret@127.0.0.1:1", connect_timeout=1), "nats://bus:***@"),
    ],
    ids=["redis", "nats"],
)
async def test_missing_server_is_a_clear_error(make: Callable[[], EventBus], shown: str) -> None:
    bus = make()
    try:
        with pytest.raises(BusError, match="not reachable at") as caught:
            await bus.publish(ev(0))  # connects on first use
        assert shown in str(caught.value)
        assert "s3cret" not in str(caught.value)
        with pytest.raises(BusError, match="not reachable"):
            await bus.subscribe()
    finally:
        await bus.close()


@pytest.mark.parametrize(
    "kind",
    [pytest.param("redis", marks=pytest.mark.redis), pytest.param("nats", marks=pytest.mark.nats)],
)
async def test_foreign_payloads_are_logged_and_skipped(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grimnir.bus")
    prefix = unique_prefix()
    bus = make_bus(kind, prefix)
    await connect_or_skip(kind, bus)
    try:
        sub = await bus.subscribe()
        name = f"{prefix}._.now_playing"
        junk = [
            b"not json",
            b'{"type": "x"}',
            b'{"id":"1","type":"a b","station_id":null,"at":"2024-01-01T00:00:00+00:00","data":{}}',
        ]
        if kind == "redis":
            async with Redis.from_url(REDIS_URL) as raw:
                for payload in junk:
                    await raw.publish(name, payload)
        else:
            raw_nats = await nats.connect(NATS_URL)
            try:
                for payload in junk:
                    await raw_nats.publish(name, payload)
                await raw_nats.flush()
            finally:
                await raw_nats.close()
        good = ev(1)
        await bus.publish(good)
        assert await collect(sub, 1) == [good]
        await wait_until(lambda: caplog.text.count("malformed event") == 3)
    finally:
        await bus.close()


@pytest.mark.parametrize(
    "kind",
    [pytest.param("redis", marks=pytest.mark.redis), pytest.param("nats", marks=pytest.mark.nats)],
)
async def test_a_bus_says_when_its_server_is_gone_and_back(kind: str) -> None:
    """What ``/readyz`` reads: not connected while the server is down, connected
    again once the bus has reconnected by itself."""

    async def until(wanted: bool) -> bool:
        async with asyncio.timeout(30):
            while bus.connected is not wanted:
                await asyncio.sleep(0.05)
        return True

    with private_server(kind) as server:
        bus: EventBus = (
            RedisBus(server.url, connect_timeout=3.0, max_backoff=0.5)
            if kind == "redis"
            else NatsBus(server.url, connect_timeout=3.0, reconnect_wait=0.2)
        )
        async with bus:
            await bus.subscribe()
            assert bus.connected
            await asyncio.to_thread(server.stop)
            assert await until(False)
            await asyncio.to_thread(server.start)
            assert await until(True)
