"""Aircheck recordings: files split on the exact frame of each boundary, sidecars that
say what aired where, retention, and gaps from a stalled disk written down."""

from __future__ import annotations

import json
import os
import threading
import time
import wave
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from grimnir.domain.errors import EngineError
from grimnir.engine.audio import BLOCK, RATE, Block, to_int16_interleaved
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.outputs import OutputState, RecordingOutput

MakeMedia = Callable[..., Path]
ORIGIN = datetime(2026, 3, 1, 10, 59, 50, tzinfo=UTC)
DAY = Path("2026") / "03" / "01"
# 150 s from 10:59:50 with a file per minute: 10 s, 60 s, 60 s, 20 s.
NAMES = ["105950", "110000", "110100", "110200"]
FRAMES = [10 * RATE, 60 * RATE, 60 * RATE, 20 * RATE]


class Capture:
    """A PcmSink that keeps the master bus as the engine hands it out."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, Block]] = []

    def write_pcm(self, chunk: Block, frame: int) -> None:
        self.chunks.append((frame, chunk.copy()))

    def close(self) -> None:
        pass

    def pcm16(self) -> npt.NDArray[np.int16]:
        frames = [frame for frame, _ in self.chunks]
        assert frames == sorted(frames)
        audio = np.concatenate([c for _, c in self.chunks], axis=1)
        return to_int16_interleaved(audio).reshape(-1, 2)


def decode16(path: Path) -> npt.NDArray[np.int16]:
    """A file's samples as int16 (frames, 2): WAV without FFmpeg, the rest with PyAV."""
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 2, 2)
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        parts = [
            out.to_ndarray().reshape(-1, 2)
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
    return np.concatenate(parts).astype(np.int16)


def run_station(
    tmp_path: Path,
    make_media: MakeMedia,
    fmt: str,
    *,
    origin: datetime = ORIGIN,
    process_blocks: int = 1,
    seconds: int = 150,
) -> tuple[RecordingOutput, Capture, list[EngineEvent], dict[str, Any]]:
    """150 s of programme recorded with a file per minute: song a (0–10 s) ends on the
    11:00 boundary (from ``ORIGIN``), b plays 10–60 s, c from 60 s across two boundaries."""
    clock = VirtualClock(origin)
    events: list[EngineEvent] = []
    engine = Engine(clock, EngineOptions(process_blocks=process_blocks), on_event=events.append)
    capture = Capture()
    engine.add_pcm_sink(capture)
    rec = RecordingOutput(
        tmp_path / "rec",
        clock,
        fmt=fmt,
        rotate_minutes=1,
        station="WGMR FM",
        prefix="wgmr",
        blocking=True,
        sidecar_every_s=5,
    )
    engine.add_pcm_sink(rec)
    engine.subscribe(rec.on_event)
    songs = [("a", 10.0, "sine"), ("b", 50.0, "noise"), ("c", 100.0, "sine")]
    for index, (name, length, signal) in enumerate(songs):
        path = make_media(name, seconds=length, rate=RATE, freq_hz=300 + 200 * index, signal=signal)
        engine.play(PlayItem(name, str(path), title=f"Song {name}", artist="The Band"))
    for _ in range(seconds * RATE // BLOCK):
        clock.wait()
        engine.step()
    # While the last file is open its sidecar is already on disk, marked incomplete.
    assert wait_for(lambda: rec.frames_written == seconds * RATE)
    open_sidecar = tmp_path / "rec" / DAY / f"wgmr-20260301T{NAMES[-1]}Z.json"
    assert wait_for(open_sidecar.exists)
    interim = json.loads(open_sidecar.read_text(encoding="utf-8"))
    engine.close()
    return rec, capture, events, interim


@pytest.mark.parametrize(
    ("fmt", "offset_ms", "process_blocks"),
    [("wav", 0, 1), ("flac", 0, 1), ("wav", 7, 3)],
    ids=["wav", "flac", "wav-mid-chunk"],
)
def test_lossless_files_split_on_the_exact_boundary_frame(
    fmt: str, offset_ms: int, process_blocks: int, tmp_path: Path, make_media: MakeMedia
) -> None:
    """With a 7 ms origin and 3-block chunks each boundary falls inside a chunk."""
    origin = ORIGIN + timedelta(milliseconds=offset_ms)
    rec, capture, events, interim = run_station(
        tmp_path, make_media, fmt, origin=origin, process_blocks=process_blocks
    )
    shift = offset_ms * RATE // 1000
    frames = [FRAMES[0] - shift, FRAMES[1], FRAMES[2], FRAMES[3] + shift]
    boundaries = np.cumsum(frames)[:-1]
    assert all(b % (BLOCK * process_blocks) for b in boundaries) == (offset_ms > 0)
    assert (rec.state, rec.last_error, rec.dropped_frames) == (OutputState.CLOSED, None, 0)
    folder = tmp_path / "rec" / DAY
    paths = [folder / f"wgmr-20260301T{name}Z.{fmt}" for name in NAMES]
    assert rec.files == paths
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [p.name for p in paths] + [p.with_suffix(".json").name for p in paths]
    )
    # Laid end to end the files are the master bus, sample for sample: no gap, no overlap.
    decoded = [decode16(p) for p in paths]
    assert [len(d) for d in decoded] == frames
    assert np.array_equal(np.concatenate(decoded), capture.pcm16())

    sidecars = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in paths]
    starts = np.cumsum([0, *frames])
    for index, doc in enumerate(sidecars):
        assert doc["station"] == "WGMR FM"
        assert (doc["format"], doc["sample_rate"], doc["channels"]) == (fmt, RATE, 2)
        assert (doc["start_frame"], doc["frames"], doc["complete"]) == (
            starts[index],
            frames[index],
            True,
        )
        assert doc["gaps"] == []
    assert [d["start_utc"] for d in sidecars] == [
        f"2026-03-01T10:59:50.{offset_ms:03d}Z",
        "2026-03-01T11:00:00.000Z",
        "2026-03-01T11:01:00.000Z",
        "2026-03-01T11:02:00.000Z",
    ]
    assert [d["end_utc"] for d in sidecars] == [
        "2026-03-01T11:00:00.000Z",
        "2026-03-01T11:01:00.000Z",
        "2026-03-01T11:02:00.000Z",
        f"2026-03-01T11:02:20.{offset_ms:03d}Z",
    ]
    assert (interim["complete"], interim["frames"] > 0) == (False, True)

    # Every item event is in the file that holds its frame, at its exact offset.
    logged = [e for e in events if e.type in ("item.started", "item.ended")]
    # (a butt splice: the next item starts on the very frame the last one ends)
    assert [(e.type, e.data["item_id"]) for e in logged] == [
        ("item.started", "a"),
        ("item.started", "b"),
        ("item.ended", "a"),
        ("item.started", "c"),
        ("item.ended", "b"),
    ]
    for event in logged:
        index = int(np.searchsorted(starts, event.frame, side="right")) - 1
        if event.type == "item.ended" and event.frame == starts[index]:
            index -= 1  # an item that ends on a boundary ends in the earlier file
        entries = [
            i
            for i in sidecars[index]["items"]
            if i["event"] == event.type and i["item_id"] == event.data["item_id"]
        ]
        offset = int(event.frame - starts[index])
        assert [(i["offset_frames"], i["offset_ms"]) for i in entries] == [
            (offset, round(offset / 48))
        ]

    if offset_ms:
        return

    def summary(doc: dict[str, Any]) -> list[tuple[str, str, int, bool]]:
        return [
            (i["event"], i["item_id"], i["offset_ms"], i.get("continued", False))
            for i in doc["items"]
        ]

    assert [summary(doc) for doc in sidecars] == [
        [("item.started", "a", 0, False), ("item.ended", "a", 10_000, False)],
        [
            ("item.started", "b", 0, False),
            ("item.started", "c", 50_000, False),
            ("item.ended", "b", 50_000, False),
        ],
        [("item.started", "c", 0, True)],
        [("item.started", "c", 0, True)],
    ]
    started_b = sidecars[1]["items"][0]
    assert (started_b["title"], started_b["artist"]) == ("Song b", "The Band")
    # The layer on air: changed at the start, carried into every later file.
    assert [(x["from"], x["to"], x["offset_ms"]) for x in sidecars[0]["layers"]] == [
        (None, "automation", 0)
    ]
    for doc in sidecars[1:]:
        assert [(x["to"], x["continued"]) for x in doc["layers"]] == [("automation", True)]


def test_mp3_files_rotate_on_the_minute(tmp_path: Path, make_media: MakeMedia) -> None:
    rec, _, _, _ = run_station(tmp_path, make_media, "mp3")
    paths = [tmp_path / "rec" / DAY / f"wgmr-20260301T{name}Z.mp3" for name in NAMES]
    assert rec.files == paths
    for path, frames in zip(paths, FRAMES, strict=True):
        decoded = len(decode16(path))
        # LAME adds its delay (576 + 529 samples) and pads the last 1152-sample frame.
        assert frames <= decoded <= frames + 1105 + 1152, path.name
        doc = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert (doc["frames"], doc["format"]) == (frames, "mp3")


def test_retention_deletes_our_old_files_only(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    old_day = root / "2026" / "01" / "02"
    recent_day = root / "2026" / "02" / "20"
    planted = {
        old_day / "wgmr-20260102T100000Z.mp3": False,
        old_day / "wgmr-20260102T100000Z.json": False,
        recent_day / "wgmr-20260220T100000Z.mp3": True,  # 9 days old: kept
        recent_day / "other-20260102T100000Z.mp3": True,  # another station's prefix
        root / "2025" / "12" / "31" / "notes.txt": True,  # not a recording name
    }
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    clock = VirtualClock(ORIGIN)
    rec = RecordingOutput(root, clock, prefix="wgmr", fmt="wav", retention_days=30)
    rec.write_pcm(np.zeros((2, BLOCK), dtype=np.float32), 0)
    rec.close()
    for path, kept in planted.items():
        assert path.exists() is kept, path
    assert not (root / "2026" / "01").exists()  # its only day folder emptied: both went
    assert (root / DAY / "wgmr-20260301T105950Z.wav").exists()


def test_a_stalled_disk_drops_the_oldest_audio_and_the_sidecar_says_where(
    tmp_path: Path,
) -> None:
    """The first file is a FIFO nobody reads yet: the worker blocks opening it, as on a
    stuck disk, while the block loop keeps queueing into a two-block queue."""
    root = tmp_path / "rec"
    (root / DAY).mkdir(parents=True)
    fifo = root / DAY / "wgmr-20260301T105950Z.mp3"
    os.mkfifo(fifo)
    clock = VirtualClock(ORIGIN)
    rec = RecordingOutput(root, clock, prefix="wgmr", max_queued_frames=2 * BLOCK)
    tone = (0.3 * np.sin(np.arange(BLOCK) * 0.1)).astype(np.float32)
    block = np.stack([tone, tone])
    received = bytearray()

    def drain() -> None:
        with fifo.open("rb") as reader:
            while data := reader.read(65536):
                received.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    try:
        rec.write_pcm(block, 0)
        assert wait_for(lambda: rec.queued_frames == 0)  # the worker took it and is stuck
        for n in range(1, 11):
            rec.write_pcm(block, n * BLOCK)
        assert (rec.dropped_frames, rec.queued_frames) == (8 * BLOCK, 2 * BLOCK)
    finally:
        reader.start()
        rec.close()
        reader.join(timeout=10)
    assert rec.last_error is None
    assert len(received) > 0
    doc = json.loads(fifo.with_suffix(".json").read_text(encoding="utf-8"))
    # Blocks 1–8 were lost; the file keeps time with silence in their place.
    assert doc["gaps"] == [
        {"offset_frames": BLOCK, "frames": 8 * BLOCK, "offset_ms": 20, "duration_ms": 160}
    ]
    assert doc["frames"] == 11 * BLOCK


def test_bad_settings_are_refused_at_once(tmp_path: Path) -> None:
    clock = VirtualClock(ORIGIN)
    with pytest.raises(EngineError, match="prefix"):
        RecordingOutput(tmp_path, clock, prefix="../escape")
    with pytest.raises(EngineError, match="MP3 cannot be encoded at 100 kbps"):
        RecordingOutput(tmp_path, clock, prefix="wgmr", bitrate_kbps=100)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_an_unusable_folder_is_reported_and_the_next_period_tries_again(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    clock = VirtualClock(ORIGIN)
    rec = RecordingOutput(blocker / "rec", clock, station="WGMR", fmt="wav")
    try:
        for n in range(5):
            rec.write_pcm(np.zeros((2, BLOCK), dtype=np.float32), n * BLOCK)
        assert wait_for(lambda: rec.state is OutputState.DOWN)
        assert wait_for(lambda: rec.dropped_frames == 5 * BLOCK)
        assert rec.last_error is not None
        assert str(blocker / "rec") in rec.last_error
        assert "writable" in rec.last_error
        # Fixed by the next period: its file is made and the output is up again.
        blocker.unlink()
        rec.write_pcm(np.zeros((2, BLOCK), dtype=np.float32), 10 * RATE)
        assert wait_for(lambda: rec.state is OutputState.UP)
        assert rec.dropped_frames == 10 * RATE  # everything before 11:00 was lost
    finally:
        rec.close()
    assert rec.state is OutputState.CLOSED
    assert rec.last_error is None
    # The prefix defaults to the station's name as a slug.
    assert rec.files == [blocker / "rec" / DAY / "wgmr-20260301T110000Z.wav"]
