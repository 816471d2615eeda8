"""HLS output: segments and a live playlist that obey RFC 8216 and that ffmpeg plays."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import RealtimeClock, VirtualClock
from grimnir.engine.encoders import create_encoder
from grimnir.engine.engine import Engine, OutputBinding
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.outputs import PLAYLIST_NAME, HlsOutput, OutputState
from tests._require import FFMPEG_PATH, peer, peer_path

MakeMedia = Callable[..., Path]
ORIGIN = datetime(2026, 3, 1, 10, 59, 50, tzinfo=UTC)
PRIV_OWNER = b"com.apple.streaming.transportStreamTimestamp\x00"
FFMPEG = FFMPEG_PATH
FFMPEG_QUIET = [FFMPEG, "-v", "error", "-nostdin"]
FFPROBE = peer_path("ffprobe") or "ffprobe"
FFPROBE_DURATION = [FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
needs_ffmpeg = peer("ffmpeg")


@dataclass
class Segment:
    sequence: int
    uri: str
    duration: float
    date: datetime


@dataclass
class Playlist:
    version: int
    target: int
    media_sequence: int
    segments: list[Segment]
    ended: bool


def parse_playlist(text: str) -> Playlist:
    """A strict reading of our media playlist: every line must be one we expect."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert not text.startswith("\ufeff")
    tags: dict[str, str] = {}
    segments: list[Segment] = []
    date: datetime | None = None
    duration: float | None = None
    ended = False
    for line in lines[1:]:
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.split(":", 1)[1]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
            date = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        elif line.startswith("#EXTINF:"):
            value = line.split(":", 1)[1]
            assert re.fullmatch(r"\d+\.\d{3},", value), value
            duration = float(value[:-1])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line.startswith("#EXT-X-"):
            key, value = line.split(":", 1)
            tags[key] = value
        else:
            match = re.fullmatch(r"seg-(\d+)\.aac", line)
            assert match is not None, line
            assert duration is not None, line
            assert date is not None, line
            segments.append(Segment(int(match.group(1)), line, duration, date))
            duration = date = None
    assert set(tags) == {"#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE"}
    return Playlist(
        int(tags["#EXT-X-VERSION"]),
        int(tags["#EXT-X-TARGETDURATION"]),
        int(tags["#EXT-X-MEDIA-SEQUENCE"]),
        segments,
        ended,
    )


def check_rules(playlist: Playlist, *, window: int, holes: bool = False) -> None:
    """The RFC 8216 rules a live audio playlist of ours must keep (``holes``: audio
    was lost, so a segment may start later than the previous one ends)."""
    assert playlist.version >= 3  # decimal EXTINF
    assert playlist.segments
    assert playlist.media_sequence == playlist.segments[0].sequence
    sequences = [s.sequence for s in playlist.segments]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    for segment in playlist.segments:
        assert round(segment.duration) <= playlist.target
        assert math.ceil(segment.duration) <= playlist.target
    for before, after in itertools.pairwise(playlist.segments):
        step = (after.date - before.date).total_seconds()
        if holes:
            assert step >= before.duration - 0.0015
        else:
            assert abs(step - before.duration) <= 0.0015  # both printed to the millisecond
    if len(playlist.segments) == window:
        # A full window spans at least three target durations (RFC 8216 §6.2.2).
        assert sum(s.duration for s in playlist.segments) >= 3 * playlist.target
    assert len(playlist.segments) <= window


def id3_pts(data: bytes) -> int:
    assert data[:3] == b"ID3"
    at = data.index(PRIV_OWNER) + len(PRIV_OWNER)
    return int.from_bytes(data[at : at + 8], "big")


def decoded_samples(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


@needs_ffmpeg
def test_playlist_follows_rfc_8216_and_ffmpeg_plays_it(
    make_media: MakeMedia, tmp_path: Path
) -> None:
    song = make_media("song", seconds=45.0, freq_hz=440.0, rate=RATE)
    clock = VirtualClock(ORIGIN)
    engine = Engine(clock)
    hls = HlsOutput(tmp_path / "hls", clock, segment_duration_s=2.0, window_segments=3)
    # 2 s is 93.75 AAC frames: segments are 94 frames (2.005 s), the target is 3 s,
    # and three segments would not span 3 × 3 s, so the window grows to five.
    assert (hls.segment_samples, hls.target_duration, hls.window_segments) == (96256, 3, 5)
    engine.add_output(OutputBinding(hls, "aac", 128))
    engine.play(PlayItem("song", str(song)))
    snapshots: list[str] = []
    playlist_file = tmp_path / "hls" / PLAYLIST_NAME
    in_playlist: set[int] = set()
    left: dict[int, tuple[int, float]] = {}  # block it left at, that playlist's duration
    gone: dict[int, int] = {}
    for _ in range(40 * RATE // BLOCK):
        clock.wait()
        engine.step()
        while hls.queued_bytes:  # NOTE: the writer thread has taken what this block gave
            time.sleep(0.0005)
        if playlist_file.exists():
            text = playlist_file.read_text(encoding="utf-8")
            if not snapshots or snapshots[-1] != text:
                snapshots.append(text)
                now = {s.sequence for s in parse_playlist(text).segments}
                for sequence in in_playlist - now:
                    left[sequence] = (
                        clock.block,
                        sum(s.duration for s in parse_playlist(snapshots[-2]).segments),
                    )
                in_playlist = now
            for sequence in left.keys() - gone.keys():
                if not (tmp_path / "hls" / f"seg-{sequence}.aac").exists():
                    gone[sequence] = clock.block
    engine.close()
    assert hls.state is OutputState.CLOSED
    assert (hls.last_error, hls.dropped_bytes) == (None, 0)
    final = parse_playlist(playlist_file.read_text(encoding="utf-8"))
    assert len(snapshots) >= 3

    # Every playlist a player could have read keeps the rules; the target never changes.
    parsed = [parse_playlist(s) for s in snapshots] + [final]
    for playlist in parsed:
        check_rules(playlist, window=5)
        assert playlist.target == 3
    assert [p.ended for p in parsed] == [False] * len(snapshots) + [True]
    # Sequence numbers: time-based start, and MEDIA-SEQUENCE grows by what was removed.
    first_sequence = final.segments[-1].sequence - hls.segments_written + 1
    first_sample_time = ORIGIN - timedelta(seconds=1024 / RATE)
    assert first_sequence == int(first_sample_time.timestamp() // hls.segment_duration_s)
    for before, after in itertools.pairwise(parsed):
        removed = [s for s in before.segments if s.sequence < after.media_sequence]
        assert after.media_sequence == before.media_sequence + len(removed)
    # 40 s of audio plus the encoder's tail: 19 whole segments and a short last one.
    assert hls.segments_written == 20
    assert all(s.duration == 2.005 for s in final.segments[:-1])
    assert final.segments[-1].duration < 2.005

    # PROGRAM-DATE-TIME: the clock's time of each segment's first sample (after priming).
    for segment in final.segments:
        index = segment.sequence - first_sequence
        expected = ORIGIN + timedelta(seconds=(index * 96256 - 1024) / RATE)
        assert abs((segment.date - expected).total_seconds()) <= 0.001

    # Files: the listed ones exist; one that left the playlist stays at least its own
    # duration plus the playlist's (RFC 8216 §6.2.2), then goes.
    assert gone
    for sequence, at in gone.items():
        left_at, playlist_s = left[sequence]
        assert (at - left_at) * BLOCK / RATE >= 2.005 + playlist_s, sequence
    hls_dir = tmp_path / "hls"
    on_disk = sorted(int(p.stem.split("-")[1]) for p in hls_dir.glob("seg-*.aac"))
    first_listed = final.media_sequence
    assert on_disk == list(range(first_listed - 7, final.segments[-1].sequence + 1))
    assert sorted(p.name for p in hls_dir.iterdir() if not p.name.startswith("seg-")) == [
        PLAYLIST_NAME
    ]
    # Each segment: an ID3 PTS that counts samples at 90 kHz, then whole AAC frames.
    for segment in final.segments:
        data = (hls_dir / segment.uri).read_bytes()
        index = segment.sequence - first_sequence
        assert id3_pts(data) == index * 96256 * 90_000 // RATE
        samples = decoded_samples(hls_dir / segment.uri)
        assert samples % 1024 == 0
        assert abs(samples - segment.duration * RATE) <= RATE / 2000  # EXTINF has 3 decimals
        if segment is not final.segments[-1]:
            assert samples == 96256

    # ffmpeg plays the playlist without a complaint, and hears all of it.
    result = subprocess.run(
        [*FFMPEG_QUIET, "-i", str(playlist_file), "-f", "s16le", "-ac", "2", "-ar", "48000", "-"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    heard = len(result.stdout) // 4
    listed = sum(s.duration * RATE for s in final.segments)
    assert abs(heard - listed) <= 1024
    audio = np.frombuffer(result.stdout, dtype="<i2").reshape(-1, 2)
    assert np.abs(audio[RATE : 2 * RATE, 0]).max() > 6000  # the -12 dBFS tone, not silence
    probe = subprocess.run(
        [*FFPROBE_DURATION, str(playlist_file)],
        capture_output=True,
        timeout=60,
        check=True,
        text=True,
    )
    assert abs(float(probe.stdout) - sum(s.duration for s in final.segments)) < 0.1


def test_a_restart_clears_our_old_files_only(tmp_path: Path) -> None:
    hls_dir = tmp_path / "hls"
    hls_dir.mkdir()
    for name in ("seg-17.aac", ".seg-18.aac.tmp", PLAYLIST_NAME, "poster.jpg", "seg-x.aac"):
        (hls_dir / name).write_bytes(b"old")
    clock = VirtualClock(ORIGIN)
    hls = HlsOutput(hls_dir, clock)
    try:
        assert wait_for(lambda: hls.state is OutputState.UP)
        assert sorted(p.name for p in hls_dir.iterdir()) == ["poster.jpg", "seg-x.aac"]
    finally:
        hls.close()


def test_an_unusable_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    clock = VirtualClock(ORIGIN)
    hls = HlsOutput(blocker / "hls", clock)
    try:
        assert wait_for(lambda: hls.state is OutputState.DOWN)
        assert hls.last_error is not None
        assert str(blocker / "hls") in hls.last_error
        assert "writable" in hls.last_error
        hls.write(b"\xff\xf1" + bytes(5))  # taken and counted, never raised
    finally:
        hls.close()
    assert hls.state is OutputState.CLOSED


@needs_ffmpeg
def test_ffmpeg_follows_the_live_playlist_in_real_time(
    make_media: MakeMedia, tmp_path: Path
) -> None:
    song = make_media("song", seconds=30.0, freq_hz=440.0, rate=RATE)
    clock = RealtimeClock()
    engine = Engine(clock)
    hls_dir = tmp_path / "hls"
    hls = HlsOutput(hls_dir, clock, segment_duration_s=2.0)
    engine.add_output(OutputBinding(hls, "aac", 128))
    engine.play(PlayItem("song", str(song)))
    runner = threading.Thread(target=engine.run, kwargs={"until_frame": 15 * RATE}, daemon=True)
    runner.start()
    player: subprocess.Popen[bytes] | None = None
    heard_file = tmp_path / "heard.raw"
    raw = ["-f", "s16le", "-ac", "2", str(heard_file)]
    try:
        assert wait_for(lambda: (hls_dir / PLAYLIST_NAME).exists(), timeout=10)
        # NOTE: decoded into a file, not a pipe: an undrained pipe would stall the player.
        player = subprocess.Popen(
            [*FFMPEG_QUIET, "-live_start_index", "0", "-i", str(hls_dir / PLAYLIST_NAME), *raw],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        runner.join(timeout=40)
        assert not runner.is_alive()
        engine.close()  # writes the last segment and #EXT-X-ENDLIST: the player finishes
        _, err = player.communicate(timeout=30)
    finally:
        engine.close()
        if player is not None and player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err.decode()
    assert err == b""
    final = parse_playlist((hls_dir / PLAYLIST_NAME).read_text(encoding="utf-8"))
    check_rules(final, window=hls.window_segments)
    assert final.ended
    # The player started at the first segment and heard every one of them.
    heard = heard_file.stat().st_size // 4
    written = 15 * RATE + 1024  # what the engine rendered, plus the encoder's priming
    assert abs(heard - written) <= 2048
    # PROGRAM-DATE-TIME is the realtime clock's UTC (its origin is set when it starts).
    index = final.segments[0].sequence - (final.segments[-1].sequence - hls.segments_written + 1)
    first = clock.time_at(index * hls.segment_samples - 1024)
    assert abs((final.segments[0].date - first).total_seconds()) <= 0.001
    assert abs((final.segments[-1].date - datetime.now(UTC)).total_seconds()) < 30


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_audio_lost_to_a_stalled_disk_restarts_the_next_segment_on_time(tmp_path: Path) -> None:
    """The first segment's temporary file is a FIFO nobody reads yet: the writer blocks
    on it as on a stuck disk while the block loop keeps writing into a 4 KiB queue.

    A write bigger than the queue is only safe once the writer has taken it: until
    then the next write drops it as the oldest. So after each of those the test
    waits until nothing is queued (the writer may still be busy with it; that is
    fine: what it has taken is never dropped)."""
    clock = VirtualClock(ORIGIN)
    hls_dir = tmp_path / "hls"
    hls_dir.mkdir()
    duration = 47 * 1024 / RATE  # 1 s asks for 46.875 frames: 47
    first = int(clock.time_at(-1024).timestamp() // duration)
    fifo = hls_dir / f".seg-{first}.aac.tmp"
    os.mkfifo(fifo)
    hls = HlsOutput(
        hls_dir, clock, segment_duration_s=1.0, window_segments=50, max_queued_bytes=4096
    )
    encoder = create_encoder(AudioFormat.AAC, 128)
    tone = (0.3 * np.sin(np.arange(BLOCK) * 0.05)).astype(np.float32)
    block = np.stack([tone, tone])

    def feed(seconds: float, *, at_once: bool = False) -> None:
        chunks = [encoder.encode(block) for _ in range(round(seconds * RATE / BLOCK))]
        for chunk in [b"".join(chunks)] if at_once else chunks:
            hls.write(chunk)

    def drain() -> None:
        with fifo.open("rb") as reader:
            while reader.read(65536):
                pass

    reader = threading.Thread(target=drain, daemon=True)
    try:
        assert wait_for(lambda: hls.state is OutputState.UP)
        feed(1.2, at_once=True)  # over a segment in one write: the writer blocks on the FIFO
        assert wait_for(lambda: hls.queued_bytes == 0)
        feed(2.0)
        assert hls.dropped_bytes > 0
        reader.start()
        assert wait_for(lambda: hls.queued_bytes == 0)  # the writer took what was left
        feed(3.0, at_once=True)
        assert wait_for(lambda: hls.queued_bytes == 0)  # taken before the encoder's tail
        hls.write(encoder.flush())
    finally:
        if not reader.is_alive() and reader.ident is None:
            reader.start()
        hls.close()
        reader.join(timeout=10)
    assert hls.last_error is None
    playlist = parse_playlist((hls_dir / PLAYLIST_NAME).read_text(encoding="utf-8"))
    check_rules(playlist, window=50, holes=True)
    segments = playlist.segments
    assert segments[0].sequence == first
    # Exactly one hole, and the segment after it starts at the time its audio was made.
    steps = [
        (after.date - before.date).total_seconds() - before.duration
        for before, after in itertools.pairwise(segments)
    ]
    holes = [s for s in steps if s > 0.002]
    assert len(holes) == 1
    assert all(abs(s) <= 0.002 for s in steps if s <= 0.002)
    heard = sum(s.duration for s in segments)
    assert abs(heard + holes[0] - encoder.frames_in / RATE - 1024 / RATE) < 0.025
    for segment in segments[1:]:  # the first "file" is the FIFO
        data = (hls_dir / segment.uri).read_bytes()
        since = (segment.date - segments[0].date).total_seconds()
        assert abs(id3_pts(data) / 90_000 - since) < 0.001
