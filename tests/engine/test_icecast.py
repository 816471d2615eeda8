"""Our Icecast source client against a real icecast2 server on a loopback port."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import numpy as np

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.encoders import create_encoder
from grimnir.engine.outputs import IcecastOutput, OutputState, StreamInfo
from tests._peers import PASSWORD, IcecastServer, wait_for
from tests._require import require_peer


def tone_blocks(seconds: float) -> Iterator[np.ndarray]:
    t = np.arange(960) / 48_000
    for n in range(int(seconds * 50)):
        phase = 2 * np.pi * 440 * (t + n * 0.02)
        yield np.stack([np.sin(phase), np.sin(phase)]).astype(np.float32) * 0.3


def stream(output: IcecastOutput, seconds: float) -> None:
    encoder = create_encoder(AudioFormat.MP3, 128)
    for block in tone_blocks(seconds):
        output.write(encoder.encode(block))
        time.sleep(0.02)


def state_of(output: IcecastOutput) -> OutputState:
    """``output.state`` read afresh: mypy keeps a narrowed property across calls."""
    return output.state


def test_streams_to_icecast_and_a_listener_decodes_it(icecast: IcecastServer) -> None:
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/grimnir.mp3"
    info = StreamInfo(name="WGMR FM", description="test", genre="Jazz", bitrate_kbps=128)
    output = IcecastOutput(url, content_type="audio/mpeg", info=info)
    try:
        stream(output, 1.0)
        assert output.state is OutputState.UP, output.last_error
        sources = icecast.status()
        assert [s["listenurl"] for s in sources] == [f"http://127.0.0.1:{icecast.port}/grimnir.mp3"]
        assert sources[0]["server_name"] == "WGMR FM"
        assert output.set_metadata("Blue in Green", "Miles Davis")
        # The server applies a title in the stream, so it shows once audio follows.
        stream(output, 0.5)
        assert wait_for(
            lambda: [s.get("title") for s in icecast.status()] == ["Miles Davis - Blue in Green"]
        )
        # A real listener: ffmpeg reads the mount while we keep streaming.
        listener = subprocess.Popen(
            [
                require_peer("ffmpeg"),
                "-v",
                "error",
                "-t",
                "2",
                "-i",
                f"http://127.0.0.1:{icecast.port}/grimnir.mp3",
                "-f",
                "null",
                "-",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        stream(output, 4.0)
        _, errors = listener.communicate(timeout=20)
        assert listener.returncode == 0, errors.decode()
    finally:
        output.close()
    assert state_of(output) is OutputState.CLOSED
    assert output.bytes_written > 0


def test_wrong_password_is_reported_and_retried(icecast: IcecastServer) -> None:
    url = f"icecast://source:wrong@127.0.0.1:{icecast.port}/x.mp3"
    output = IcecastOutput(url, content_type="audio/mpeg")
    try:
        assert wait_for(lambda: output.state is OutputState.DOWN)
        assert "HTTP 401" in (output.last_error or "")
        assert "password" in (output.last_error or "")
    finally:
        output.close()


class RecordedWaits(threading.Event):
    """An output's stop event that keeps how long each ``wait`` was asked to last: the
    sender thread waits on it between connection attempts (its backoff)."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            self.timeouts.append(timeout)
        return super().wait(timeout)


def test_reconnects_after_the_server_restarts(icecast: IcecastServer) -> None:
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/live.mp3"
    output = IcecastOutput(url, content_type="audio/mpeg")
    waits = RecordedWaits()
    output._stop = waits  # the sender looks it up afresh on every use
    try:
        stream(output, 0.5)
        assert wait_for(lambda: output.connects == 1, 30)
        icecast.stop()
        stream(output, 1.0)  # writes never block while the server is gone
        assert wait_for(lambda: output.state is OutputState.DOWN, 30)
        icecast.start()
        deadline = time.monotonic() + 120  # a bound for waiting: the backoff may be long
        while output.connects < 2 and time.monotonic() < deadline:
            stream(output, 0.2)
        assert output.connects == 2
        # README: "retry with backoff (1 s doubling to 30 s)": the attempts while the
        # server was gone waited exactly that, however long the outage lasted
        assert waits.timeouts
        assert waits.timeouts == [min(2.0**n, 30.0) for n in range(len(waits.timeouts))]
        assert wait_for(
            lambda: any(str(s.get("listenurl", "")).endswith("/live.mp3") for s in icecast.status())
        )
    finally:
        output.close()


def test_legacy_source_method_streams_too(icecast: IcecastServer) -> None:
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/legacy.mp3"
    output = IcecastOutput(url, content_type="audio/mpeg", legacy_source=True)
    try:
        stream(output, 0.5)
        assert output.state is OutputState.UP, output.last_error
        assert wait_for(
            lambda: any(
                str(s.get("listenurl", "")).endswith("/legacy.mp3") for s in icecast.status()
            )
        )
    finally:
        output.close()


def test_a_busy_mount_is_refused_with_a_clear_reason(icecast: IcecastServer) -> None:
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/busy.mp3"
    first = IcecastOutput(url, content_type="audio/mpeg")
    second = None
    try:
        stream(first, 0.3)
        assert first.state is OutputState.UP
        second = IcecastOutput(url, content_type="audio/mpeg")
        assert wait_for(lambda: second is not None and second.state is OutputState.DOWN)
        assert "HTTP 403" in (second.last_error or "")
    finally:
        first.close()
        if second is not None:
            second.close()
