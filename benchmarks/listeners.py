"""CPU of the built-in server per 1,000 listeners, against a feeder-only baseline.

One process holds the ``StreamServer`` and a feeder thread writing a 128 kbit/s
stream at realtime pace in 20 ms chunks (``--chunk-ms``; 320 bytes each, as
the block loop writes MP3 at ``process_blocks=1``; the bytes are synthetic
because the server never looks at them). The listeners run in a *separate
process* (asyncio clients reading as fast as they can) so their CPU is not
counted. In the same run:

1. baseline: the feeder and the idle server alone for ``--seconds``;
2. loaded: ``--listeners`` fast listeners plus one slow listener that reads
   1 KB/s, for ``--seconds``.

Prints the server process's CPU (``time.process_time``, all threads) for both
phases, their ratio, CPU per 1,000 listeners above the baseline, whether every
fast listener received ≥ 99 % of the bytes written while it was connected, and
what became of the slow listener (dropped once its queue exceeded
``--queue-kb``, or still connected and bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import socket
import statistics
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from grimnir.engine.server import ListenerMount, StreamServer

BYTES_PER_S = 128_000 // 8
PATH = "/stream.mp3"


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the listener process -------------------------------------------------------------------


class Counters:
    def __init__(self, n: int) -> None:
        self.fast = [0] * n
        self.ended = [False] * n
        self.slow = 0


async def fast_listener(port: int, index: int, counters: Counters, gate: asyncio.Semaphore) -> None:
    async with gate:  # connect in waves: a thousand SYNs at once overflow any backlog
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {PATH} HTTP/1.0\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
    try:
        while chunk := await reader.read(65536):
            counters.fast[index] += len(chunk)
    except ConnectionError:
        pass
    finally:
        counters.ended[index] = True
        writer.close()


async def slow_listener(port: int, rate: int, counters: Counters) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, f"GET {PATH} HTTP/1.0\r\n\r\n".encode())
    try:
        while data := await loop.sock_recv(sock, rate):
            counters.slow += len(data)
            await asyncio.sleep(1.0)
    except ConnectionError:
        pass
    finally:
        sock.close()


async def run_clients(port: int, n: int, slow_rate: int, pipe: Connection) -> None:
    counters = Counters(n)
    gate = asyncio.Semaphore(100)
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(fast_listener(port, i, counters, gate)) for i in range(n)]
    tasks.append(asyncio.create_task(slow_listener(port, slow_rate, counters)))
    snapshots: list[list[int]] = []
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "snapshot":
            snapshots.append(list(counters.fast))
            pipe.send(None)
        elif command == "report":
            start, end = snapshots[0], snapshots[-1]
            pipe.send(
                {
                    "deltas": [b - a for a, b in zip(start, end, strict=True)],
                    "ended": sum(counters.ended),
                    "slow": counters.slow,
                }
            )
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def client_process(port: int, n: int, slow_rate: int, pipe: Connection) -> None:
    raise_fd_limit()
    asyncio.run(run_clients(port, n, slow_rate, pipe))


# -- the server process -------------------------------------------------------------------------


class Feeder:
    """A 128 kbit/s stream in ``chunk_ms`` chunks at realtime pace, like the block loop."""

    def __init__(self, mount: ListenerMount, chunk_ms: int) -> None:
        self.mount = mount
        self.chunk = os.urandom(BYTES_PER_S * chunk_ms // 1000)
        self.period = chunk_ms / 1000
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        started, n = time.monotonic(), 0
        while not self.stop.is_set():
            self.mount.write(self.chunk)
            n += 1
            delay = started + n * self.period - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def cpu_percent(seconds: float, mount: ListenerMount, drops: list[float]) -> float:
    """Process CPU % over ``seconds``; appends the times the server dropped a listener."""
    wall0, cpu0 = time.monotonic(), time.process_time()
    end, seen = wall0 + seconds, mount.dropped_listeners
    while (now := time.monotonic()) < end:
        time.sleep(min(0.25, end - now))
        if mount.dropped_listeners > seen:
            seen = mount.dropped_listeners
            drops.append(time.monotonic())
    return 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--chunk-ms", type=int, default=20)
    parser.add_argument("--batch-ms", type=float, default=100.0, help="server fan-out batch")
    parser.add_argument("--queue-kb", type=int, default=512, help="per-listener queue bound")
    parser.add_argument("--slow-rate", type=int, default=1024, help="slow listener bytes/s")
    args = parser.parse_args()
    raise_fd_limit()

    server = StreamServer(port=0, batch_s=args.batch_ms / 1000)
    mount = server.add_mount(PATH, content_type="audio/mpeg", queue_bytes=args.queue_kb * 1024)
    server.start()
    port = server.address[1]
    feeder = Feeder(mount, args.chunk_ms)
    fanout = f"every {args.batch_ms:g} ms" if args.batch_ms > 0 else "per chunk"
    print(
        f"listeners benchmark: {args.listeners} fast listeners + 1 slow ({args.slow_rate} B/s), "
        f"128 kbit/s in {args.chunk_ms} ms chunks, server fan-out {fanout}, "
        f"queue {args.queue_kb} KB, {args.seconds:g} s per phase"
    )
    try:
        time.sleep(1.0)
        drops: list[float] = []
        baseline = cpu_percent(args.seconds, mount, drops)
        print(f"baseline (feeder + idle server):  CPU {baseline:6.2f} % of one core")

        ours, theirs = mp.get_context("spawn").Pipe()
        clients = mp.get_context("spawn").Process(
            target=client_process, args=(port, args.listeners, args.slow_rate, theirs)
        )
        clients.start()
        clients_started = time.monotonic()
        deadline = time.monotonic() + 120
        while mount.listener_count < args.listeners + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        connected = mount.listener_count
        time.sleep(1.0)  # bursts delivered, connection set-up CPU settled
        written0 = mount.bytes_written
        ours.send("snapshot")
        ours.recv()
        loaded = cpu_percent(args.seconds, mount, drops)
        feeder.stop.set()
        time.sleep(1.0)  # the last batch reaches the clients
        written1 = mount.bytes_written
        ours.send("snapshot")
        ours.recv()
        ours.send("report")
        report = ours.recv()
        clients.join(timeout=30)
        if clients.is_alive():
            clients.kill()
    finally:
        feeder.stop.set()
        server.close()

    expected = written1 - written0
    shares = sorted(d / expected for d in report["deltas"])
    ok = sum(share >= 0.99 for share in shares)
    above = max(loaded - baseline, 0.0)
    per_1000 = above * 1000 / max(args.listeners, 1)
    stats = server.stats()["mounts"][PATH]
    print(f"with {connected - 1} listeners (+1 slow):   CPU {loaded:6.2f} % of one core")
    print(f"ratio loaded / baseline:          {loaded / max(baseline, 1e-9):6.1f} x")
    print(f"CPU per 1000 listeners:           {per_1000:6.2f} % of one core above the baseline")
    print(
        f"fast listeners with >= 99 % of the {expected} bytes written: {ok}/{args.listeners} "
        f"(min {100 * shares[0]:.1f} %, median {100 * statistics.median(shares):.1f} %); "
        f"{report['ended']} disconnected early"
    )
    if drops:
        slow_state = f"dropped by the server {drops[0] - clients_started:.1f} s after it connected"
    else:
        slow_state = "still connected at the end, its queue below the bound"
    print(
        f"slow listener: read {report['slow']} bytes, {slow_state}; "
        f"server counted {stats['dropped_listeners']} dropped listener(s)"
    )


if __name__ == "__main__":
    main()
