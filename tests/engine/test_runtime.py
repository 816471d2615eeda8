"""A whole station runtime against real peers: ffmpeg listeners and DJs, icecast2."""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
import time
import urllib.request
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grimnir.config.station import StationConfig
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.outputs import OutputState
from grimnir.engine.runtime import RuntimeOptions, StationRuntime
from tests._peers import PASSWORD, IcecastServer, Senders, wait_for
from tests._require import FFMPEG_PATH
from tests.engine._stations import station

FFMPEG = FFMPEG_PATH
MakeMedia = Callable[..., Path]
DJ_PASSWORD = "dj-secret"


class Recorder:
    """Collects engine events from the engine thread."""

    def __init__(self) -> None:
        self.events: list[tuple[float, EngineEvent]] = []
        self._lock = threading.Lock()

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self.events.append((time.monotonic(), event))

    def find(self, kind: str, **data: Any) -> list[tuple[float, EngineEvent]]:
        with self._lock:
            return [
                (at, e)
                for at, e in self.events
                if e.type == kind and all(e.data.get(k) == v for k, v in data.items())
            ]


@pytest.fixture
def running() -> Iterator[Callable[[StationConfig], StationRuntime]]:
    started: list[StationRuntime] = []

    def start(config: StationConfig) -> StationRuntime:
        runtime = StationRuntime(
            config,
            RuntimeOptions(http_port=0, burst_blocks=5, harbor_users={"dj": DJ_PASSWORD}),
        )
        runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.close()


def test_listeners_hear_the_station_and_a_dj_takes_over_then_automation_returns(
    running: Callable[[StationConfig], StationRuntime], make_media: MakeMedia
) -> None:
    music = make_media("music.wav", seconds=60.0, freq_hz=300, level_db=-10, rate=48_000)
    runtime = running(
        station(
            [{"type": "http", "path": "/wgmr.mp3", "format": "mp3", "bitrate_kbps": 128}],
            live_timeout_sec=3,
            live_grace_sec=1,
        )
    )
    recorder = Recorder()
    runtime.subscribe(recorder)
    runtime.play(PlayItem("music", str(music), title="Song", artist="Band"))
    host, port = runtime.server.address

    listener = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-t",
            "3",
            "-i",
            f"http://{host}:{port}/wgmr.mp3",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert listener.returncode == 0, listener.stderr.decode()
    assert listener.stderr.strip() == b""

    dj = subprocess.Popen(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "sine=f=1000:d=4",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-content_type",
            "audio/mpeg",
            "-f",
            "mp3",
            f"icecast://dj:{DJ_PASSWORD}@{host}:{port}/live",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: bool(recorder.find("layer.changed", to="live")), 10)
        _, stderr = dj.communicate(timeout=20)
        assert dj.returncode == 0, stderr.decode()
    finally:
        dj.kill()
        dj.communicate()
    # a bound for waiting only (live_grace 1 s after the DJ's last audio)
    assert wait_for(lambda: bool(recorder.find("live.ended", mount="/live")), 60)
    # The DJ left; automation was heard again 100 ms after the DJ's last audio (it played
    # on underneath), and the session ended by the grace rule (a disconnect), not by the
    # live timeout. In engine frames: the DJ's 4 s of audio aired whole.
    [(_, connected)] = recorder.find("live.connected", mount="/live")
    [(_, disconnected)] = recorder.find("live.disconnected", mount="/live")
    [(_, started)] = recorder.find("live.started", mount="/live")
    [(_, ended)] = recorder.find("live.ended", mount="/live")
    assert ended.data["reason"] == "disconnected"
    [(_, on_live)] = recorder.find("layer.changed", to="live")
    (_, back) = recorder.find("layer.changed", to="automation")[-1]
    assert connected.frame <= started.frame == on_live.frame < back.frame < ended.frame
    assert disconnected.frame < ended.frame
    assert back.frame - started.frame >= 4 * 48_000 - 0.1 * 48_000
    assert ended.frame - back.frame >= 0.8 * 48_000  # the DJ had the grace time to return


def test_a_wrong_dj_password_is_refused(
    running: Callable[[StationConfig], StationRuntime],
) -> None:
    runtime = running(station([{"type": "null"}]))
    host, port = runtime.server.address
    dj = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=f=1000:d=1",
            "-c:a",
            "libmp3lame",
            "-content_type",
            "audio/mpeg",
            "-f",
            "mp3",
            f"icecast://dj:wrong@{host}:{port}/live",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert dj.returncode != 0
    assert runtime.engine.live is None


def icy_titles(url: str, count: int, seconds: float) -> list[str]:
    """StreamTitles seen on ``url`` (ICY metadata) within ``seconds``."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    titles: list[str] = []
    deadline = time.monotonic() + seconds
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET /{path} HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n".encode())
        reader = sock.makefile("rb")
        metaint = 0
        while line := reader.readline().strip():
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "icy-metaint":
                metaint = int(value)
        assert metaint > 0
        while time.monotonic() < deadline and len(titles) < count:
            reader.read(metaint)
            length = reader.read(1)[0] * 16
            if length:
                text = reader.read(length).rstrip(b"\0").decode("utf-8", "replace")
                title = text.removeprefix("StreamTitle='").split("';", 1)[0]
                if not titles or titles[-1] != title:
                    titles.append(title)
    return titles


def test_icecast_restart_reconnects_and_the_recording_has_no_gap(
    running: Callable[[StationConfig], StationRuntime],
    make_media: MakeMedia,
    icecast: IcecastServer,
    tmp_path: Path,
) -> None:
    first = make_media("first.wav", seconds=6.0, freq_hz=300, level_db=-10, rate=48_000)
    # NOTE: long enough to outlast the test on a busy machine (silence would fail it)
    second = make_media("second.wav", seconds=180.0, freq_hz=500, level_db=-10, rate=48_000)
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/wgmr.mp3"
    runtime = running(
        station(
            [
                {"type": "icecast", "url": url, "format": "mp3", "bitrate_kbps": 128},
                {"type": "recording", "path": str(tmp_path / "rec"), "format": "wav"},
            ]
        )
    )
    runtime.play(PlayItem("first", str(first), title="First", artist="A"))
    runtime.play(PlayItem("second", str(second), title="Second", artist="B"))
    (icecast_out,) = runtime.icecast
    assert wait_for(lambda: icecast_out.state is OutputState.UP, 10)
    # ffmpeg decodes 10 s from icecast2 across the change of item, and a
    # listener asking for ICY metadata sees the title change at the next item.
    decoder = subprocess.Popen(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-t",
            "10",
            "-i",
            f"http://127.0.0.1:{icecast.port}/wgmr.mp3",
            "-f",
            "s16le",
            "-",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    titles = icy_titles(f"http://127.0.0.1:{icecast.port}/wgmr.mp3", 2, 15)
    decoded, errors = decoder.communicate(timeout=30)
    assert decoder.returncode == 0, errors.decode()
    assert errors.strip() == b""
    assert len(decoded) >= 9.9 * 48_000 * 4
    assert titles[-2:] == ["A - First", "B - Second"]

    icecast.stop()
    assert wait_for(lambda: icecast_out.state is not OutputState.UP, 10)
    connects = icecast_out.connects
    icecast.start()
    # a bound for waiting only: the backoff schedule is test_icecast.py's business
    assert wait_for(lambda: icecast_out.connects > connects, 60)
    listener = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-t",
            "3",
            "-i",
            f"http://127.0.0.1:{icecast.port}/wgmr.mp3",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert listener.returncode == 0, listener.stderr.decode()

    frames_before_close = runtime.engine.clock.frame
    runtime.close()
    recordings = sorted((tmp_path / "rec").rglob("*.wav"))
    assert recordings
    total = 0
    audio: list[np.ndarray] = []
    for path in recordings:
        with wave.open(str(path)) as wav:
            total += wav.getnframes()
            raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            audio.append(raw.reshape(-1, 2)[:, 0])
    joined = np.concatenate(audio)
    # Every engine frame is in the recording, and none is silent after the
    # first item started: the icecast outage did not touch the recording.
    assert abs(total - frames_before_close) <= 48_000 * 0.5
    start = int(np.flatnonzero(np.abs(joined) > 300)[0])
    window = 960
    loud = np.abs(joined[start : start + (len(joined) - start) // window * window])
    peaks = loud.reshape(-1, window).max(axis=1)
    assert peaks[: len(peaks) - 5].min() > 300


def test_listener_and_hls_urls_are_served(
    running: Callable[[StationConfig], StationRuntime], make_media: MakeMedia, tmp_path: Path
) -> None:
    music = make_media("music.wav", seconds=30.0, freq_hz=300, level_db=-10, rate=48_000)
    runtime = running(
        station(
            [
                {"type": "http", "path": "/wgmr.aac", "format": "aac", "bitrate_kbps": 96},
                {"type": "hls", "path": str(tmp_path / "hls"), "segment_duration_sec": 1},
            ]
        )
    )
    runtime.play(PlayItem("music", str(music)))
    host, port = runtime.server.address
    playlist = f"http://{host}:{port}/hls/main/index.m3u8"

    def has_segments() -> bool:
        try:
            with urllib.request.urlopen(playlist, timeout=2) as answer:
                body: bytes = answer.read()
        except OSError:
            return False
        return body.count(b"#EXTINF") >= 3

    assert wait_for(has_segments, 15)
    played = subprocess.run(
        [FFMPEG, "-nostdin", "-v", "error", "-i", playlist, "-t", "2", "-f", "null", "-"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert played.returncode == 0, played.stderr.decode()
    status = runtime.status()
    assert status.on_air == "automation"
    assert status.listeners is not None


def test_dj_titles_reach_listeners_and_a_kick_ends_the_show(
    running: Callable[[StationConfig], StationRuntime], make_media: MakeMedia
) -> None:
    music = make_media("music.wav", seconds=60.0, freq_hz=300, level_db=-10, rate=48_000)
    runtime = running(
        station(
            [{"type": "http", "path": "/wgmr.mp3", "format": "mp3", "bitrate_kbps": 128}],
            live_grace_sec=0.5,
        )
    )
    recorder = Recorder()
    runtime.subscribe(recorder)
    runtime.play(PlayItem("music", str(music), title="Song", artist="Band"))
    host, port = runtime.server.address
    dj = subprocess.Popen(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "sine=f=1000:d=60",
            "-c:a",
            "libmp3lame",
            "-content_type",
            "audio/mpeg",
            "-f",
            "mp3",
            f"icecast://dj:{DJ_PASSWORD}@{host}:{port}/live",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: bool(recorder.find("layer.changed", to="live")), 10)
        query = "mount=%2Flive&mode=updinfo&song=DJ%20Ann%20-%20Night%20Shift"
        request = urllib.request.Request(
            f"http://{host}:{port}/admin/metadata?{query}",
            headers={
                "Authorization": "Basic " + base64.b64encode(b"dj:" + DJ_PASSWORD.encode()).decode()
            },
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - http only
            assert answer.status == 200
        titles = icy_titles(f"http://{host}:{port}/wgmr.mp3", 1, 10)
        assert titles == ["DJ Ann - Night Shift"]
        kicked = time.monotonic()
        runtime.kick_live("/live")
        dj.wait(timeout=10)  # ffmpeg ends when its connection is cut
    finally:
        dj.kill()
        dj.wait()
    assert wait_for(
        lambda: bool(recorder.find("live.disconnected", mount="/live", reason="kicked")), 5
    )
    assert wait_for(
        lambda: any(at > kicked for at, _ in recorder.find("layer.changed", to="automation")), 5
    )
    assert wait_for(lambda: runtime.metadata.title == "Song", 5)
    # NOTE: the title reaches the mounts from the metadata thread, after the above
    titles = []
    for _ in range(5):
        titles = icy_titles(f"http://{host}:{port}/wgmr.mp3", 1, 10)
        if titles == ["Band - Song"]:
            break
    assert titles == ["Band - Song"]


def test_a_relayed_streams_titles_reach_our_listeners(
    running: Callable[[StationConfig], StationRuntime], senders: Senders
) -> None:
    senders.start("relay", 440.0)
    senders.set_title("relay", "Remote Band - Remote Song")
    runtime = running(
        station([{"type": "http", "path": "/wgmr.mp3", "format": "mp3", "bitrate_kbps": 128}])
    )
    runtime.play(PlayItem("relay", senders.url("relay"), title="Relay"))
    host, port = runtime.server.address
    assert wait_for(lambda: runtime.metadata.title == "Remote Band - Remote Song", 10)
    titles = icy_titles(f"http://{host}:{port}/wgmr.mp3", 1, 10)
    assert titles == ["Remote Band - Remote Song"]


def test_every_kind_of_listener_is_counted_on_its_mount(
    make_media: MakeMedia, icecast: IcecastServer, tmp_path: Path
) -> None:
    music = make_media("music.wav", seconds=120.0, freq_hz=300, level_db=-10, rate=48_000)
    ice_url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/count.mp3"
    runtime = StationRuntime(
        station(
            [
                {"type": "http", "path": "/count.mp3", "format": "mp3", "bitrate_kbps": 64},
                {"type": "icecast", "url": ice_url, "format": "mp3", "bitrate_kbps": 64},
                {"type": "hls", "path": str(tmp_path / "hls"), "segment_duration_sec": 1},
            ]
        ),
        RuntimeOptions(http_port=0, burst_blocks=5, audience_poll_s=0.5),
    )
    runtime.start()
    listeners: list[subprocess.Popen[bytes]] = []
    try:
        runtime.play(PlayItem("music", str(music)))
        host, port = runtime.server.address
        (icecast_out,) = runtime.icecast
        assert wait_for(lambda: icecast_out.state is OutputState.UP, 15)

        def audience() -> dict[str, Any]:
            report = runtime.status().audience
            assert report is not None
            return report["main"].to_wire()

        # nobody yet: Icecast's count is known (0) once polled
        assert wait_for(lambda: audience()["icecast"] == 0, 15)
        assert audience() == {
            "http": 0,
            "icecast": 0,
            "hls": 0,
            "total": 0,
            "outputs": {"/count.mp3": 0, f"127.0.0.1:{icecast.port}/count.mp3": 0},
        }
        for url in (
            f"http://{host}:{port}/count.mp3",
            f"http://127.0.0.1:{icecast.port}/count.mp3",
        ):
            listeners.append(
                subprocess.Popen(
                    [FFMPEG, "-nostdin", "-v", "error", "-i", url, "-t", "60", "-f", "null", "-"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        playlist = f"http://{host}:{port}/hls/main/index.m3u8"
        assert wait_for(lambda: (tmp_path / "hls" / "index.m3u8").exists(), 15)
        # three HLS players: two on this machine (players differ), and one the
        # control plane's /listen proxy relays for a listener elsewhere
        for agent, forwarded in (("player-a", ""), ("player-b", ""), ("player-a", "203.0.113.7")):
            headers = {"User-Agent": agent}
            if forwarded:
                headers["X-Forwarded-For"] = forwarded
            request = urllib.request.Request(playlist, headers=headers)
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - http on loopback
                assert answer.status == 200

        def counted() -> bool:
            counts = audience()
            return bool(counts["http"] == 1 and counts["icecast"] == 1)

        assert wait_for(counted, 20), audience()
        counts = audience()
        assert counts["hls"] == 3
        assert counts["total"] == 5
        assert counts["outputs"] == {"/count.mp3": 1, f"127.0.0.1:{icecast.port}/count.mp3": 1}
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()
        runtime.close()
