"""Our Icecast source client against a real icecast2 server on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.encoders import create_encoder
from grimnir.engine.outputs import IcecastOutput, OutputState, StreamInfo

ICECAST = shutil.which("icecast2") or "/usr/bin/icecast2"
PASSWORD = "hackme-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IcecastServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "log").mkdir(exist_ok=True)
        web = Path("/usr/share/icecast2/web")
        admin = Path("/usr/share/icecast2/admin")
        owner = ""
        if os.geteuid() == 0:  # icecast2 refuses to run as root without dropping privileges
            owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
            os.chmod(root, 0o755)  # noqa: S103 - nobody must reach its log folder
            shutil.chown(root / "log", "nobody", "nogroup")
        self.config = root / "icecast.xml"
        self.config.write_text(f"""<icecast>
  <limits><sources>4</sources><burst-size>65536</burst-size></limits>
  <authentication>
    <source-password>{PASSWORD}</source-password>
    <admin-user>admin</admin-user><admin-password>{PASSWORD}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{self.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>{root}</basedir><logdir>{root / "log"}</logdir>
    <webroot>{web}</webroot><adminroot>{admin}</adminroot></paths>
  <logging><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
""")
        os.chmod(self.config, 0o644)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [ICECAST, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("icecast2 did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    def status(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/status-json.xsl", timeout=2
        ) as answer:
            raw = answer.read().decode("utf-8", "replace")
        try:
            stats = json.loads(raw)["icestats"]
        except json.JSONDecodeError:
            return []  # NOTE: Icecast 2.4's status page is not always valid JSON
        source = stats.get("source", [])
        return source if isinstance(source, list) else [source]


@pytest.fixture
def icecast() -> Iterator[IcecastServer]:
    if not Path(ICECAST).exists():
        if os.environ.get("CI"):
            pytest.fail("icecast2 is missing: scripts/test-peers.sh installs it")
        pytest.skip("icecast2 not installed: apt-get install icecast2 (or run make test)")
    # NOTE: not under pytest's tmp_path: icecast2 drops root for nobody, who
    # cannot enter pytest's private (0700) temp folders.
    root = Path(tempfile.mkdtemp(prefix="grimnir-icecast-"))
    server = IcecastServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def tone_blocks(seconds: float) -> Iterator[np.ndarray]:
    t = np.arange(960) / 48_000
    for n in range(int(seconds * 50)):
        phase = 2 * np.pi * 440 * (t + n * 0.02)
        yield np.stack([np.sin(phase), np.sin(phase)]).astype(np.float32) * 0.3


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def stream(output: IcecastOutput, seconds: float) -> None:
    encoder = create_encoder(AudioFormat.MP3, 128)
    for block in tone_blocks(seconds):
        output.write(encoder.encode(block))
        time.sleep(0.02)


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
                shutil.which("ffmpeg") or "/usr/bin/ffmpeg",
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
    assert output.state is OutputState.CLOSED
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


def test_reconnects_after_the_server_restarts(icecast: IcecastServer) -> None:
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}/live.mp3"
    output = IcecastOutput(url, content_type="audio/mpeg")
    try:
        stream(output, 0.5)
        assert output.connects == 1
        icecast.stop()
        stream(output, 1.0)  # writes never block while the server is gone
        assert wait_for(lambda: output.state is OutputState.DOWN)
        icecast.start()
        started = time.monotonic()
        while output.connects < 2 and time.monotonic() - started < 10:
            stream(output, 0.2)
        assert output.connects == 2
        assert time.monotonic() - started < 5.0  # backoff starts at 1 s
        assert wait_for(
            lambda: any(s.get("listenurl", "").endswith("/live.mp3") for s in icecast.status())
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
