"""The harbor (live sources) against ffmpeg as a DJ client, and raw sockets for the corners."""

from __future__ import annotations

import base64
import io
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import av
import pytest

from grimnir.engine.server import HarborConnection, StreamServer
from tests._require import FFMPEG_PATH, peer

FFMPEG = FFMPEG_PATH
needs_ffmpeg = peer("ffmpeg")
CREDENTIALS = {"/live": ("source", "hackme"), "/other": ("dj", "other-pass")}


class Sink:
    """Collects what one source sent; counts ``end`` calls."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[str] = []
        self.titles: list[str] = []
        self.threads: set[str] = set()

    def feed(self, data: bytes) -> None:
        self.threads.add(threading.current_thread().name)
        self.data += data

    def end(self, reason: str) -> None:
        self.ends.append(reason)

    def metadata(self, title: str) -> None:
        self.titles.append(title)

    def problem(self) -> str | None:
        return None  # these tests send bytes that are no audio on purpose


class Handler:
    """A static credentials map, as the tests' stand-in for the control plane's tokens."""

    def __init__(self) -> None:
        self.connections: list[HarborConnection] = []
        self.sinks: list[Sink] = []

    def authenticate(self, path: str, user: str, password: str, remote: str) -> bool:
        return CREDENTIALS.get(path) == (user, password)

    def on_connect(self, conn: HarborConnection) -> Sink:
        self.connections.append(conn)
        self.sinks.append(Sink())
        return self.sinks[-1]


@pytest.fixture
def harbor() -> Iterator[tuple[StreamServer, Handler]]:
    server = StreamServer(port=0, source_timeout_s=5.0)
    handler = Handler()
    server.add_harbor("/live", handler)
    server.add_harbor("/other", handler)
    server.start()
    try:
        yield server, handler
    finally:
        server.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


DJ_PASSWORD = CREDENTIALS["/live"][1]


def dj_command(
    port: int, seconds: float, password: str = DJ_PASSWORD, *, legacy: bool = False
) -> list[str]:
    assert FFMPEG is not None
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"]
    cmd += ["-i", f"sine=f=440:d={seconds}", "-c:a", "libmp3lame", "-b:a", "128k"]
    cmd += ["-content_type", "audio/mpeg", "-ice_name", "DJ Test"]
    if legacy:
        cmd += ["-legacy_icecast", "1"]
    return [*cmd, "-f", "mp3", f"icecast://source:{password}@127.0.0.1:{port}/live"]


def run_dj(port: int, seconds: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    cmd = dj_command(port, seconds, **kwargs)  # type: ignore[arg-type]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)


def decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data), "r", format="mp3") as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    return samples / 44_100


def admin_metadata(port: int, query: str, auth: tuple[str, str]) -> tuple[int, str]:
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/metadata?{query}",
        headers={"Authorization": f"Basic {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


@needs_ffmpeg
@pytest.mark.parametrize("legacy", [False, True], ids=["put", "source"])
def test_ffmpeg_streams_to_the_harbor(harbor: tuple[StreamServer, Handler], legacy: bool) -> None:
    server, handler = harbor
    result = run_dj(server.address[1], 2, legacy=legacy)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: bool(handler.sinks) and bool(handler.sinks[0].ends))
    conn, sink = handler.connections[0], handler.sinks[0]
    assert conn.method == ("SOURCE" if legacy else "PUT")
    assert (conn.path, conn.user, conn.content_type) == ("/live", "source", "audio/mpeg")
    assert conn.headers["ice-name"] == "DJ Test"
    assert "authorization" not in conn.headers
    assert conn.remote.startswith("127.0.0.1:")
    assert conn.connected_at.tzinfo is not None
    assert conn.bytes_received == len(sink.data)
    # the bytes are ffmpeg's MP3 stream: they decode to (nearly) the 2 s it sent
    assert decoded_seconds(bytes(sink.data)) > 1.8
    time.sleep(0.2)
    assert len(sink.ends) == 1
    assert sink.ends[0] in {"eof"} or sink.ends[0].startswith("connection lost")
    assert server.stats()["harbors"]["/live"]["connected"] is False


@needs_ffmpeg
def test_a_wrong_password_gets_401_and_no_sink(harbor: tuple[StreamServer, Handler]) -> None:
    server, handler = harbor
    result = run_dj(server.address[1], 1, password="wrong")
    assert result.returncode != 0
    assert "401" in result.stderr
    assert handler.connections == []
    answer = raw(server.address[1], b"PUT /live HTTP/1.1\r\nContent-Type: audio/mpeg\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b'WWW-Authenticate: Basic realm="Grimnir harbor"' in answer
    # a legacy client that sends audio without waiting still reads the refusal
    bad = b"Authorization: Basic " + base64.b64encode(b"source:nope") + b"\r\n"
    answer = raw(server.address[1], b"SOURCE /live HTTP/1.0\r\n" + bad + b"\r\n" + bytes(200_000))
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert handler.connections == []


@needs_ffmpeg
def test_busy_mount_metadata_and_kick(harbor: tuple[StreamServer, Handler]) -> None:
    server, handler = harbor
    port = server.address[1]
    first = subprocess.Popen(
        dj_command(port, 60), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert wait_for(lambda: bool(handler.sinks) and len(handler.sinks[0].data) > 4000)
        sink = handler.sinks[0]
        second = run_dj(port, 1)
        assert second.returncode != 0
        assert "403" in second.stderr
        assert len(handler.connections) == 1
        answer = raw(port, b"SOURCE /live HTTP/1.0\r\n" + AUTH + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 403 Mountpoint in use")

        status, body = admin_metadata(
            port, "mount=/live&mode=updinfo&song=Artist%20-%20Title", ("source", "hackme")
        )
        assert status == 200
        assert body == (
            '<?xml version="1.0"?>\n<iceresponse><message>Metadata update successful'
            "</message><return>1</return></iceresponse>"
        )
        query = "mount=%2Flive&mode=updinfo&song=Caf%E9&charset=ISO-8859-1"
        assert admin_metadata(port, query, ("source", "hackme"))[0] == 200
        query = "mount=/live&mode=updinfo&song=Caf%C3%A9%20%E2%80%94%20Ol%C3%A9"
        assert admin_metadata(port, query, ("source", "hackme"))[0] == 200
        assert admin_metadata(port, "mount=/live&mode=updinfo&song=x", ("source", "bad"))[0] == 401
        status, body = admin_metadata(
            port, "mount=/other&mode=updinfo&song=x", ("dj", "other-pass")
        )
        assert status == 400
        assert "Source does not exist" in body
        assert sink.titles == ["Artist - Title", "Café", "Café — Olé"]
        # a Latin-1 query without charset= (old clients) is read as Latin-1
        assert admin_metadata(port, "mount=/live&song=Gar%E7on", ("source", "hackme"))[0] == 200
        assert sink.titles[-1] == "Garçon"
        stats = server.stats()["harbors"]["/live"]
        assert stats["connected"] is True
        assert stats["name"] == "DJ Test"

        assert server.kick("/live") is True
        assert first.wait(timeout=15) != 0  # ffmpeg notices the closed connection and exits
        assert wait_for(lambda: sink.ends == ["kicked"])
        assert server.kick("/live") is False
        time.sleep(0.2)
        assert sink.ends == ["kicked"]  # exactly once
        assert len(sink.threads) == 1  # fed on the server thread, never the caller's
        assert threading.current_thread().name not in sink.threads
    finally:
        first.kill()
        first.wait(timeout=5)
        if first.stderr is not None:
            first.stderr.close()


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


AUTH = b"Authorization: Basic " + base64.b64encode(b"source:hackme") + b"\r\n"


def test_a_chunked_put_with_expect_continue(harbor: tuple[StreamServer, Handler]) -> None:
    server, handler = harbor
    with socket.create_connection(("127.0.0.1", server.address[1]), timeout=10) as sock:
        sock.sendall(
            b"PUT /live HTTP/1.1\r\nHost: x\r\nContent-Type: audio/ogg\r\n"
            + AUTH
            + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"5\r\nhello\r\n10;ext=1\r\n0123456789abcdef\r\n")
        sock.sendall(b"3\r\nxyz\r\n0\r\n\r\n")
        assert sock.recv(1024) == b""  # the server closes after the last chunk
    assert wait_for(lambda: bool(handler.sinks) and bool(handler.sinks[0].ends))
    sink = handler.sinks[0]
    assert bytes(sink.data) == b"hello0123456789abcdefxyz"
    assert sink.ends == ["eof"]
    assert handler.connections[0].content_type == "audio/ogg"


def test_a_silent_source_times_out_and_frees_the_mount() -> None:
    server = StreamServer(port=0, source_timeout_s=0.5)
    handler = Handler()
    server.add_harbor("/live", handler)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.address[1]), timeout=10) as sock:
            sock.sendall(b"SOURCE /live HTTP/1.0\r\n" + AUTH + b"\r\n")
            assert sock.recv(1024) == b"HTTP/1.0 200 OK\r\n\r\n"
            sock.sendall(b"abc")
            assert wait_for(lambda: bool(handler.sinks) and bool(handler.sinks[0].ends))
        assert handler.sinks[0].ends == ["timeout: no data for 0.5 s"]
        assert bytes(handler.sinks[0].data) == b"abc"
        with socket.create_connection(("127.0.0.1", server.address[1]), timeout=10) as again:
            again.sendall(b"SOURCE /live HTTP/1.0\r\n" + AUTH + b"\r\n")
            assert again.recv(1024) == b"HTTP/1.0 200 OK\r\n\r\n"  # not "in use"
            assert wait_for(lambda: len(handler.sinks) == 2)
        server.close()
        assert handler.sinks[1].ends in (["server closed"], ["eof"])
    finally:
        server.close()


def test_server_close_ends_a_connected_source(harbor: tuple[StreamServer, Handler]) -> None:
    server, handler = harbor
    sock = socket.create_connection(("127.0.0.1", server.address[1]), timeout=10)
    try:
        sock.sendall(b"PUT /live HTTP/1.1\r\nContent-Type: audio/mpeg\r\n" + AUTH + b"\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 200 OK\r\n\r\n"
        sock.sendall(b"data")
        assert wait_for(lambda: bool(handler.sinks) and len(handler.sinks[0].data) == 4)
        server.close()
        assert handler.sinks[0].ends == ["server closed"]
    finally:
        sock.close()
    assert raw_refused(server.address[1])


def raw_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_unknown_mounts_and_admin_errors(harbor: tuple[StreamServer, Handler]) -> None:
    server, _ = harbor
    port = server.address[1]
    assert raw(port, b"PUT /nope HTTP/1.1\r\n" + AUTH + b"\r\n").startswith(b"HTTP/1.1 404 ")
    status, body = admin_metadata(port, "mode=updinfo&song=x", ("source", "hackme"))
    assert status == 400
    assert "mount" in body
    status, _ = admin_metadata(port, "mount=/live&mode=nope&song=x", ("source", "hackme"))
    assert status == 400
    status, _ = admin_metadata(port, "mount=/live&song=x&charset=klingon", ("source", "hackme"))
    assert status == 400
