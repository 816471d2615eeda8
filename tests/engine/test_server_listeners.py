"""The built-in server's listener side against real clients: ffmpeg, raw sockets, urllib.

Streams are real encoder output fed at realtime pace from a thread (as the
block loop would), or deterministic bytes where the test compares every byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.encoders import Encoder, create_encoder
from grimnir.engine.engine import Engine, EngineOptions, OutputBinding
from grimnir.engine.outputs import OutputState, StreamInfo
from grimnir.engine.server import METAINT, ListenerMount, StreamServer, metadata_block, parse_blocks
from tests._onair import http_head
from tests._require import FFMPEG_PATH, peer

FFMPEG = FFMPEG_PATH
needs_ffmpeg = peer("ffmpeg")


@pytest.fixture
def server() -> Iterator[StreamServer]:
    srv = StreamServer(port=0, server_name="Test Radio")
    try:
        yield srv
    finally:
        srv.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Feeder:
    """Writes a real encoded stream into a mount at realtime pace from its own thread."""

    def __init__(self, mount: ListenerMount, encoder: Encoder, *, send_header: bool) -> None:
        self.mount = mount
        self.encoder = encoder
        self.header = self.encoder.stream_header()
        if send_header and self.header:
            mount.write(self.header)  # what Engine.add_output does first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started, n = time.monotonic(), 0
        t = np.arange(960) / 48_000
        while not self._stop.is_set():
            tone = 0.3 * np.sin(2 * np.pi * 440.0 * (t + n * 0.02))
            self.mount.write(self.encoder.encode(np.stack([tone, tone]).astype(np.float32)))
            n += 1
            delay = started + n * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.encoder.close()


def ffmpeg_read(url: str, seconds: float) -> subprocess.CompletedProcess[bytes]:
    assert FFMPEG is not None
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "verbose", "-i", url]
    cmd += ["-t", str(seconds), "-f", "s16le", "-ac", "2", "-ar", "48000", "-"]
    return subprocess.run(cmd, capture_output=True, timeout=seconds + 30, check=False)


def error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode(errors="replace").splitlines() if "rror" in line]


def drain(sock: socket.socket) -> int:
    total = 0
    while chunk := sock.recv(65536):
        total += len(chunk)
    return total


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an HTTP request made with urllib (a client we did not write)."""
    request = urllib.request.Request(url, method=method)  # noqa: S310 - http:// on loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def raw_request(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


# -- real decoders --------------------------------------------------------------------------


@needs_ffmpeg
def test_ffmpeg_decodes_a_realtime_mp3_mount_and_sees_the_stream_title(
    server: StreamServer,
) -> None:
    info = StreamInfo(name="WGMR Test", genre="Jazz", bitrate_kbps=128)
    mount = server.add_mount("/stream.mp3", content_type="audio/mpeg", info=info)
    server.start()
    assert mount.state is OutputState.UP
    mount.set_metadata("A - B")
    feeder = Feeder(mount, create_encoder(AudioFormat.MP3), send_header=True)
    try:
        time.sleep(0.5)
        result = ffmpeg_read(f"http://127.0.0.1:{server.address[1]}/stream.mp3", 5)
    finally:
        feeder.stop()
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr[-2000:]
    assert error_lines(result.stderr) == []
    assert len(result.stdout) >= 4.9 * 48_000 * 4  # 5 s of decoded stereo 16-bit audio
    assert "icy-name        : WGMR Test" in stderr
    assert "StreamTitle: A - B" in stderr  # ffmpeg parsed our ICY metadata block
    stats = server.stats()["mounts"]["/stream.mp3"]
    assert stats["connections"] == 1
    assert stats["bytes_sent"] > 5 * 16_000


@needs_ffmpeg
@pytest.mark.parametrize(
    ("fmt", "explicit_header"), [(AudioFormat.OPUS, False), (AudioFormat.FLAC, True)]
)
def test_a_late_joiner_gets_the_stream_header_then_the_burst(
    server: StreamServer, fmt: AudioFormat, explicit_header: bool
) -> None:
    content_type = "audio/ogg" if fmt is AudioFormat.OPUS else "audio/flac"
    encoder = create_encoder(fmt)
    header = encoder.stream_header() if explicit_header else b""
    mount = server.add_mount("/late", content_type=content_type, stream_header=header)
    server.start()
    port = server.address[1]
    # without an explicit header, the engine-style first write is taken as the header
    feeder = Feeder(mount, encoder, send_header=not explicit_header)
    try:
        time.sleep(1.5)  # the listener joins mid-stream
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = http_head(sock)
            while len(body) < len(feeder.header) + 1:
                body += sock.recv(65536)
        assert status == "HTTP/1.0 200 OK"
        assert headers["content-type"] == content_type
        assert body.startswith(feeder.header)
        assert body[len(feeder.header) :].startswith(b"OggS" if fmt is AudioFormat.OPUS else b"")
        result = ffmpeg_read(f"http://127.0.0.1:{port}/late", 2)
    finally:
        feeder.stop()
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert error_lines(result.stderr) == []
    assert len(result.stdout) >= 1.9 * 48_000 * 4


def test_a_first_write_equal_to_the_given_header_is_not_repeated(server: StreamServer) -> None:
    header = b"fLaC-header-bytes"
    mount = server.add_mount("/f", content_type="audio/flac", stream_header=header, burst_bytes=0)
    server.start()
    with socket.create_connection(("127.0.0.1", server.address[1]), timeout=5) as sock:
        sock.sendall(b"GET /f HTTP/1.0\r\n\r\n")
        _, _, body = http_head(sock)
        assert wait_for(lambda: mount.listener_count == 1)
        mount.write(header)  # Engine.add_output sends it first
        mount.write(b"frame-1")
        while len(body) < len(header) + 7:
            body += sock.recv(4096)
    assert body == header + b"frame-1"


# -- ICY metadata ------------------------------------------------------------------------------


def stream_chunks(seed: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(int(rng.integers(500, 4000))) for _ in range(count)]


def read_icy(sock: socket.socket, want_audio: int) -> tuple[bytes, list[bytes]]:
    """Read until ``want_audio`` stream bytes (and their metadata blocks) arrived."""
    _, headers, data = http_head(sock)
    assert headers["icy-metaint"] == str(METAINT)
    blocks_needed = want_audio // METAINT
    while True:
        audio, metas = parse_blocks(data)
        complete = len(audio) >= want_audio and len(data) > want_audio + blocks_needed * 4081
        if complete or len(audio) >= want_audio + METAINT:
            return audio, metas
        chunk = sock.recv(65536)
        if not chunk:
            return parse_blocks(data)
        data += chunk


def test_icy_blocks_carry_the_title_between_the_exact_stream_bytes(
    server: StreamServer,
) -> None:
    mount = server.add_mount("/icy.mp3", content_type="audio/mpeg")
    server.start()
    port = server.address[1]
    chunks = stream_chunks(1, 200)
    written = b"".join(chunks)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as first:
        first.sendall(b"GET /icy.mp3 HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n")
        assert wait_for(lambda: mount.listener_count == 1)
        for chunk in chunks[:40]:
            mount.write(chunk)
        # a title applies from the next batch the server sends (batch_s after a write)
        assert wait_for(lambda: mount.bytes_written == sum(map(len, chunks[:40])))
        mount.set_metadata("A - B")
        for chunk in chunks[40:120]:
            mount.write(chunk)
        assert wait_for(lambda: mount.bytes_written == sum(map(len, chunks[:120])))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as late:
            late.sendall(b"GET /icy.mp3 HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
            assert wait_for(lambda: mount.listener_count == 2)
            mount.set_metadata("C - D")
            for chunk in chunks[120:]:
                mount.write(chunk)
            late_audio, late_metas = read_icy(late, 60_000)
        audio, metas = read_icy(first, len(written) - METAINT)
    assert audio == written[: len(audio)]  # every byte, in order, metadata cut out
    sent_before_title = sum(map(len, chunks[:40]))
    titles = [b"StreamTitle='A - B';", b"StreamTitle='C - D';"]
    if sent_before_title >= METAINT:
        assert metas == titles  # each title once; the other blocks were single zero bytes
    # the late joiner's counter is its own and counts the burst (the newest whole chunks)
    start = written.find(late_audio[:4000])
    assert start >= 0
    assert late_audio == written[start : start + len(late_audio)]
    boundaries = set(np.cumsum([0, *map(len, chunks)]).tolist())
    assert start in boundaries
    assert late_metas[-1] == b"StreamTitle='C - D';"


def test_a_listener_without_icy_gets_no_metadata(server: StreamServer) -> None:
    mount = server.add_mount("/plain", content_type="audio/mpeg", burst_bytes=0)
    server.start()
    mount.set_metadata("Not - Here")
    chunks = stream_chunks(2, 30)
    with socket.create_connection(("127.0.0.1", server.address[1]), timeout=10) as sock:
        sock.sendall(b"GET /plain HTTP/1.0\r\n\r\n")
        _, headers, body = http_head(sock)
        assert wait_for(lambda: mount.listener_count == 1)
        for chunk in chunks:
            mount.write(chunk)
        want = sum(map(len, chunks))
        while len(body) < want:
            body += sock.recv(65536)
    assert "icy-metaint" not in headers
    assert body == b"".join(chunks)


def test_metadata_blocks_follow_the_icy_format() -> None:
    block = metadata_block("A - B")
    assert block[0] == 2
    assert block[1:] == b"StreamTitle='A - B';".ljust(32, b"\x00")
    assert b"StreamTitle='Guns N' Roses - x\xe2\x80\x99;y';" in metadata_block(
        "Guns N' Roses - x';y"
    )
    assert b"\n" not in metadata_block("two\nlines")
    long = metadata_block("é" * 5000)
    assert long[0] == 255
    assert len(long) == 1 + 255 * 16
    assert long[1:].rstrip(b"\x00").endswith(b"';")
    long[1:].rstrip(b"\x00")[13:-2].decode("utf-8")  # cut at a character boundary


# -- many listeners, one slow ----------------------------------------------------------------------


async def _fast_listener(port: int, want: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /many HTTP/1.0\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        data = bytearray()
        while len(data) < want:
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
        return bytes(data)
    finally:
        writer.close()


def test_200_listeners_get_every_byte_while_a_slow_one_is_dropped(server: StreamServer) -> None:
    mount = server.add_mount(
        "/many", content_type="audio/mpeg", burst_bytes=0, queue_bytes=256 * 1024
    )
    server.start()
    port = server.address[1]
    rng = np.random.default_rng(3)
    chunks = [rng.bytes(4096) for _ in range(500)]  # 2 MB
    total = sum(map(len, chunks))
    results: list[bytes] = []

    async def listen_all() -> None:
        results.extend(await asyncio.gather(*(_fast_listener(port, total) for _ in range(200))))

    clients = threading.Thread(target=lambda: asyncio.run(listen_all()), daemon=True)
    clients.start()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        slow.connect(("127.0.0.1", port))
        slow.sendall(b"GET /many HTTP/1.0\r\n\r\n")
        assert wait_for(lambda: mount.listener_count == 201, timeout=30)
        assert server.stats()["mounts"]["/many"]["listeners"] == 201
        for i in range(0, len(chunks), 8):  # ~500 KB/s, faster than any real stream
            for chunk in chunks[i : i + 8]:
                mount.write(chunk)
            time.sleep(0.06)
        clients.join(timeout=60)
        assert not clients.is_alive()
        assert wait_for(lambda: mount.dropped_listeners == 1)
        stats = server.stats()["mounts"]["/many"]
        assert stats["dropped_listeners"] == 1
        assert stats["peak_listeners"] == 201
        slow.settimeout(10)
        try:
            received = drain(slow)  # the server closed it: its kernel buffers, then EOF
        except ConnectionResetError:
            received = 0
        assert received < total
    finally:
        slow.close()
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert len(results) == 200
    assert all(hashlib.sha256(r).hexdigest() == expected for r in results)
    assert mount.dropped_bytes == 0

    def hung_up() -> bool:  # a listener that hung up is noticed when a write fails
        mount.write(b"more")
        time.sleep(0.1)
        return mount.listener_count == 0

    assert wait_for(hung_up)
    assert mount.dropped_listeners == 1  # hanging up is not being dropped


# -- HTTP surface: HEAD, status, errors, static files -------------------------------------------


def test_head_status_and_errors(server: StreamServer) -> None:
    info = StreamInfo(name="Name\r\nX-Evil: 1", description="Desc", url="https://x", public=True)
    mount = server.add_mount("/s.mp3", content_type="audio/mpeg", info=info)
    server.start()
    port = server.address[1]
    head = raw_request(port, b"HEAD /s.mp3 HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.0 200 OK"
    assert "icy-name: Name X-Evil: 1" in lines  # no header injection
    assert "icy-pub: 1" in lines
    assert "icy-metaint: 16000" in lines
    assert "Cache-Control: no-cache, no-store" in lines
    assert head.endswith(b"\r\n\r\n")
    mount.write(b"x" * 100)
    code, _, body = fetch(f"http://127.0.0.1:{port}/status.json")
    assert code == 200
    status = json.loads(body)
    assert status["mounts"]["/s.mp3"]["content_type"] == "audio/mpeg"
    assert wait_for(lambda: server.stats()["mounts"]["/s.mp3"]["bytes_in"] == 100)
    assert raw_request(port, b"GET /nope HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert raw_request(port, b"DELETE /s.mp3 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw_request(port, b"PUT /s.mp3 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw_request(port, b"GET /s.mp3 HTTP/9.9\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_request(port, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_request(port, b"GET /s.mp3 HTTP/1.0\r\nBad header\r\n\r\n").startswith(
        b"HTTP/1.1 400 "
    )
    huge = b"GET / HTTP/1.0\r\n" + b"X-Fill: " + b"a" * 9000 + b"\r\n\r\n"
    assert raw_request(port, huge).startswith(b"HTTP/1.1 431 ")
    mount.close()
    assert wait_for(lambda: mount.state is OutputState.CLOSED)
    assert raw_request(port, b"GET /s.mp3 HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 503 ")


def test_a_taken_port_is_a_clear_error(server: StreamServer) -> None:
    server.start()
    other = StreamServer(port=server.address[1])
    with pytest.raises(EngineError, match=f"port {server.address[1]} in use"):
        other.start()
    other.close()


def test_static_files_are_served_and_nothing_outside(server: StreamServer, tmp_path: Path) -> None:
    hls = tmp_path / "hls"
    hls.mkdir()
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg1.aac\n"
    (hls / "live.m3u8").write_bytes(playlist)
    (hls / "seg1.aac").write_bytes(b"\xff\xf1" + bytes(1000))
    (tmp_path / "secret.txt").write_text("station passwords")
    (hls / "link.txt").symlink_to(tmp_path / "secret.txt")
    server.add_static("/hls/wgmr", hls)
    server.start()
    base = f"http://127.0.0.1:{server.address[1]}/hls/wgmr"
    code, headers, body = fetch(f"{base}/live.m3u8")
    assert code == 200
    assert body == playlist
    assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Length"] == str(len(playlist))
    code, headers, body = fetch(f"{base}/seg1.aac")
    assert (code, headers["Content-Type"], len(body)) == (200, "audio/aac", 1002)
    code, headers, body = fetch(f"{base}/seg1.aac", method="HEAD")
    assert (code, headers["Content-Length"], body) == (200, "1002", b"")
    assert fetch(f"{base}/seg2.aac")[0] == 404
    port = server.address[1]
    for path in (b"/hls/wgmr/../secret.txt", b"/hls/wgmr/%2e%2e/secret.txt", b"/hls/wgmr/link.txt"):
        answer = raw_request(port, b"GET " + path + b" HTTP/1.0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:60]
        assert b"passwords" not in answer


@needs_ffmpeg
def test_an_engine_output_reaches_a_late_ffmpeg_listener(server: StreamServer) -> None:
    engine = Engine(RealtimeClock(burst=5), EngineOptions(realtime=True, process_blocks=5))
    mount = server.add_mount("/engine.opus", content_type="audio/ogg")
    server.start()
    engine.add_output(OutputBinding(mount, "opus"))  # writes the Ogg/Opus header first
    runner = threading.Thread(target=engine.run, name="engine", daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: mount.bytes_written > 0)
        time.sleep(1.5)  # the listener joins mid-stream (Ogg pages of silence are small)
        result = ffmpeg_read(f"http://127.0.0.1:{server.address[1]}/engine.opus", 2)
    finally:
        engine.clock.stop()
        runner.join(5)
        engine.close()
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert error_lines(result.stderr) == []
    assert len(result.stdout) >= 1.9 * 48_000 * 4
    assert mount.state is OutputState.CLOSED  # the engine closed its output
