"""PushSource: a harbor client's stream pushed in chunks, decoded live by FFmpeg."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from grimnir.engine.audio import BLOCK, RATE, rms_db
from grimnir.engine.sources import LiveSource, PushSource
from tests._peers import tone_filter
from tests._require import FFMPEG_PATH, require_peer

FFMPEG = FFMPEG_PATH

# name: (ffmpeg output options, content type)
CODECS = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"], "audio/mpeg"),
    "aac": (["-c:a", "aac", "-b:a", "128k", "-f", "adts"], "audio/aac"),
    # NOTE: short Ogg pages, as streaming encoders write them (ffmpeg's default is 1 s)
    "opus": (
        ["-c:a", "libopus", "-b:a", "128k", "-page_duration", "100000", "-f", "ogg"],
        "audio/ogg",
    ),
}


def encode_tone(path: Path, codec: str, *, seconds: float, freq_hz: float) -> bytes:
    """A stereo sine at -12 dBFS peak, encoded by the ffmpeg CLI; its bytes."""
    options, _ = CODECS[codec]
    source = ["-f", "lavfi", "-i", tone_filter(freq_hz, seconds)]
    subprocess.run(
        [FFMPEG, "-v", "error", "-nostdin", "-y", *source, *options, str(path)],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def dominant_hz(audio: npt.NDArray[np.float32]) -> float:
    """The strongest frequency in the left channel of ``audio`` (shape (2, n))."""
    window = np.hanning(audio.shape[1])
    spectrum = np.abs(np.fft.rfft(audio[0] * window))
    return float(np.fft.rfftfreq(audio.shape[1], 1 / RATE)[int(np.argmax(spectrum))])


def read_realtime(
    source: LiveSource, seconds: float, *, until: Callable[[], bool] | None = None
) -> tuple[npt.NDArray[np.float32], list[int]]:
    """Read blocks at the block loop's pace; the real audio and each read's real count."""
    chunks: list[npt.NDArray[np.float32]] = [np.zeros((2, 0), dtype=np.float32)]
    counts: list[int] = []
    next_at = time.monotonic()
    deadline = next_at + seconds
    while time.monotonic() < deadline and not (until is not None and until()):
        block, got = source.read(BLOCK)
        chunks.append(block[:, :got])
        counts.append(got)
        next_at += BLOCK / RATE
        time.sleep(max(0.0, next_at - time.monotonic()))
    return np.concatenate(chunks, axis=1), counts


def feed_realtime(source: PushSource, data: bytes, seconds: float, chunk: int = 4096) -> None:
    """Push ``data`` (``seconds`` of audio) in ``chunk``-byte pieces at real-time pace."""
    rate = len(data) / seconds
    start = time.monotonic()
    for offset in range(0, len(data), chunk):
        source.feed(data[offset : offset + chunk])
        time.sleep(max(0.0, start + (offset + chunk) / rate - time.monotonic()))


@pytest.fixture(scope="module", autouse=True)
def _need_ffmpeg() -> None:
    require_peer("ffmpeg")


@pytest.mark.parametrize("codec", ["mp3", "aac", "opus"])
def test_pushed_stream_plays_the_tone_without_underruns(tmp_path: Path, codec: str) -> None:
    data = encode_tone(tmp_path / f"tone.{codec}", codec, seconds=4.0, freq_hz=440.0)
    # NOTE: a 4 KB chunk is ~250 ms of 128 kbit/s audio, so the jitter buffer
    # must hold more than one chunk for an even feed to play without holes.
    source = PushSource(CODECS[codec][1], prebuffer_ms=500)
    feeder = threading.Thread(target=feed_realtime, args=(source, data, 4.0))
    with source:
        feeder.start()
        audio, counts = read_realtime(source, 6.0, until=lambda: not feeder.is_alive())
        feeder.join()
        assert source.connected
        source.end()
        tail, _ = read_realtime(source, 3.0, until=lambda: source.finished)
        assert source.finished
        assert not source.connected
    played = np.concatenate((audio, tail), axis=1)
    first = next(i for i, got in enumerate(counts) if got)
    assert all(got == BLOCK for got in counts[first:]), "a hole after the prebuffer"
    assert source.underruns == 0
    assert source.error is None
    assert source.bytes_in == len(data)
    assert source.last_audio_at is not None
    assert played.shape[1] == pytest.approx(4.0 * RATE, abs=0.1 * RATE)
    body = played[:, RATE // 2 : -RATE // 2]
    assert dominant_hz(body) == pytest.approx(440.0, abs=3.0)
    assert rms_db(body) == pytest.approx(-12.0 - 3.0, abs=1.0)  # a sine's RMS: peak - 3 dB


def test_a_pause_in_the_feed_is_one_underrun_then_it_prebuffers_again(tmp_path: Path) -> None:
    data = encode_tone(tmp_path / "tone.mp3", "mp3", seconds=4.0, freq_hz=440.0)
    half = len(data) // 2 // 4096 * 4096
    source = PushSource("audio/mpeg", prebuffer_ms=500)

    def feed() -> None:
        feed_realtime(source, data[:half], 2.0 * half / len(data))
        time.sleep(1.5)  # the DJ's network drops out for longer than the buffer holds
        feed_realtime(source, data[half:], 4.0 * (len(data) - half) / len(data))
        source.end()

    feeder = threading.Thread(target=feed)
    with source:
        feeder.start()
        audio, counts = read_realtime(source, 12.0, until=lambda: source.finished)
        feeder.join()
    first = next(i for i, got in enumerate(counts) if got)
    last = max(i for i, got in enumerate(counts) if got)  # may be short: the end
    holes = [i for i in range(first, last) if counts[i] < BLOCK]
    assert source.underruns == 1
    assert holes, "the dropout must show as short reads"
    assert holes == list(range(holes[0], holes[-1] + 1)), "one gap, not a stutter"
    assert all(got == BLOCK for got in counts[holes[-1] + 1 : last]), "no hole after it"
    assert holes[-1] + 1 < last, "audio resumed after the dropout"
    # once dry, nothing plays until the prebuffer (500 ms) has filled again
    assert len(holes) * BLOCK / RATE >= 0.45
    assert audio.shape[1] == pytest.approx(4.0 * RATE, abs=0.1 * RATE)


@pytest.mark.parametrize("content_type", ["audio/mpeg", "audio/aac", "audio/ogg", None])
def test_garbage_sets_an_error_and_finishes(content_type: str | None) -> None:
    source = PushSource(content_type)
    rng = np.random.default_rng(7)
    with source:
        for _ in range(32):
            source.feed(rng.bytes(4096))
        source.end()
        read_realtime(source, 10.0, until=lambda: source.finished)
        assert source.finished
    assert source.error is not None
    assert "cannot decode the pushed stream" in source.error
    assert source.position_frames == 0


def test_a_client_faster_than_real_time_is_bounded_and_drops_oldest() -> None:
    source = PushSource("audio/mpeg", max_queued_bytes=64 * 1024)
    chunk = b"\xff" * 4096
    try:
        for _ in range(256):  # 1 MiB with nobody decoding (not started)
            source.feed(chunk)
        assert source.bytes_in == 256 * 4096
        assert source.dropped_bytes >= 256 * 4096 - 64 * 1024
        assert source.dropped_bytes <= 256 * 4096 - 60 * 1024
    finally:
        source.close()
    assert source.finished
    source.feed(chunk)  # after close: ignored, never raises


def test_metadata_reaches_title_and_callback() -> None:
    seen: list[str] = []
    source = PushSource("audio/mpeg", on_metadata=seen.append)
    try:
        assert source.title is None
        source.metadata("DJ Freya - Morning Show")
        source.metadata("DJ Freya - Morning Show")  # unchanged: no second callback
        source.metadata("Ragnarök Radio Hour")
        assert source.title == "Ragnarök Radio Hour"
        assert seen == ["DJ Freya - Morning Show", "Ragnarök Radio Hour"]
    finally:
        source.close()


def test_stall_is_measured_from_the_last_decoded_audio(tmp_path: Path) -> None:
    data = encode_tone(tmp_path / "tone.mp3", "mp3", seconds=1.0, freq_hz=440.0)
    source = PushSource("audio/mpeg", prebuffer_ms=100)
    with source:
        source.feed(data)
        deadline = time.monotonic() + 5
        while source.last_audio_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        last = source.last_audio_at
        assert last is not None
        assert source.stalled_for(last + 2.5) == pytest.approx(2.5)
        assert source.connected
        assert source.error is None
