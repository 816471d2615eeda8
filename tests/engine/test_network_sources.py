"""RTP and SRT inputs with ffmpeg as the sender (and srt-live-transmit as our SRT bridge)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grimnir.engine.audio import RATE, rms_db
from grimnir.engine.sources import ReopeningSource, RtpSource, SrtSource
from tests._peers import tone_filter, wait_for
from tests._require import FFMPEG_PATH, require_peer
from tests.engine.test_live_source import dominant_hz, read_realtime

FFMPEG = FFMPEG_PATH


def free_udp_port(even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not even or port % 2 == 0:  # RTP takes an even port, RTCP the next one
            return port


class Sender:
    """One ffmpeg process sending an endless tone; killed at the end of the test."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, freq_hz: float, *output: str) -> None:
        self.proc = subprocess.Popen(
            [
                *(FFMPEG, "-v", "error", "-nostdin", "-re"),
                *("-f", "lavfi", "-i", tone_filter(freq_hz), *output),
            ],
            stdin=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None


@pytest.fixture
def sender() -> Iterator[Sender]:
    require_peer("ffmpeg")
    proc = Sender()
    try:
        yield proc
    finally:
        proc.kill()


def assert_plays_tone(source: ReopeningSource, freq_hz: float) -> None:
    assert wait_for(lambda: source.buffered_frames > RATE // 2, 15), source.error
    audio, _ = read_realtime(source, 1.5)
    assert audio.shape[1] > RATE
    assert rms_db(audio) > -30.0
    assert dominant_hz(audio) == pytest.approx(freq_hz, abs=5.0)


def assert_stalls_then_recovers(
    source: ReopeningSource, sender: Sender, restart: list[str]
) -> None:
    sender.kill()
    # a bound for waiting only; the stall is reported after the stall time, never before
    assert wait_for(lambda: source.error is not None, source.stall_timeout_s + 60)
    assert source.stalled_for(time.monotonic()) >= source.stall_timeout_s - 0.5
    assert "retrying" in (source.error or "")
    if isinstance(source, SrtSource):  # the bridge restarts after a session
        assert wait_for(lambda: source.child_pid is not None, 60)
        time.sleep(0.3)
    sender.start(880.0, *restart)
    assert wait_for(lambda: source.error is None and source.connected, 60), source.error
    assert_plays_tone(source, 880.0)


def test_rtp_l16_from_the_port_alone(sender: Sender) -> None:
    port = free_udp_port(even=True)
    output = ["-c:a", "pcm_s16be", "-ar", "44100", "-f", "rtp", f"rtp://127.0.0.1:{port}"]
    source = RtpSource(port, host="127.0.0.1", stall_timeout_s=1.5, open_timeout_s=2.0)
    sender.start(440.0, *output)
    with source:
        assert_plays_tone(source, 440.0)
        assert source.connected
        assert_stalls_then_recovers(source, sender, output)
    assert source.finished


def test_rtp_opus_with_the_senders_sdp(sender: Sender, tmp_path: Path) -> None:
    port = free_udp_port(even=True)
    sdp = tmp_path / "stream.sdp"
    sender.start(
        440.0,
        "-c:a",
        "libopus",
        "-b:a",
        "96k",
        "-f",
        "rtp",
        "-sdp_file",
        str(sdp),
        f"rtp://127.0.0.1:{port}",
    )
    assert wait_for(lambda: sdp.exists() and "opus" in sdp.read_text(), 10)
    source = RtpSource(sdp=sdp.read_text(), stall_timeout_s=1.5)
    with source:
        assert_plays_tone(source, 440.0)
        sender.kill()
        assert wait_for(lambda: source.error is not None, 8)
    assert source.finished


def test_rtp_needs_a_port_or_an_sdp() -> None:
    with pytest.raises(Exception, match="either a port or the sender's SDP"):
        RtpSource()


@pytest.fixture
def srt_tools() -> None:
    require_peer("srt-live-transmit")


@pytest.mark.usefixtures("srt_tools")
def test_srt_through_srt_live_transmit(sender: Sender) -> None:
    port = free_udp_port()
    output = [
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        "-f",
        "mpegts",
        f"srt://127.0.0.1:{port}?mode=caller",
    ]
    source = SrtSource(port, stall_timeout_s=2.0, open_timeout_s=3.0, retry_s=0.5)
    with source:
        assert wait_for(lambda: source.child_pid is not None, 5)
        time.sleep(0.3)  # let the bridge bind its SRT port before ffmpeg calls
        sender.start(440.0, *output)
        assert_plays_tone(source, 440.0)
        assert_stalls_then_recovers(source, sender, output)
        pid = source.child_pid
        assert pid is not None
    assert source.finished
    assert source.child_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: no zombie left behind


def test_srt_without_the_bridge_binary_says_what_to_install() -> None:
    source = SrtSource(free_udp_port(), binary="srt-live-transmit-not-here")
    with source:
        assert wait_for(lambda: source.error is not None, 5)
    assert "apt-get install srt-tools" in (source.error or "")
