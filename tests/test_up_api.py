"""``grimnir up`` serves the API, the web UI and the stations' streams on ``--http``.

A real control plane (in process, with its engine as a supervised process)
over a tiny station: the page and its files, the OpenAPI document, the
``/listen`` proxy (ffmpeg decodes what it relays; a listener that goes away
closes the engine connection), and the ``OnAir`` view the API uses. Then the
command itself in a subprocess: what it prints, and a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio
import yaml

from grimnir.config.settings import Settings
from grimnir.engine.client import GrpcEngineClient
from grimnir.store.db import create_engine
from grimnir.up import ControlPlane, UpOptions
from tests._require import FFMPEG_PATH, peer, require_peer
from tests.test_up import grimnir, write_tracks

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION = "wgmr-fm"
MOUNT = "/t.mp3"
HLS = f"/hls/{yaml.safe_load(EXAMPLE.read_text())['mounts'][0]['id']}/index.m3u8"
BURST_S = 64 * 1024 * 8 / 128_000
"""What the engine sends a new listener at once (``burst_kb`` 64 of 128 kbit/s MP3)."""
LISTEN_S = 8.0
"""Stream time a listener decodes: more than the burst, so it ends in live programme."""
FFMPEG = FFMPEG_PATH
needs_ffmpeg = peer("ffmpeg")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_station(root: Path) -> dict[str, str]:
    """A registered station with one MP3 listener mount (and HLS) and a scanned library."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(root / "data")
    config = yaml.safe_load(EXAMPLE.read_text())
    config["mounts"][0]["outputs"] = [
        {"type": "http", "path": MOUNT, "format": "mp3", "bitrate_kbps": 128},
        {"type": "hls", "path": str(root / "hls"), "segment_duration_sec": 1},
    ]
    station = root / "station.yaml"
    station.write_text(yaml.safe_dump(config))
    added = grimnir(env, "station", "add", "--config", str(station))
    assert added.returncode == 0, added.stderr
    write_tracks(root / "music", 3, 8.0)
    scan = grimnir(env, "library", "scan", str(root / "music"), "--station", STATION)
    assert scan.returncode == 0, scan.stderr
    return env


def engine_pids(marker: Path) -> list[int]:
    """Engine processes whose command line names ``marker`` (a test's folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"grimnir\x00engine" in cmdline and str(marker).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


# -- the control plane in process ---------------------------------------------------------


@dataclass
class Running:
    plane: ControlPlane
    base: str
    root: Path


@pytest.fixture(scope="module")
def station_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("up-api")
    make_station(root)
    yield root
    for pid in engine_pids(root):  # only if a test left one behind
        os.kill(pid, signal.SIGKILL)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(station_root: Path) -> AsyncIterator[Running]:
    settings = Settings(data_dir=station_root / "data")
    db = create_engine(settings.resolved_database_url)
    options = UpOptions(http_port=0, stream_port=free_port(), grpc_port=free_port(), plan_hours=1.0)
    plane = ControlPlane(settings, db, options)
    try:
        await plane.start()
        assert await plane.wait_on_air(60) == [], "the station never came on air"
        yield Running(plane, plane.http_url, station_root)
    finally:
        await plane.stop()
        await db.dispose()
    assert engine_pids(station_root) == [], "stop() left the engine running"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_web_ui_and_its_files_are_served(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-cache"
        scripts = re.findall(r'<script type="module" [^>]*src="(/assets/[^"]+\.js)"', page.text)
        styles = re.findall(r'<link rel="stylesheet" [^>]*href="(/assets/[^"]+\.css)"', page.text)
        assert len(scripts) == 1, page.text
        assert len(styles) == 1, page.text

        script = await client.get(scripts[0])
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
        for call in ("/api/v1/auth/login", "/api/v1/auth/refresh", "/playout/skip", "/asrun"):
            assert call in script.text
        again = await client.get(scripts[0], headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304
        style = await client.get(styles[0])
        assert style.status_code == 200
        assert style.headers["content-type"].startswith("text/css")

        for wrong in ("/assets/../up.py", "/assets/nothing.js", "/assets/index.html"):
            missing = await client.get(wrong)
            assert missing.status_code == 404, wrong
        gone = await client.get("/static/app.js")  # the status page before the web UI
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert "player.js" in gone.json()["detail"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_api_is_served_on_the_same_address(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        spec = await client.get("/api/v1/openapi.json")
        assert spec.status_code == 200
        paths = spec.json()["paths"]
        assert "/api/v1/auth/login" in paths
        assert not any(p.startswith("/listen") for p in paths)  # an endless body: not fuzzed
        docs = await client.get("/api/v1/docs")
        assert docs.status_code == 200
        login = await client.post(
            "/api/v1/auth/login", json={"username": "nobody", "password": "wrong"}
        )
        assert login.status_code == 401
        assert login.headers["content-type"] == "application/problem+json"


@needs_ffmpeg
@pytest.mark.asyncio(loop_scope="module")
async def test_the_listen_proxy_relays_a_stream_ffmpeg_decodes(running: Running) -> None:
    plane = running.plane
    slot = plane.slots[0]
    url, hls = plane.listen_urls(slot.station.id)
    assert url == f"{running.base}/listen/{STATION}{MOUNT}"
    assert hls == f"{running.base}/listen/{STATION}{HLS}"
    # NOTE: "on air" (wait_on_air) means the engine's stream answers; the programme
    # begins when the executor's first item starts, seconds later on a busy machine,
    # and until then the stream carries silence. So: wait for the programme first.
    executor = plane.executor(slot.station.id)
    assert executor is not None
    async with asyncio.timeout(60):
        while executor.current is None:
            await asyncio.sleep(0.05)
    assert FFMPEG is not None
    ffmpeg = await asyncio.create_subprocess_exec(
        # -t counts decoded stream time: however long a busy machine takes to deliver it
        *(FFMPEG, "-nostdin", "-v", "error", "-i", url, "-t", str(LISTEN_S)),
        *("-f", "s16le", "-ac", "2", "-ar", "48000", "-"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    pcm, errors = await asyncio.wait_for(ffmpeg.communicate(), timeout=60)
    assert ffmpeg.returncode == 0, errors.decode()
    samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2)
    assert len(samples) >= LISTEN_S * 48_000 * 0.95
    # the loudest sample of each 20 ms of the stream, and where the programme is heard
    peaks = np.abs(samples[: len(samples) // 960 * 960]).reshape(-1, 960 * 2).max(axis=1)
    heard = np.flatnonzero(peaks > 3000)
    assert heard.size, "the relayed stream decodes to silence"
    # an item was on air before we connected: only the burst (the recent past a new
    # listener gets first) may come from before it
    assert heard[0] * 0.02 <= BURST_S + 0.5, f"{heard[0] * 0.02:.2f} s of silence first"
    # from there on the tracks follow each other without a gap in the stream
    quiet = longest_run(peaks[heard[0] :] < 100)
    assert quiet * 0.02 <= 0.1, f"a gap of {quiet * 0.02:.2f} s in the relayed programme"


@pytest.mark.asyncio(loop_scope="module")
@peer("mpg123")
async def test_an_http_1_0_player_gets_the_stream_as_is_not_chunked(
    running: Running, tmp_path: Path
) -> None:
    """HTTP/1.0 has no chunked encoding (RFC 1945): the stream's body ends where the
    connection does. mpg123 (an HTTP/1.0 client) plays it without losing sync, and
    shows the title the ICY metadata carries."""
    executor = running.plane.executor(running.plane.slots[0].station.id)
    assert executor is not None
    async with asyncio.timeout(60):
        while executor.current is None:
            await asyncio.sleep(0.05)
    host, port = running.base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET /listen/{STATION}{MOUNT} HTTP/1.0\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        body = await asyncio.wait_for(reader.readexactly(8192), 10)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"transfer-encoding" not in head.lower(), head
    assert body[0] == 0xFF, body[:16]  # an MP3 frame's sync, not a chunk size line
    wav = tmp_path / "mpg123.wav"
    mpg123 = await asyncio.create_subprocess_exec(
        "mpg123", "-n", "200", "-w", str(wav), f"{running.base}/listen/{STATION}{MOUNT}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await asyncio.wait_for(mpg123.communicate(), timeout=60)
    said = errors.decode(errors="replace")
    assert mpg123.returncode == 0, said
    assert "resync" not in said.lower(), said
    assert "error" not in said.lower(), said
    assert wav.stat().st_size > 200 * 1152 * 4 * 0.9  # 200 frames of stereo 16-bit
    titles = re.findall(r"ICY-META: StreamTitle='([^']*)';", said)
    assert titles, said
    assert all(re.fullmatch(r".*track\d.*", t, re.IGNORECASE) for t in titles), titles
    # ffmpeg asks for ICY metadata (-icy 1) and shows the title it read
    heard = await asyncio.create_subprocess_exec(
        FFMPEG, "-nostdin", "-v", "info", "-icy", "1", "-i",
        f"{running.base}/listen/{STATION}{MOUNT}", "-t", "3", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, ffmpeg_said = await asyncio.wait_for(heard.communicate(), timeout=60)
    shown = ffmpeg_said.decode(errors="replace")
    assert heard.returncode == 0, shown[-2000:]
    assert re.search(r"StreamTitle\s*: .*track\d", shown, re.IGNORECASE), shown[-2000:]


def longest_run(flags: npt.NDArray[np.bool_]) -> int:
    """The longest run of True in ``flags``."""
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


@pytest.mark.asyncio(loop_scope="module")
async def test_the_proxy_passes_icy_headers_and_closes_upstream_when_the_listener_goes(
    running: Running,
) -> None:
    slot = running.plane.slots[0]
    status_url = slot.engine_url("/status.json")

    async def listeners(client: httpx.AsyncClient) -> int:
        mounts = (await client.get(status_url)).json()["mounts"]
        return int(mounts[MOUNT]["listeners"])

    async def settle(client: httpx.AsyncClient, want: int) -> int:
        for _ in range(100):
            count = await listeners(client)
            if count == want:
                break
            await asyncio.sleep(0.1)
        return count

    async with httpx.AsyncClient(timeout=10) as client:
        assert await settle(client, 0) == 0
        url = f"{running.base}/listen/{STATION}{MOUNT}"
        async with client.stream("GET", url, headers={"Icy-MetaData": "1"}) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "audio/mpeg"
            assert reply.headers["icy-metaint"] == "16000"
            assert "icy-name" in reply.headers
            received = 0
            async for chunk in reply.aiter_raw():
                received += len(chunk)
                if received > 20_000:
                    break
            assert await settle(client, 1) == 1
        assert await settle(client, 0) == 0, "the engine still streams to a listener who left"


@pytest.mark.asyncio(loop_scope="module")
async def test_now_playing_counts_the_listeners_of_each_mount(running: Running) -> None:
    """AzuraCast's now-playing and ours count a listener on the mount it opened, and
    stop counting when it goes (the public answer is cached a few seconds)."""

    async def counts(client: httpx.AsyncClient) -> tuple[int, int, int, int]:
        azuracast = (await client.get(f"/api/nowplaying/{STATION}")).json()
        ours = (await client.get(f"/api/v1/public/stations/{STATION}/now-playing")).json()
        (mount,) = azuracast["station"]["mounts"]
        assert mount["path"] == MOUNT
        return (
            int(azuracast["listeners"]["current"]),
            int(mount["listeners"]["current"]),
            int(ours["listeners"]),
            int(azuracast["station"]["hls_listeners"]),
        )

    async def settle(client: httpx.AsyncClient, *want: int) -> tuple[int, ...]:
        found: tuple[int, ...] = ()
        for _ in range(150):
            found = await counts(client)
            if found == want:
                break
            await asyncio.sleep(0.1)
        return found

    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        assert await settle(client, 0, 0, 0, 0) == (0, 0, 0, 0)
        heard = asyncio.Event()

        async def listen() -> None:
            async with httpx.AsyncClient(timeout=10) as listener:
                url = f"{running.base}/listen/{STATION}{MOUNT}"
                async with listener.stream("GET", url) as reply:
                    assert reply.status_code == 200
                    async for _ in reply.aiter_raw():
                        heard.set()  # reads on: a listener that stops is dropped as slow

        task = asyncio.create_task(listen())
        try:
            await asyncio.wait_for(heard.wait(), 10)
            assert await settle(client, 1, 1, 1, 0) == (1, 1, 1, 0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert await settle(client, 0, 0, 0, 0) == (0, 0, 0, 0)
        # two HLS players elsewhere, through the proxy: each is counted once, by the
        # address the proxy names (a player's own X-Forwarded-For is not believed)
        for player in ("player-a", "player-b"):
            for _ in range(2):
                reply = await client.get(
                    f"/listen/{STATION}{HLS}",
                    headers={"User-Agent": player, "X-Forwarded-For": "198.51.100.1"},
                )
                assert reply.status_code == 200, reply.text
        assert await settle(client, 2, 0, 2, 2) == (2, 0, 2, 2)


@pytest.mark.asyncio(loop_scope="module")
async def test_readiness_names_the_station_on_air_and_its_engine(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert body["stations"] == {STATION: {"ok": True, "detail": ""}}


@pytest.mark.asyncio(loop_scope="module")
async def test_the_proxy_serves_only_streams_on_air(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        for path in (f"/listen/{STATION}/status.json", f"/listen/{STATION}/admin/metadata"):
            reply = await client.get(path)
            assert reply.status_code == 404
            assert "no stream" in reply.json()["detail"]
        assert (await client.get(f"/listen/nope{MOUNT}")).status_code == 404
        by_id = f"/listen/{running.plane.slots[0].station.id}{MOUNT}"
        async with client.stream("GET", by_id) as reply:
            assert reply.status_code == 200


@pytest.mark.asyncio(loop_scope="module")
async def test_the_control_plane_is_the_apis_on_air_view(running: Running) -> None:
    plane = running.plane
    slot = plane.slots[0]
    executor = plane.executor(slot.station.id)
    assert executor is not None
    assert executor is slot.executor
    await executor.wait_ready()
    engine = plane.engine(slot.station.id)
    assert isinstance(engine, GrpcEngineClient)
    status = await engine.status()
    assert status.station_id in (None, str(slot.station.id))
    stranger = uuid.uuid4()
    assert plane.executor(stranger) is None
    assert plane.engine(stranger) is None
    assert plane.listen_urls(stranger) == []
    assert plane.stream_upstream("nope", MOUNT) is None
    assert plane.stream_upstream(STATION, MOUNT) == slot.engine_url(MOUNT)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_public_api_tells_the_page_what_is_on_air_and_where(running: Running) -> None:
    """The fields app.js reads: current/next, the station's proxied listen URLs."""
    plane = running.plane
    slot = plane.slots[0]
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        for _ in range(100):
            now = (await client.get(f"/api/v1/public/stations/{STATION}/now-playing")).json()
            if now.get("current"):
                break
            await asyncio.sleep(0.2)
        assert now["current"]["started_at"]
        assert "title" in now["current"]
        assert isinstance(now["next"], list)
        assert now["station"]["listen_urls"] == plane.listen_urls(slot.station.id)


@pytest.mark.asyncio(loop_scope="module")
async def test_urls_handed_out_are_on_the_host_the_caller_used(running: Running) -> None:
    """A player on another machine must get URLs it can reach: the request's host, not
    the bind address; each caller its own, though the answer is cached and shared; a
    forged X-Forwarded-Host from a peer that is not a trusted proxy changes nothing."""
    path = f"/listen/{STATION}{MOUNT}"
    routes = (
        f"/api/v1/public/stations/{STATION}/now-playing",  # cached: the hot path
        "/api/v1/public/stations",
        f"/api/nowplaying/{STATION}",
    )
    async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
        for route in routes:
            for host in ("radio.example.com", "10.1.2.3:8080", "radio.example.com"):
                reply = await client.get(
                    route,
                    headers={
                        "Host": host,
                        "X-Forwarded-Host": "evil.example",
                        "X-Forwarded-Proto": "https",
                    },
                )
                assert reply.status_code == 200, reply.text
                text = reply.text
                where = text[text.find("listen") :][:300]
                assert f"http://{host}{path}" in text, (route, host, where)
                assert "evil.example" not in text
                assert "grimnir-base.invalid" not in text
                assert int(reply.headers["content-length"]) == len(reply.content)
        # a Host that is not a host name is not put into a URL
        reply = await client.get(routes[0], headers={"Host": "bad host/<x>"})
        assert "<x>" not in reply.text
        assert running.base + path in reply.text


# -- the command ----------------------------------------------------------------------------


class Output:
    """A process's output lines, read on a thread so a test can wait with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self._queue.put(line)

    def close(self) -> None:
        """After the process ended: the reader sees EOF, then the pipe is closed."""
        self._thread.join(timeout=10)
        self._stream.close()

    def until(self, marker: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.lines.append(line)
            if marker in line:
                return "".join(self.lines)
        raise AssertionError(f"{marker!r} never printed:\n{''.join(self.lines)}")


def run_up(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "grimnir", "up", "--hours", "1", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen[str], output: Output, root: Path) -> int:
    """SIGTERM and the exit code; whatever is left is killed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        output.close()
        for pid in engine_pids(root):
            os.kill(pid, signal.SIGKILL)
    return code


def test_grimnir_up_prints_and_serves_api_ui_and_streams(tmp_path: Path) -> None:
    env = make_station(tmp_path)
    http, streams, grpc = free_port(), free_port(), free_port()
    proc = run_up(
        env, "--http", f"127.0.0.1:{http}", "--stream-port", str(streams), "--grpc-port", str(grpc)
    )
    output = Output(proc)
    try:
        printed = output.until("stop with Ctrl-C", 90)
        listen = f"http://127.0.0.1:{http}/listen/{STATION}{MOUNT}"
        assert f"listen   {listen}" in printed
        assert f"engine   http://127.0.0.1:{streams}{MOUNT} (direct)" in printed
        assert f"harbor   icecast://127.0.0.1:{streams}/live" in printed
        assert f"web UI       http://127.0.0.1:{http}/" in printed
        assert f"API docs     http://127.0.0.1:{http}/api/v1/docs" in printed
        page = httpx.get(f"http://127.0.0.1:{http}/", timeout=10)
        assert page.status_code == 200
        assert "Grimnir Radio" in page.text
        with httpx.stream("GET", listen, timeout=10) as reply:
            assert reply.status_code == 200
            assert len(next(reply.iter_raw())) > 0
    finally:
        code = stop(proc, output, tmp_path)
    assert code == 0
    assert engine_pids(tmp_path) == []


def test_a_taken_http_port_fails_before_any_engine_starts(tmp_path: Path) -> None:
    env = make_station(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        proc = run_up(
            env,
            *("--http", f"127.0.0.1:{port}"),
            *("--stream-port", str(free_port()), "--grpc-port", str(free_port())),
        )
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"port {port}" in output
    assert "--http" in output
    assert engine_pids(tmp_path) == []


def test_grimnir_up_demo_prints_where_to_listen_look_and_sign_in(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(tmp_path / "data")
    http = free_port()
    proc = run_up(
        env,
        *("--demo", "--demo-tracks", "2", "--demo-seconds", "6"),
        *("--http", f"127.0.0.1:{http}", "--stream-port", str(free_port())),
        *("--grpc-port", str(free_port())),
    )
    output = Output(proc)
    try:
        printed = output.until("stop with Ctrl-C", 240)
        banner = printed[printed.index("demo is on air") :]
        assert f"listen       http://127.0.0.1:{http}/listen/demo/" in banner
        assert f"web UI       http://127.0.0.1:{http}/" in banner
        assert f"API docs     http://127.0.0.1:{http}/api/v1/docs" in banner
        login_line = next(line for line in banner.splitlines() if "admin login" in line)
        user, _, password = login_line.split("admin login", 1)[1].strip().partition(" / ")
        signed_in = httpx.post(
            f"http://127.0.0.1:{http}/api/v1/auth/login",
            json={"username": user, "password": password},
            timeout=10,
        )
        assert signed_in.status_code == 200, signed_in.text
    finally:
        code = stop(proc, output, tmp_path)
    assert code == 0


def test_a_taken_stream_port_asked_for_fails_at_once_saying_what_to_change(
    tmp_path: Path,
) -> None:
    env = make_station(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        proc = run_up(env, *("--http", f"127.0.0.1:{free_port()}", "--stream-port", str(port)))
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert (
        f"127.0.0.1:{port} is already in use (station {STATION}'s listener/harbor port)" in output
    )
    assert "pass --stream-port with a free port" in output
    assert "engine.restarting" not in output
    assert engine_pids(tmp_path) == []


@pytest.mark.asyncio(loop_scope="module")
@peer("chromium")
async def test_the_public_player_page_plays_and_shows_what_is_on_air(
    running: Running, tmp_path: Path
) -> None:
    """The page a station's website links or embeds, in a real browser (Debian's
    chromium, driven by Playwright): inside an <iframe> of another site, it names the
    station, shows the picture, what plays and what played, and its play button
    plays the stream."""
    from playwright.async_api import async_playwright

    player = f"{running.base}/public/{STATION}"
    (tmp_path / "index.html").write_text(
        f'<!doctype html><link rel=icon href="data:,">'
        f'<iframe src="{player}" width=420 height=900></iframe>'
    )
    # NOTE: the station's site: another origin, served from this machine (Chromium
    # keeps a public site from framing a loopback address: Local Network Access)
    site_server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path)),
    )
    threading.Thread(target=site_server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{site_server.server_address[1]}/index.html"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=require_peer("chromium"),
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = await browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            await page.goto(site)
            frame = page.frame_locator("iframe")
            await frame.locator("#station").filter(has_text="WGMR").wait_for(timeout=20_000)
            await frame.locator("#song").filter(has_text="track").wait_for(timeout=30_000)
            art = frame.locator("#art")
            await art.wait_for()
            loaded = await art.evaluate(
                "img => img.complete ? img.naturalWidth : "
                "new Promise(ok => img.addEventListener('load', () => ok(img.naturalWidth)))"
            )
            assert loaded > 0, "the picture did not load"
            await frame.locator("#history li").first.wait_for(timeout=60_000)
            await frame.locator("#schedule-title").wait_for()
            playing = await frame.locator("#audio").evaluate(
                "audio => audio.play().then(() => new Promise(ok => "
                "setTimeout(() => ok(audio.currentTime), 3000)))"
            )
            assert playing > 0.5, f"the stream did not play ({playing} s)"
            await page.screenshot(path=str(tmp_path / "player.png"), full_page=True)
            assert problems == []
        finally:
            await browser.close()
            site_server.shutdown()
            site_server.server_close()
