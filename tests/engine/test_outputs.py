"""Outputs: files get every byte in order, and a stuck or failing disk never
blocks or breaks the caller; it shows up as state, counters and last_error."""

from __future__ import annotations

import os
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from grimnir.domain import AudioFormat, EngineError
from grimnir.engine.audio import RATE, to_int16_interleaved
from grimnir.engine.clock import VirtualClock
from grimnir.engine.encoders import create_encoder
from grimnir.engine.engine import Engine, OutputBinding
from grimnir.engine.outputs import FileOutput, NullOutput, Output, OutputState


def chunks(count: int, size: int = 100) -> list[bytes]:
    """Distinct chunks, so order and loss are visible in the file."""
    return [bytes([i % 251]) * size for i in range(count)]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_null_output_counts_and_keeps_nothing() -> None:
    out = NullOutput("bench")
    for chunk in chunks(10):
        out.write(chunk)
    assert (out.name, out.state, out.bytes_written, out.dropped_bytes) == (
        "bench",
        OutputState.UP,
        1000,
        0,
    )
    out.close()
    out.write(b"late")
    assert out.state is OutputState.CLOSED
    assert (out.bytes_written, out.dropped_bytes) == (1000, 4)


@pytest.mark.parametrize("synchronous", [True, False], ids=["sync", "thread"])
def test_file_output_writes_header_and_chunks_in_order(synchronous: bool, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "show.mp3"
    data = chunks(300)
    out = FileOutput(path, b"HEADER", synchronous=synchronous)
    assert isinstance(out, Output)
    for chunk in data:
        out.write(chunk)
    out.close()

    assert path.read_bytes() == b"HEADER" + b"".join(data)
    assert out.state is OutputState.CLOSED
    assert (out.bytes_written, out.dropped_bytes, out.last_error) == (30_006, 0, None)
    out.close()  # closing twice is harmless
    assert out.state is OutputState.CLOSED


@pytest.mark.parametrize("synchronous", [True, False], ids=["sync", "thread"])
def test_wav_files_get_their_true_sizes_at_close(synchronous: bool, tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    signal = np.random.default_rng(3).uniform(-0.5, 0.5, (2, RATE)).astype(np.float32)
    encoder = create_encoder(AudioFormat.WAV)
    out = FileOutput(
        path, encoder.stream_header(), synchronous=synchronous, finalize=encoder.finalize_header
    )
    for start in range(0, RATE, 960):
        out.write(encoder.encode(signal[:, start : start + 960]))
    out.write(encoder.flush())
    out.close()

    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, RATE, 2)
        assert wav.getnframes() == RATE
        pcm = np.frombuffer(wav.readframes(RATE), dtype="<i2")
    np.testing.assert_array_equal(pcm, to_int16_interleaved(signal))


def test_synchronous_output_that_cannot_open_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(EngineError, match=r"cannot write .*not-a-folder/out\.mp3"):
        FileOutput(blocker / "out.mp3", synchronous=True)


def test_threaded_output_that_cannot_open_goes_down_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    out = FileOutput(blocker / "out.mp3", b"HDR", synchronous=False)
    wait_for(lambda: out.state is OutputState.DOWN)
    out.write(b"12345")
    out.close()

    assert out.state is OutputState.CLOSED
    assert out.last_error is not None
    assert "not-a-folder" in out.last_error
    assert (out.dropped_bytes, out.bytes_written) == (5, 0)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("synchronous", [True, False], ids=["sync", "thread"])
def test_a_full_disk_marks_the_output_down_and_counts_the_loss(synchronous: bool) -> None:
    out = FileOutput("/dev/full", synchronous=synchronous)
    for chunk in chunks(50):
        out.write(chunk)  # must not raise
    wait_for(lambda: out.state is OutputState.DOWN)

    assert (out.state, out.bytes_written) == (OutputState.DOWN, 0)
    assert out.last_error is not None
    assert "No space left" in out.last_error
    out.close()
    assert (out.state, out.dropped_bytes) == (OutputState.CLOSED, 5000)


def test_a_stalled_writer_drops_the_oldest_chunks_and_never_blocks(tmp_path: Path) -> None:
    # A FIFO with no reader makes the writer thread hang in open(), as a stuck
    # disk or network mount would; write() must still return at once.
    fifo = tmp_path / "stuck.pipe"
    os.mkfifo(fifo)
    data = chunks(10)
    out = FileOutput(fifo, b"HDR", synchronous=False, max_queued_bytes=300)
    received = bytearray()

    def drain() -> None:
        with fifo.open("rb") as pipe:
            received.extend(pipe.read())

    reader = threading.Thread(target=drain, daemon=True)
    try:
        for chunk in data:
            out.write(chunk)
        assert out.state is OutputState.CONNECTING
        assert (out.queued_bytes, out.dropped_bytes) == (300, 700)
    finally:
        reader.start()  # unblocks the writer whatever happened above
        out.close()
        reader.join(5)

    assert bytes(received) == b"HDR" + b"".join(data[7:])
    assert (out.bytes_written, out.dropped_bytes, out.state) == (303, 700, OutputState.CLOSED)


def test_an_oversized_chunk_is_kept_rather_than_lost(tmp_path: Path) -> None:
    fifo = tmp_path / "slow.pipe"
    os.mkfifo(fifo)
    out = FileOutput(fifo, synchronous=False, max_queued_bytes=50)
    received = bytearray()

    def drain() -> None:
        with fifo.open("rb") as pipe:
            received.extend(pipe.read())

    reader = threading.Thread(target=drain, daemon=True)
    try:
        out.write(b"a" * 10)
        out.write(b"b" * 200)  # alone bigger than the queue: the older chunk goes
    finally:
        reader.start()
        out.close()
        reader.join(5)
    assert bytes(received) == b"b" * 200
    assert out.dropped_bytes == 10


def test_writes_after_close_are_counted_as_dropped(tmp_path: Path) -> None:
    out = FileOutput(tmp_path / "a.flac", synchronous=True, name="recorder")
    out.write(b"abc")
    out.close()
    out.write(b"defg")
    assert repr(out) == "<FileOutput 'recorder' closed>"
    assert (tmp_path / "a.flac").read_bytes() == b"abc"
    assert (out.bytes_written, out.dropped_bytes) == (3, 4)


def test_drop_oldest_queue_keeps_the_newest_audio() -> None:
    from grimnir.engine.outputs import DropOldestQueue

    queue = DropOldestQueue(max_bytes=10)
    assert queue.push(b"aaaa") == 0
    assert queue.push(b"bbbb") == 0
    assert queue.push(b"cccc") == 4  # over 10 bytes: the oldest chunk goes
    assert queue.bytes == 8
    assert queue.push(b"x" * 50) == 8  # one huge chunk is still kept
    assert queue.drain() == [b"x" * 50]
    assert not queue
    assert queue.bytes == 0


class HeldOutput(Output):
    """Holds the engine's first write until released; notes writes that overlap."""

    def __init__(self) -> None:
        super().__init__("held")
        self.entered = threading.Event()
        self.release = threading.Event()
        self.events: list[str] = []
        self._writing = 0

    def write(self, data: bytes) -> None:
        self._writing += 1
        self.events.append("write" if self._writing == 1 else "overlapping write")
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)
        self._writing -= 1

    def close(self) -> None:
        self.events.append("close" if not self._writing else "close during a write")


def test_closing_the_engine_from_another_thread_waits_for_the_block_in_progress() -> None:
    # The encoders' FFmpeg contexts must never run on two threads: a flush at close
    # under a running block failed with "the aac encoder failed: [Errno 12] …".
    out = HeldOutput()
    engine = Engine(VirtualClock())
    engine.add_output(OutputBinding(out, "aac", 128))
    loop = threading.Thread(target=engine.run, name="engine")
    loop.start()
    assert out.entered.wait(10)  # the engine thread is inside a block, sending bytes
    closer = threading.Thread(target=engine.close, name="closer")
    closer.start()
    closer.join(0.5)  # time enough for a close that does not wait to do its harm
    out.release.set()
    closer.join(10)
    loop.join(10)
    assert not closer.is_alive()
    assert not loop.is_alive()
    assert out.events[-1] == "close"
    assert set(out.events[:-1]) == {"write"}
