"""Hostile and broken live sources on the harbor, over real sockets on 127.0.0.1.

Wrong passwords while a DJ holds the mount, a source trickling a byte a
second, MP3 that turns into garbage, a burst of bad logins, a credential
check that hangs. Time bounds are generous: the machine may be busy, and
what matters is the order of events and that nothing waits for ever.
"""

from __future__ import annotations

import asyncio
import base64
import io
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import av
import numpy as np
import pytest

from grimnir.config.station import Failover
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.harbor import HarborGate
from grimnir.engine.server import HarborConnection, StreamServer
from grimnir.engine.server._admission import (
    LOGIN_DEADLINE_S,
    MAX_PENDING_LOGINS_PER_ADDRESS,
    LoginGate,
)
from grimnir.engine.server._http import HttpError
from grimnir.engine.server._watch import START_GRACE_S

PASSWORD = "hackme"
TOKEN = "glt_one-time"


def basic(user: str, password: str) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()) + b"\r\n"


def head(password: str | None, method: str = "SOURCE") -> bytes:
    version = "HTTP/1.0" if method == "SOURCE" else "HTTP/1.1"
    auth = b"" if password is None else basic("source", password)
    return f"{method} /live {version}\r\nContent-Type: audio/mpeg\r\n".encode() + auth + b"\r\n"


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def mp3_tone(seconds: float, hz: float = 440.0, rate: int = 44_100) -> bytes:
    """A stereo sine encoded to 128 kbit/s MP3 in memory (FFmpeg's LAME, through PyAV)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="stereo")
        stream.bit_rate = 128_000
        n = int(seconds * rate)
        wave = (0.25 * np.sin(2 * np.pi * hz * np.arange(n) / rate)).astype(np.float32)
        pcm = np.stack([wave, wave])
        for start in range(0, n, 1152):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + 1152]), format="fltp", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts, frame.time_base = start, Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def status_line(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def ask(port: int, request: bytes, timeout: float = 20.0) -> bytes:
    """Send a request head; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return data


class Sink:
    def __init__(self) -> None:
        self.received = 0
        self.ends: list[str] = []

    def feed(self, data: bytes) -> None:
        self.received += len(data)

    def end(self, reason: str) -> None:
        self.ends.append(reason)

    def metadata(self, title: str) -> None:
        pass

    def problem(self) -> str | None:
        return None


class Handler:
    """``source``/``hackme``, or a one-time token; ``delay`` stands for a slow control plane."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.release = threading.Event()
        """Set by the test's end: checks still sleeping return at once."""
        self.sinks: list[Sink] = []
        self.asked = 0
        self.tokens = {TOKEN}
        self._lock = threading.Lock()
        self.running = 0
        self.most_running = 0

    def authenticate(self, path: str, user: str, password: str, remote: str) -> bool:
        with self._lock:
            self.asked += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if self.delay:
                self.release.wait(self.delay)
            with self._lock:
                if password in self.tokens:
                    self.tokens.discard(password)  # spent, as the API does
                    return True
            return password == PASSWORD
        finally:
            with self._lock:
                self.running -= 1

    def on_connect(self, conn: HarborConnection) -> Sink:
        self.sinks.append(Sink())
        return self.sinks[-1]


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[StreamServer, Handler]]]:
    started: list[tuple[StreamServer, Handler]] = []

    def start(delay: float = 0.0) -> tuple[StreamServer, Handler]:
        server, handler = StreamServer(port=0, source_timeout_s=10.0), Handler(delay)
        server.add_harbor("/live", handler)
        server.start()
        started.append((server, handler))
        return server, handler

    yield start
    for server, handler in started:
        handler.release.set()
        server.close()


class Feeder:
    """A connected source client sending ``next_bytes()`` every ``every_s`` on its own
    thread until the server closes the connection, ``stop`` or ``deadline_s``."""

    def __init__(
        self,
        port: int,
        request: bytes,
        next_bytes: Callable[[], bytes],
        every_s: float,
        deadline_s: float = 60.0,
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(request)
        self.answer = self.sock.recv(1024)
        self.closed_by_server = threading.Event()
        self._stop = threading.Event()
        self._next, self._every, self._deadline = next_bytes, every_s, deadline_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + self._deadline
        try:
            while time.monotonic() < deadline and not self._stop.wait(self._every):
                readable, _, _ = select.select([self.sock], [], [], 0)
                if readable and self.sock.recv(1) == b"":
                    break  # the server closed the connection
                self.sock.sendall(self._next())
        except OSError:  # reset, broken pipe: the server dropped us
            self.closed_by_server.set()
            return
        if not self._stop.is_set() and time.monotonic() < deadline:
            self.closed_by_server.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.close()


def zeros(size: int) -> Callable[[], bytes]:
    return lambda: bytes(size)


# -- 1. credentials before the mount's state ------------------------------------------------


def test_a_wrong_password_gets_401_while_a_dj_holds_the_mount(
    serve: Callable[..., tuple[StreamServer, Handler]],
) -> None:
    server, handler = serve()
    port = server.address[1]
    dj = Feeder(port, head(PASSWORD), zeros(4096), every_s=0.1)
    try:
        assert dj.answer == b"HTTP/1.0 200 OK\r\n\r\n"
        for request in (head("wrong"), head(None), head("wrong", method="PUT")):
            answer = ask(port, request)
            assert status_line(answer) == b"HTTP/1.1 401 Unauthorized", request
            assert b'WWW-Authenticate: Basic realm="Grimnir harbor"' in answer
        # only a source that logged in is told the mount is busy
        answer = ask(port, head(PASSWORD, method="PUT"))
        assert status_line(answer) == b"HTTP/1.1 403 Mountpoint in use"
        assert len(handler.sinks) == 1
        assert handler.sinks[0].ends == []  # the DJ on air was never disturbed
        assert not dj.closed_by_server.is_set()
    finally:
        dj.stop()


def test_a_one_time_token_refused_for_a_busy_mount_still_gets_on_once_it_is_free(
    serve: Callable[..., tuple[StreamServer, Handler]],
) -> None:
    server, handler = serve()
    port = server.address[1]
    dj = Feeder(port, head(PASSWORD), zeros(4096), every_s=0.1)
    try:
        assert status_line(ask(port, head(TOKEN))) == b"HTTP/1.1 403 Mountpoint in use"
        assert handler.tokens == set()  # the check spent it
        assert status_line(ask(port, head(TOKEN))) == b"HTTP/1.1 403 Mountpoint in use"
    finally:
        dj.stop()
    assert wait_for(lambda: server.stats()["harbors"]["/live"]["connected"] is False, 10)
    asked = handler.asked
    later = Feeder(port, head(TOKEN), zeros(4096), every_s=0.1)
    try:
        assert later.answer == b"HTTP/1.0 200 OK\r\n\r\n"
        assert handler.asked == asked  # not asked again: the token was already spent
    finally:
        later.stop()
    assert wait_for(lambda: server.stats()["harbors"]["/live"]["connected"] is False, 10)
    # once on air, the token is used up like any other
    assert status_line(ask(port, head(TOKEN))) == b"HTTP/1.1 401 Unauthorized"


# -- 2. sources that send too little or garbage ---------------------------------------------


def test_a_source_trickling_a_byte_a_second_is_dropped(
    serve: Callable[..., tuple[StreamServer, Handler]],
) -> None:
    server, handler = serve()
    port = server.address[1]
    started = time.monotonic()
    dj = Feeder(port, head(PASSWORD), zeros(1), every_s=1.0, deadline_s=90)
    try:
        assert dj.answer == b"HTTP/1.0 200 OK\r\n\r\n"
        assert wait_for(lambda: bool(handler.sinks) and bool(handler.sinks[0].ends), 60)
        dropped_after = time.monotonic() - started
        assert handler.sinks[0].ends[0].startswith("too little data")
        assert dj.closed_by_server.wait(15)
    finally:
        dj.stop()
    assert dropped_after >= START_GRACE_S  # it had its start grace
    assert dropped_after < 45  # well before anything but the rate check would
    assert len(handler.sinks[0].ends) == 1
    assert server.stats()["harbors"]["/live"]["dropped"] == 1
    # the mount is free again
    again = Feeder(port, head(PASSWORD), zeros(4096), every_s=0.1)
    try:
        assert again.answer == b"HTTP/1.0 200 OK\r\n\r\n"
    finally:
        again.stop()


def test_mp3_that_turns_into_garbage_is_dropped_and_the_live_session_ends() -> None:
    events: list[EngineEvent] = []
    heard_at: dict[str, float] = {}

    def on_event(event: EngineEvent) -> None:
        events.append(event)
        heard_at.setdefault(event.type, time.monotonic())

    failover = Failover(live_grace_sec=1, live_timeout_sec=60, layer_fade_ms=100)
    engine = Engine(
        RealtimeClock(burst=5),
        EngineOptions(failover=failover, realtime=True, process_blocks=5),
        on_event=on_event,
    )
    server = StreamServer(port=0, source_timeout_s=10.0)
    HarborGate(engine, server, ["/live"], lambda path, user, password, remote: password == PASSWORD)
    runner = threading.Thread(target=engine.run, daemon=True)
    audio = mp3_tone(4.0)
    chunks = [audio[i : i + 4096] for i in range(0, len(audio), 4096)]
    every_s = 4.0 / len(chunks)  # real time: 128 kbit/s
    rng = np.random.default_rng(7)
    garbage_from: list[float] = []

    def next_bytes() -> bytes:
        if chunks:
            return chunks.pop(0)
        if not garbage_from:
            garbage_from.append(time.monotonic())
        return rng.bytes(4096)

    def kinds() -> list[str]:
        return [e.type for e in list(events) if e.type.startswith("live.")]

    runner.start()
    server.start()
    dj: Feeder | None = None
    try:
        dj = Feeder(server.address[1], head(PASSWORD), next_bytes, every_s, deadline_s=90)
        assert dj.answer == b"HTTP/1.0 200 OK\r\n\r\n"
        assert wait_for(lambda: "live.ended" in kinds(), 60), kinds()
        assert dj.closed_by_server.wait(15)  # the server dropped it; it never gave up
        assert server.stats()["harbors"]["/live"]["connected"] is False
    finally:
        if dj is not None:
            dj.stop()
        server.close()
        engine.close()
        runner.join(timeout=10)
    assert kinds() == ["live.connected", "live.started", "live.disconnected", "live.ended"]
    disconnected = next(e for e in events if e.type == "live.disconnected")
    assert disconnected.data["reason"].startswith("no decodable audio"), disconnected.data
    # dropped seconds after the garbage began, long before the live timeout (60 s)
    assert garbage_from
    assert heard_at["live.disconnected"] - garbage_from[0] < 30
    ended = next(e for e in events if e.type == "live.ended")
    assert ended.data["reason"] in {"disconnected", "error"}


# -- 3. bursts of bad logins ------------------------------------------------------------------


def test_a_burst_of_bad_logins_is_answered_promptly(
    serve: Callable[..., tuple[StreamServer, Handler]],
) -> None:
    server, handler = serve(delay=1.0)  # each check takes a second, like a far-away API
    port = server.address[1]
    bound_s = 10.0

    def login(_: int) -> tuple[bytes, float]:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.settimeout(bound_s)
            sock.sendall(head("wrong", method="PUT"))
            try:
                answer = sock.recv(1024)
            except TimeoutError:
                answer = b"(no answer)"
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(login, range(200)))
    lines = [status_line(answer) for answer, _ in results]
    unanswered = [line for line in lines if not line.startswith((b"HTTP/1.1 401", b"HTTP/1.1 429"))]
    assert unanswered == []
    assert max(seconds for _, seconds in results) < bound_s
    assert lines.count(b"HTTP/1.1 401 Unauthorized") >= 1  # some were checked, and refused
    limited = [answer for answer, _ in results if answer.startswith(b"HTTP/1.1 429")]
    assert limited
    assert all(b"Retry-After: " in answer for answer in limited)
    assert handler.most_running <= MAX_PENDING_LOGINS_PER_ADDRESS
    # the right password still gets on once the burst is over
    assert wait_for(lambda: handler.running == 0, 20)
    dj = Feeder(port, head(PASSWORD), zeros(4096), every_s=0.1)
    try:
        assert dj.answer == b"HTTP/1.0 200 OK\r\n\r\n"
    finally:
        dj.stop()


def test_a_credential_check_that_hangs_is_answered_with_401(
    serve: Callable[..., tuple[StreamServer, Handler]],
) -> None:
    server, handler = serve(delay=120.0)  # released at the end of the test
    started = time.monotonic()
    answer = ask(server.address[1], head(PASSWORD), timeout=60)
    took = time.monotonic() - started
    assert status_line(answer) == b"HTTP/1.1 401 Unauthorized"
    assert LOGIN_DEADLINE_S <= took < LOGIN_DEADLINE_S + 20
    assert handler.sinks == []


async def test_logins_beyond_the_workers_get_503_promptly() -> None:
    gate = LoginGate(workers=2, queue_wait_s=0.5, deadline_s=60)
    release = threading.Event()
    try:
        held = [asyncio.create_task(gate.check("held", lambda: release.wait(60))) for _ in "ab"]
        await asyncio.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(HttpError) as refused:
            await gate.check("late", lambda: True)
        assert refused.value.status == 503
        assert "Retry-After" in refused.value.headers
        assert time.monotonic() - started < 15
        # per address: a few at once, each address on its own
        with gate.pending("192.0.2.1"), gate.pending("192.0.2.1"), gate.pending("192.0.2.1"):
            with pytest.raises(HttpError) as limited, gate.pending("192.0.2.1"):
                pass
            assert limited.value.status == 429
            with gate.pending("192.0.2.2"):
                pass
        with gate.pending("192.0.2.1"):
            pass  # counted down again
        release.set()
        assert await asyncio.gather(*held) == [True, True]
        assert await gate.check("after", lambda: True) is True  # the workers are free again
    finally:
        release.set()
        gate.close()
