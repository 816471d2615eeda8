"""A lean HTTP/1.1 load generator for ``benchmarks/api.py`` (not a benchmark itself).

Why not httpx: one Python process of httpx clients tops out near 1300 req/s, so
its own queueing, not the server, set the latency. Here every connection is a
bare :class:`asyncio.Protocol` (uvloop when installed) that writes pre-encoded
request bytes over a keep-alive connection and parses only what it must: the
status line and ``Content-Length`` or chunked framing, so it knows when a body
is complete. Latency is taken with ``perf_counter_ns``.

Two ways to drive a server, split over several worker processes that start
together (a barrier, after every connection is open):

- closed loop (``rate=None``): each connection sends its next request as soon
  as the answer arrives; measures the server's throughput;
- open loop (``rate=R``): each connection sends R requests/s at scheduled times
  (phases spread at random); latency counts from the *scheduled* time, so a
  slow answer that delays the next request is charged to the server (no
  coordinated omission). How late the generator's own timers fire is kept too
  (``lag_ns``): it is part of the measured latency, so it must stay small.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import random
import time
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any, cast

DRAIN_S = 5.0
"""How long answers still due after the window may take before they count as lost."""


@dataclass
class Tally:
    """What one run saw (merged over the workers)."""

    latencies_ns: array[int] = field(default_factory=lambda: array("q"))
    lag_ns: array[int] = field(default_factory=lambda: array("q"))
    """Open loop: how late each request's timer fired (the generator's own delay)."""
    statuses: Counter[int] = field(default_factory=Counter)
    in_window: int = 0
    """Answers completed inside the measuring window (throughput)."""
    errors: int = 0
    """Requests that never got a complete answer (connection lost, framing error)."""
    unfinished: int = 0
    """Open loop: requests scheduled in the window and still unanswered after the drain."""
    body_bytes: int = 0
    sample: bytes = b""
    """The first body received, for the caller to check."""
    seconds: float = 0.0
    cpu_s: float = 0.0
    """CPU time the load generator itself used (all workers)."""

    def merge(self, other: Tally) -> None:
        self.latencies_ns.extend(other.latencies_ns)
        self.lag_ns.extend(other.lag_ns)
        self.statuses.update(other.statuses)
        self.in_window += other.in_window
        self.errors += other.errors
        self.unfinished += other.unfinished
        self.body_bytes += other.body_bytes
        self.sample = self.sample or other.sample
        self.seconds = max(self.seconds, other.seconds)
        self.cpu_s += other.cpu_s

    @property
    def answered(self) -> int:
        return len(self.latencies_ns)

    @property
    def rps(self) -> float:
        return self.in_window / self.seconds if self.seconds else 0.0

    def quantile_ms(self, q: float) -> float:
        """Latency quantile ``q`` (0..1, nearest rank) in ms; lost requests count as endless."""
        return _quantile_ms(self.latencies_ns, q, self.errors + self.unfinished)

    def lag_ms(self, q: float) -> float:
        """Quantile ``q`` of the open loop's timer lag, in ms."""
        return _quantile_ms(self.lag_ns, q, 0)


def _quantile_ms(values: array[int], q: float, lost: int) -> float:
    ordered = sorted(values)
    total = len(ordered) + lost
    if not total:
        return float("nan")
    rank = min(total - 1, max(0, int(q * total + 0.5) - 1))
    return ordered[rank] / 1e6 if rank < len(ordered) else float("inf")


def parse_response(buf: bytes | bytearray) -> tuple[int, int, int] | None:
    """``(status, length of the whole response, body length)`` of the response at the
    start of ``buf``, or ``None`` while it is incomplete; ``ValueError`` if malformed."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    if not head.startswith(b"http/1.1 "):
        raise ValueError(f"not an HTTP/1.1 response: {head[:40]!r}")
    status = int(head[9:12])
    body_at = head_end + 4
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        end = body_at + length
        return (status, end, length) if len(buf) >= end else None
    if b"\r\ntransfer-encoding: chunked" not in head:
        raise ValueError("neither Content-Length nor chunked: cannot frame the body")
    at, body = body_at, 0
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buf[at:line_end]).split(b";")[0], 16)
        at = line_end + 2 + size + 2
        if size == 0:  # no trailers from the servers we measure
            return (status, at, body) if len(buf) >= at else None
        if len(buf) < at:
            return None
        body += size


class _Client(asyncio.Protocol):
    """One keep-alive connection, one request in flight at a time."""

    def __init__(self, request: bytes, tally: Tally, closed_loop: bool) -> None:
        self.request = request
        self.tally = tally
        self.closed_loop = closed_loop
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.since = 0
        """perf_counter_ns the latency of the request in flight counts from."""
        self.busy = False
        self.backlog: deque[int] = deque()
        self.sending = False
        self.window_end = 0
        self.idle = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, since: int) -> None:
        assert self.transport is not None
        self.since = since
        self.busy = True
        self.transport.write(self.request)

    def due(self, scheduled: int) -> None:
        """Open loop: a request is due (sent now, or after the one in flight)."""
        if self.busy:
            self.backlog.append(scheduled)
        else:
            self.send(scheduled)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            parsed = parse_response(self.buf)
        except ValueError:
            self.tally.errors += 1
            self._fail()
            return
        if parsed is None:
            return
        done = time.perf_counter_ns()
        status, end, length = parsed
        tally = self.tally
        if not tally.sample:
            tally.sample = bytes(self.buf[end - length : end])
        del self.buf[:end]
        tally.latencies_ns.append(done - self.since)
        tally.statuses[status] += 1
        tally.body_bytes += length
        if done <= self.window_end:
            tally.in_window += 1
        self.busy = False
        if self.buf:  # an answer nobody asked for
            self.tally.errors += 1
            self._fail()
        elif self.backlog:
            self.send(self.backlog.popleft())
        elif self.closed_loop and self.sending:
            self.send(time.perf_counter_ns())
        elif not self.sending and not self.idle.done():
            self.idle.set_result(None)

    def _fail(self) -> None:
        self.tally.errors += len(self.backlog)
        self.busy = False
        self.backlog.clear()
        if self.transport is not None:
            self.transport.close()
        if not self.idle.done():
            self.idle.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.tally.errors += 1
        self.tally.errors += len(self.backlog)
        self.busy = False
        self.backlog.clear()
        if not self.idle.done():
            self.idle.set_result(None)


async def _drive(
    host: str,
    port: int,
    request: bytes,
    count: int,
    seconds: float,
    rate: float | None,
    go: Barrier,
) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally()
    clients: list[_Client] = []
    for _ in range(count):
        transport, client = await loop.create_connection(
            lambda: _Client(request, tally, rate is None), host, port
        )
        client.transport = transport  # NOTE: uvloop calls connection_made a tick later
        clients.append(client)
    await asyncio.sleep(0)
    go.wait()  # every worker connected: start together
    cpu0 = time.process_time()
    start = time.perf_counter_ns()
    end = start + int(seconds * 1e9)
    for client in clients:
        client.window_end = end
        client.sending = True
    if rate is None:
        for client in clients:
            client.send(time.perf_counter_ns())
        await asyncio.sleep(seconds)
    else:
        step = int(1e9 / rate)
        await asyncio.gather(
            *(_schedule(c, start + random.randrange(step), end, step) for c in clients)
        )
    for client in clients:
        client.sending = False
        if not client.busy and not client.backlog and not client.idle.done():
            client.idle.set_result(None)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_S):
            await asyncio.gather(*(c.idle for c in clients))
    tally.unfinished = sum(len(c.backlog) + c.busy for c in clients)
    tally.seconds = seconds
    tally.cpu_s = time.process_time() - cpu0
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    return tally


async def _schedule(client: _Client, first: int, end: int, step: int) -> None:
    """Make ``client`` send at ``first``, ``first + step``… until ``end``."""
    at = first
    while at < end:
        while (delay := at - time.perf_counter_ns()) > 0:
            await asyncio.sleep(delay / 1e9)
        client.tally.lag_ns.append(-delay)
        client.due(at)
        at += step


def _worker(pipe: Connection, go: Barrier) -> None:
    """Worker process: run the jobs sent on ``pipe`` until it sends ``None``."""
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:  # pragma: no cover — uvloop comes with uvicorn[standard]
        run = asyncio.run
    while (job := pipe.recv()) is not None:
        host, port, request, count, seconds, rate = job
        pipe.send(run(_drive(host, port, request, count, seconds, rate, go)))


class LoadGenerator:
    """``workers`` processes sharing ``clients`` connections; use as a context manager."""

    def __init__(self, clients: int = 100, workers: int = 2) -> None:
        context = mp.get_context("spawn")
        self.clients = clients
        self.go = context.Barrier(workers)
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, self.go), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def run(self, port: int, path: str, seconds: float, rate: float | None = None) -> Tally:
        """Load ``http://127.0.0.1:{port}{path}`` for ``seconds``; merged tally."""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: grimnir-bench\r\nAccept: application/json\r\n\r\n"
        ).encode()
        share, extra = divmod(self.clients, len(self.pipes))
        for i, pipe in enumerate(self.pipes):
            count = share + (1 if i < extra else 0)
            pipe.send(("127.0.0.1", port, request, count, seconds, rate))
        total = Tally()
        for pipe in self.pipes:
            total.merge(pipe.recv())
        return total

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
