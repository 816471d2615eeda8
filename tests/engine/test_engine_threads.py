"""One thread owns the engine: status and close from other threads while it plays.

A realtime engine on its own loop thread (``Engine.run``) plays real files
into a real MP3 encoder while other threads ask its status and close it.
Status is a snapshot the loop took at a block boundary; close is carried out
by the loop thread itself, so the encoder never runs on a second thread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from grimnir.domain.errors import EngineError
from grimnir.engine.audio import BLOCK, RATE, Block
from grimnir.engine.clock import Clock, RealtimeClock, VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.encoders import Encoder, EncoderPool, Mp3Encoder
from grimnir.engine.engine import Engine, EngineOptions, OutputBinding
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.outputs import NullOutput, OutputState
from grimnir.engine.runtime import RuntimeOptions, StationRuntime
from grimnir.engine.v1.status import OutputStatus, StatusReport
from tests.engine._stations import station

MakeMedia = Callable[..., Path]
STATION = "wgmr"
WAIT_S = 10.0
"""Functional limit for anything the engine does within a block or two."""
CYCLES = 50
"""Engines started, played and closed while read."""
READERS = 4
MIN_READS = 5
"""Status calls of each reader per cycle at least (it goes on until close has returned):
CYCLES × READERS × MIN_READS = 1,000 status calls racing a close, at the least."""
STATUS_KEYS = {
    "station_id",
    "pid",
    "frame",
    "time",
    "on_air",
    "current",
    "queue",
    "outputs",
    "late_blocks",
    "fallback",
}
ON_AIR = {None, "emergency", "live", "automation", "fallback"}


class ThreadLog:
    """Which thread made each encoder call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, threading.Thread]] = []

    def add(self, call: str) -> None:
        with self._lock:
            self.calls.append((call, threading.current_thread()))

    def threads(self, call: str) -> list[threading.Thread]:
        with self._lock:
            return [thread for name, thread in self.calls if name == call]


class WatchedMp3(Mp3Encoder):
    """A real MP3 encoder that notes the thread of every encode and flush."""

    def __init__(self, log: ThreadLog, bitrate_kbps: int, quality: int) -> None:
        super().__init__(bitrate_kbps, quality)
        self.log = log

    def _encode(self, block: Block) -> bytes:
        self.log.add("encode")
        return super()._encode(block)

    def _flush(self) -> bytes:
        self.log.add("flush")
        return super()._flush()


class FailingMp3(WatchedMp3):
    """Its stream cannot be ended (a codec failing at the last moment)."""

    def _flush(self) -> bytes:
        super()._flush()
        raise EngineError("the mp3 encoder failed at the end of its stream")


def watched_pool(log: ThreadLog, kind: type[WatchedMp3] = WatchedMp3) -> EncoderPool:
    def make(fmt: object, bitrate_kbps: int | None, *, mp3_quality: int) -> Encoder:
        return kind(log, bitrate_kbps or 128, mp3_quality)

    return EncoderPool(factory=make)


def watched_engine(
    clock: Clock, log: ThreadLog, kind: type[WatchedMp3] = WatchedMp3
) -> tuple[Engine, NullOutput]:
    """An engine sending its master bus through a watched MP3 encoder to a null output."""
    realtime = isinstance(clock, RealtimeClock)
    engine = Engine(clock, EngineOptions(realtime=realtime, process_blocks=2, mp3_quality=7))
    engine.encoders = watched_pool(log, kind)
    output = NullOutput()
    engine.add_output(OutputBinding(output, "mp3", 128))
    return engine, output


def on_air(engine: Engine) -> threading.Thread:
    loop = threading.Thread(target=engine.run, name="engine-loop", daemon=True)
    loop.start()
    return loop


def until(done: Callable[[], bool], seconds: float = WAIT_S) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.002)
    return False


def playing(control: LocalControl, item_id: str) -> bool:
    current = control.status().current
    return current is not None and current.item_id == item_id


class Reader(threading.Thread):
    """Asks status over and over until close has returned, checking every answer."""

    def __init__(self, control: LocalControl, known: set[str], closing: threading.Event) -> None:
        super().__init__(name="status-reader", daemon=True)
        self.control = control
        self.known = known
        self.closing = closing
        self.closed = threading.Event()
        self.ready = threading.Event()
        self.reads = 0
        self.during_close = 0
        self.last_frame = -1
        self.origin: datetime | None = None
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.closed.is_set() or self.reads < MIN_READS:
                in_close = self.closing.is_set() and not self.closed.is_set()
                self.check(self.control.status())
                self.reads += 1
                self.during_close += in_close
                if self.reads >= 3:
                    self.ready.set()
                time.sleep(0.0005)
        except BaseException as exc:  # handed to the test's thread
            self.errors.append(exc)
        finally:
            self.ready.set()

    def check(self, status: StatusReport) -> None:
        assert set(status.to_wire()) == STATUS_KEYS, status
        assert status.station_id == STATION
        frame = status.frame
        assert frame % BLOCK == 0, frame
        assert frame >= self.last_frame, (frame, self.last_frame)  # never backwards
        self.last_frame = frame
        if frame > 0:  # ``time`` is the time of ``frame``: one instant, one origin
            assert status.time is not None
            origin = status.time - timedelta(seconds=frame / RATE)
            self.origin = self.origin or origin
            assert abs(origin - self.origin) < timedelta(milliseconds=1), (origin, self.origin)
        assert status.on_air in ON_AIR, status.on_air
        queue = status.queue
        assert set(queue) <= self.known, queue
        assert len(set(queue)) == len(queue), queue
        current = status.current
        if current is not None:
            assert current.item_id in self.known, current
            assert current.item_id not in queue, (current, queue)
            assert current.position_ms >= 0, current
        assert [o.name for o in status.outputs] == ["null"], status.outputs
        assert status.outputs[0].state in {s.value for s in OutputState}
        assert status.late_blocks >= 0
        assert set(status.fallback) == {"rotation", "playing", "failed"}


def test_status_and_close_race_a_playing_engine(make_media: MakeMedia) -> None:
    tones = {name: str(make_media(f"{name}.wav", seconds=4.0, rate=48_000)) for name in "abcd"}
    rng = random.Random(16)
    reads = during_close = 0
    for _ in range(CYCLES):
        readers = _play_read_and_close(tones, rng)
        reads += sum(r.reads for r in readers)
        during_close += sum(r.during_close for r in readers)
    assert reads >= CYCLES * READERS * MIN_READS
    assert during_close > 0, "no status call overlapped a close"


def _play_read_and_close(tones: dict[str, str], rng: random.Random) -> list[Reader]:
    """One cycle: on air, readers asking status, queue changes, close from another thread."""
    log = ThreadLog()
    engine, output = watched_engine(RealtimeClock(burst=2), log)
    control = LocalControl(engine, STATION)
    loop = on_air(engine)
    control.play(PlayItem("a", tones["a"], title="A"))
    control.play(PlayItem("b", tones["b"], title="B"))
    assert until(lambda: playing(control, "a"))
    closing = threading.Event()
    readers = [Reader(control, set(tones), closing) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.ready.wait(WAIT_S)
    # the queue changes on the loop thread while they read
    control.play(PlayItem("c", tones["c"]))
    control.play(PlayItem("d", tones["d"]))
    control.unqueue("automation", ["c"])
    time.sleep(rng.uniform(0.0, 0.03))  # close lands anywhere in a burst
    failures: list[BaseException] = []

    def close() -> None:
        try:
            engine.close()
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)

    closing.set()
    closer = threading.Thread(target=close, name="closer", daemon=True)
    closer.start()
    closer.join(WAIT_S)
    assert not closer.is_alive(), "close hung"
    for reader in readers:
        reader.closed.set()
    for reader in readers:
        reader.join(WAIT_S)
        assert not reader.is_alive()
    assert failures == []
    assert [e for r in readers for e in r.errors] == []
    assert not loop.is_alive()  # close waited for the loop thread to end
    final = control.status()
    assert final.frame >= max(r.last_frame for r in readers)
    assert final.outputs == (OutputStatus("null", "closed"),)
    assert output.bytes_written > 0
    assert log.threads("flush") == [loop]
    assert set(log.threads("encode")) == {loop}
    return readers


def test_close_flushes_the_encoder_on_the_loop_thread(make_media: MakeMedia) -> None:
    log = ThreadLog()
    engine, output = watched_engine(RealtimeClock(burst=2), log)
    loop = on_air(engine)
    engine.play(PlayItem("a", str(make_media("a.wav", seconds=4.0, rate=48_000))))
    assert until(lambda: output.bytes_written > 0)
    engine.close()  # from the test's thread
    assert not loop.is_alive()
    assert log.threads("flush") == [loop]
    assert set(log.threads("encode")) == {loop}
    assert output.state is OutputState.CLOSED


def test_runtime_close_flushes_the_encoder_on_the_engine_thread(make_media: MakeMedia) -> None:
    log = ThreadLog()
    runtime = StationRuntime(
        station([{"type": "null", "format": "mp3", "bitrate_kbps": 128}]),
        RuntimeOptions(http_port=0, burst_blocks=2),
    )
    runtime.engine.encoders = watched_pool(log)
    runtime.start()
    try:
        runtime.play(PlayItem("a", str(make_media("a.wav", seconds=4.0, rate=48_000))))
        assert until(lambda: bool(log.threads("encode")) and playing(runtime, "a"))
    finally:
        runtime.close()
    assert not runtime.alive
    flushes = log.threads("flush")
    assert [thread.name for thread in flushes] == ["engine"]
    assert flushes[0] is not threading.current_thread()
    assert {thread.name for thread in log.threads("encode")} == {"engine"}


def test_a_failing_flush_on_the_loop_thread_is_raised_by_close(make_media: MakeMedia) -> None:
    log = ThreadLog()
    engine, output = watched_engine(RealtimeClock(burst=2), log, FailingMp3)
    loop = on_air(engine)
    engine.play(PlayItem("a", str(make_media("a.wav", seconds=4.0, rate=48_000))))
    assert until(lambda: output.bytes_written > 0)
    with pytest.raises(EngineError, match="failed at the end of its stream"):
        engine.close()
    assert not loop.is_alive()
    assert log.threads("flush") == [loop]
    assert output.state is OutputState.CLOSED  # closed all the same


def test_without_a_loop_thread_close_and_status_work_on_the_callers_thread(
    make_media: MakeMedia,
) -> None:
    log = ThreadLog()
    clock = VirtualClock()
    engine, output = watched_engine(clock, log)
    control = LocalControl(engine, STATION)
    control.play(PlayItem("a", str(make_media("a.wav", seconds=4.0, rate=48_000))))
    for _ in range(50):
        clock.wait()
        engine.step()
    status = control.status()
    assert status.current is not None
    assert status.current.item_id == "a"
    assert status.current.position_ms == 1000  # 50 blocks since it started
    engine.close()
    assert log.threads("flush") == [threading.current_thread()]
    assert control.status().outputs == (OutputStatus("null", "closed"),)
    assert output.bytes_written > 0


def test_a_status_after_a_command_was_applied_shows_it(make_media: MakeMedia) -> None:
    engine, _ = watched_engine(RealtimeClock(burst=2), ThreadLog())
    control = LocalControl(engine, STATION)
    loop = on_air(engine)
    tone = str(make_media("a.wav", seconds=4.0, rate=48_000))
    later = 3600 * RATE  # queued for an hour from now: they stay in the queue
    try:
        for n in range(20):
            applied = threading.Event()
            control.play(PlayItem(f"q{n}", tone, start_at=later + n))
            engine.submit(applied.set)
            assert applied.wait(WAIT_S)
            assert f"q{n}" in control.status().queue
            applied = threading.Event()
            control.unqueue("automation", [f"q{n}"])
            engine.submit(applied.set)
            assert applied.wait(WAIT_S)
            assert f"q{n}" not in control.status().queue
    finally:
        engine.close()
    assert not loop.is_alive()
