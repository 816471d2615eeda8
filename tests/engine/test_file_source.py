"""FileSource: formats, resampling, exact cues, both read modes, broken files, analysis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyebur128
import pytest

from grimnir.domain.errors import EngineError
from grimnir.engine.audio import Block
from grimnir.engine.sources import AnalysisRequest, FileSource, FrameBuffer, Source

RATE = 48000
BLOCK = 960

# Allowed length error for lossy formats, in 48 kHz frames: one codec frame plus
# the encoder delay (MP3 1152 + 1105 samples, AAC 1024 + 1024, Vorbis a long
# block, Opus 960 + 312 pre-skip), at 44.1 kHz where that applies.
LENGTH_SLACK = {"wav": 0, "flac": 0, "mp3": 2460, "m4a": 2230, "ogg": 2230, "opus": 1272}
FORMATS = list(LENGTH_SLACK)


def drain(
    source: FileSource, frames: int = BLOCK, limit_s: float = 60.0
) -> npt.NDArray[np.float32]:
    """Everything the source delivers, reading ``frames`` at a time until finished."""
    parts = []
    deadline = time.monotonic() + limit_s
    while not source.finished:
        block, real = source.read(frames)
        assert block.shape == (2, frames)
        assert block.dtype == np.float32
        assert not block[:, real:].any(), "frames after the real ones must be zeros"
        parts.append(block[:, :real])
        assert time.monotonic() < deadline, "source did not finish in time"
    return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.float32)


def play(path: Path, **kwargs: Any) -> tuple[npt.NDArray[np.float32], FileSource]:
    kwargs.setdefault("blocking", True)
    with FileSource(path, **kwargs) as source:
        audio = drain(source)
    return audio, source


def rms_db(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    ms: npt.NDArray[np.float64] = np.mean(np.square(x, dtype=np.float64), axis=1)
    return 20 * np.log10(np.sqrt(ms))


def lufs(x: npt.NDArray[Any], rate: int = RATE) -> float:
    state = pyebur128.R128State(x.shape[0], rate, pyebur128.MeasurementMode.MODE_I)
    state.add_frames(np.ascontiguousarray(x.T, dtype=np.float64).reshape(-1), x.shape[1])
    return float(pyebur128.get_loudness_global(state))


def test_file_source_is_a_source(make_media: Any) -> None:
    assert issubclass(FileSource, Source)
    path = make_media("tone", seconds=0.1, fmt="wav")
    source = FileSource(path, blocking=True)
    assert source.position_frames == 0
    assert source.underruns == 0
    assert source.error is None
    source.close()
    source.close()  # idempotent
    block, real = source.read(BLOCK)
    assert real == 0
    assert block.shape == (2, BLOCK)
    assert not block.any()
    assert source.finished


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_its_length_and_level(
    make_media: Any, fmt: str, channels: int
) -> None:
    path = make_media("tone", seconds=2.0, freq_hz=1000, level_db=-12, fmt=fmt, channels=channels)
    audio, source = play(path)
    assert source.error is None
    assert source.underruns == 0
    assert abs(audio.shape[1] - 2 * RATE) <= LENGTH_SLACK[fmt]
    assert source.duration_frames == audio.shape[1] == source.position_frames
    # A full-scale sine's RMS is 3.01 dB below its peak; mono plays on both
    # channels at full level (not −3 dB each).
    level = rms_db(audio[:, RATE // 2 : RATE * 3 // 2])
    tolerance = 0.01 if fmt in ("wav", "flac") else 0.5
    assert np.allclose(level, -12 - 3.0103, atol=tolerance), level
    if channels == 1:
        assert np.array_equal(audio[0], audio[1])


@pytest.mark.parametrize(
    ("fmt", "rate"), [("wav", 44100), ("mp3", 44100), ("flac", 22050), ("wav", 96000)]
)
def test_resampling_keeps_the_pitch(make_media: Any, fmt: str, rate: int) -> None:
    path = make_media("tone", seconds=2.0, freq_hz=1000, fmt=fmt, rate=rate)
    audio, _ = play(path)
    x = audio[0, :RATE]  # 1 s: bins 1 Hz apart
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    peak_hz = np.argmax(spectrum) * RATE / x.size
    assert abs(peak_hz - 1000) <= 2


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_48k_decodes_to_the_source_samples(
    make_media: Any, media_samples: Any, fmt: str
) -> None:
    args = {"seconds": 1.5, "rate": RATE, "signal": "noise", "level_db": -3.0}
    path = make_media("noise", fmt=fmt, **args)
    audio, _ = play(path)
    expected = media_samples(**args).astype(np.float32) / np.float32(32768)
    assert np.array_equal(audio, expected)


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("fmt", ["wav", "flac"])
@pytest.mark.parametrize(("cue_in", "cue_out"), [(1234, 2345), (0, 5), (2001, None), (20, 3001)])
def test_cue_points_are_sample_accurate(
    make_media: Any,
    read_wav: Callable[[Path], npt.NDArray[np.float32]],
    fmt: str,
    rate: int,
    cue_in: int,
    cue_out: int | None,
) -> None:
    args = {"seconds": 3.0, "rate": rate, "signal": "noise", "level_db": -3.0}
    path = make_media("noise", fmt=fmt, **args)
    if rate == RATE:
        reference = read_wav(make_media("twin", fmt="wav", **args))
    else:
        reference, _ = play(path)  # the resampled whole file
    cued, source = play(path, cue_in_ms=cue_in, cue_out_ms=cue_out)
    start = cue_in * 48
    stop = reference.shape[1] if cue_out is None else min(cue_out * 48, reference.shape[1])
    assert cued.shape[1] == stop - start == source.duration_frames
    assert np.array_equal(cued, reference[:, start:stop])


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "ogg", "opus"])
def test_lossy_cue_in_lands_on_the_right_frame(make_media: Any, fmt: str) -> None:
    # NOTE: a tone, not noise: AAC codes noise as PNS, which a decoder
    # regenerates from its own random state, differently after a seek.
    path = make_media("tone", seconds=3.0, fmt=fmt, freq_hz=1000, level_db=-6.0)
    whole, _ = play(path)
    cued, _ = play(path, cue_in_ms=1700, cue_out_ms=2500)
    assert cued.shape[1] == 800 * 48
    start = 1700 * 48
    window = cued[:, 4800:9600]  # past any decoder run-up
    lags = range(-20, 21)  # a 1 kHz period is 48 frames: the best lag is unique
    errors = [
        np.abs(window - whole[:, start + 4800 + lag : start + 9600 + lag]).max() for lag in lags
    ]
    assert lags[int(np.argmin(errors))] == 0, "cued audio is shifted against the whole file"
    assert min(errors) < 0.02
    if fmt == "mp3":  # decoded from the start and discarded: identical
        assert np.array_equal(cued, whole[:, start : start + 800 * 48])


def test_gain_is_applied_and_output_is_deterministic(make_media: Any) -> None:
    path = make_media("tone", seconds=1.0, fmt="mp3", level_db=-20)
    plain, _ = play(path, cue_in_ms=100)
    louder, _ = play(path, cue_in_ms=100, gain_db=6.0)
    again, _ = play(path, cue_in_ms=100, gain_db=6.0)
    assert np.array_equal(louder, plain * np.float32(10 ** (6 / 20)))
    assert louder.tobytes() == again.tobytes()


def test_blocking_reads_never_underrun(make_media: Any) -> None:
    path = make_media("long", seconds=6.0, fmt="mp3", signal="noise")
    whole, _ = play(path, buffer_ms=10_000)
    # A buffer far smaller than one read: every read has to wait for the decoder.
    with FileSource(path, blocking=True, buffer_ms=2) as source:
        parts = []
        while not source.finished:
            block, real = source.read(4 * BLOCK)
            parts.append(block[:, :real])
        assert source.underruns == 0
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def held_decoder(
    monkeypatch: pytest.MonkeyPatch, hold: threading.Event, at_chunk: int = 0
) -> threading.Event:
    """FileSource's decoder stops before chunk ``at_chunk`` until ``hold`` is set;
    returns an event set once it is held there."""
    import grimnir.engine.sources._file as file_module
    from grimnir.engine.sources._decode import DecodedStream

    held = threading.Event()

    class Held(DecodedStream):
        def chunks(self) -> Iterator[Block]:
            for index, chunk in enumerate(super().chunks()):
                if index == at_chunk:
                    held.set()
                    hold.wait()
                yield chunk

    monkeypatch.setattr(file_module, "DecodedStream", Held)
    return held


def test_non_blocking_reads_never_wait_and_count_underruns(
    make_media: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("long", seconds=4.0, fmt="flac", signal="noise")
    whole, _ = play(path)
    hold = threading.Event()
    held = held_decoder(monkeypatch, hold)
    source = FileSource(path, blocking=False, buffer_ms=5)
    source.start()
    parts: list[npt.NDArray[np.float32]] = []
    reads: list[tuple[Block, int]] = []
    try:
        assert held.wait(60)
        # With the decoder held (until we let it go) every read still returns: zeros,
        # each counted (before the first frames: as a wait to start, not an
        # underrun). A read that waited for the decoder would not.
        reader = threading.Thread(
            target=lambda: reads.extend(source.read(BLOCK) for _ in range(50))
        )
        reader.start()
        reader.join(timeout=60)  # a bound for waiting: 50 reads take microseconds
        assert not reader.is_alive(), "a non-blocking read waited for the held decoder"
        assert [real for _, real in reads] == [0] * 50
        assert not any(block.any() for block, _ in reads)
        assert (source.start_waits, source.underruns) == (50, 0)
        hold.set()
        deadline = time.monotonic() + 60  # a bound for waiting, not a claim
        while not source.finished and time.monotonic() < deadline:
            block, real = source.read(BLOCK)
            assert not block[:, real:].any()
            parts.append(block[:, :real])
        ended = source.finished
    finally:
        hold.set()
        source.close()
    assert ended
    assert source.error is None
    assert source.start_waits >= 50
    # Underruns cost time, never audio: what arrived is the file, in order.
    got = np.concatenate(parts, axis=1)
    assert source.position_frames == got.shape[1]
    assert np.array_equal(got, whole)


def test_a_decoder_held_mid_item_counts_underruns(
    make_media: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the item has begun, a read the decoder cannot fill is an underrun: a gap
    in the item (the dashboard's dropouts)."""
    path = make_media("long", seconds=4.0, fmt="flac", signal="noise")
    hold = threading.Event()
    held = held_decoder(monkeypatch, hold, at_chunk=3)
    source = FileSource(path, blocking=False)
    source.start()
    try:
        assert held.wait(60)
        buffered = source.buffered_frames
        assert buffered > 0
        reads = [source.read(BLOCK)[1] for _ in range(buffered // BLOCK + 20)]
    finally:
        hold.set()
        source.close()
    short = [real for real in reads if real < BLOCK]
    assert sum(reads) == buffered
    assert source.start_waits == 0
    assert source.underruns == len(short) >= 20


def test_analysis_in_real_time_waits_to_start(
    make_media: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("tone", seconds=3.0, fmt="wav", level_db=-30)
    hold = threading.Event()
    held = held_decoder(monkeypatch, hold, at_chunk=1)  # the analysis is under way there
    source = FileSource(path, blocking=False, analyze=AnalysisRequest())
    source.start()
    try:
        assert held.wait(60)
        block, real = source.read(BLOCK)
    finally:
        hold.set()
    deadline = time.monotonic() + 60  # a bound for waiting, not a claim
    while source.analysis is None and time.monotonic() < deadline:
        time.sleep(0.002)
    source.close()
    assert real == 0
    assert not block.any()
    assert source.start_waits >= 1
    assert source.underruns == 0
    assert source.analysis is not None


@pytest.mark.parametrize("kind", ["missing", "random", "empty", "no_audio"])
def test_unplayable_files_finish_with_an_error_and_silence(
    make_corrupt_media: Any, media_dir: Path, kind: str
) -> None:
    path = media_dir / "nowhere.mp3" if kind == "missing" else make_corrupt_media(kind)
    for blocking in (True, False):
        deadline = time.monotonic() + 60  # a bound for waiting: a hang fails, not slowness
        with FileSource(path, blocking=blocking) as source:
            while not source.finished:
                block, real = source.read(BLOCK)
                assert real == 0
                assert not block.any()
                assert time.monotonic() < deadline, "the source never finished"
            assert source.error is not None
            assert str(path) in source.error
            block, real = source.read(BLOCK)
            assert real == 0
            assert not block.any()
    reasons = {
        "missing": "No such file",
        "random": "Invalid data",
        "empty": "Invalid data",
        "no_audio": "Invalid data",
    }
    assert source.error is not None
    assert reasons[kind] in source.error


@pytest.mark.parametrize("kind", ["truncated", "garbage_middle"])
def test_broken_mp3_plays_what_it_can_and_ends(make_corrupt_media: Any, kind: str) -> None:
    path = make_corrupt_media(kind)
    audio, source = play(path)  # ends by itself (play fails a source that never does)
    assert 0 < audio.shape[1] < (4 * RATE if kind == "truncated" else 4 * RATE + 2460)
    if kind == "truncated":
        assert abs(audio.shape[1] - 0.4 * 4 * RATE) < 0.1 * RATE
    assert np.isfinite(audio).all()
    assert source.finished
    assert source.duration_frames == audio.shape[1]


def test_close_releases_a_decoder_blocked_on_a_full_buffer(make_media: Any) -> None:
    path = make_media("long", seconds=20.0, fmt="flac")
    source = FileSource(path, blocking=True, buffer_ms=100)
    source.start()
    deadline = time.monotonic() + 60
    while source.buffered_frames < 100 * 48 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert source.buffered_frames >= 100 * 48
    time.sleep(0.02)
    assert source.buffered_frames < 100 * 48 + 8192, "the decoder must stop at the bound"
    decoders = [t for t in threading.enumerate() if t.name == f"decode {path.name}"]
    source.close()
    assert decoders
    for thread in decoders:  # released, so it ends (a blocked one never would)
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in decoders)
    assert source.finished
    assert source.error is None


def test_analysis_finds_cue_points_and_loudness(
    make_media: Any, read_wav: Callable[[Path], npt.NDArray[np.float32]]
) -> None:
    path = make_media(
        "song",
        seconds=8.0,
        fmt="wav",
        signal="noise",
        level_db=-20,
        silence_head_s=1.5,
        silence_tail_s=2.0,
    )
    expected_lufs = lufs(read_wav(path), rate=44100)
    audio, source = play(path, analyze=AnalysisRequest(target_lufs=-16.0))
    result = source.analysis
    assert result is not None
    assert abs(result.cue_in_ms - 1500) <= 50
    assert abs(result.cue_out_ms - 6000) <= 50
    assert abs(result.duration_ms - 8000) <= 1
    assert abs(result.integrated_lufs - expected_lufs) <= 0.5
    assert result.gain_db == pytest.approx(-16.0 - result.integrated_lufs)
    # It plays trimmed and levelled.
    assert audio.shape[1] == (result.cue_out_ms - result.cue_in_ms) * 48
    assert source.duration_frames == audio.shape[1]
    assert abs(lufs(audio) - -16.0) <= 0.5
    assert np.abs(audio[:, :480]).max() > 0.01
    assert np.abs(audio[:, -480:]).max() > 0.01


def test_analysis_caps_the_boost_and_respects_given_cues_and_gain(make_media: Any) -> None:
    path = make_media(
        "quiet", seconds=4.0, fmt="mp3", freq_hz=1000, level_db=-45, silence_head_s=0.5
    )
    request = AnalysisRequest(target_lufs=-16.0, silence_threshold_db=-70.0, max_gain_db=12.0)
    audio, source = play(path, analyze=request, cue_out_ms=3000, gain_db=-1.0)
    result = source.analysis
    assert result is not None
    assert abs(result.cue_in_ms - 500) <= 50
    assert result.gain_db == pytest.approx(12.0 - 1.0)
    assert audio.shape[1] == (3000 - result.cue_in_ms) * 48
    assert abs(lufs(audio) - (result.integrated_lufs + 11.0)) <= 0.5


def test_invalid_arguments_raise_engine_errors(make_media: Any) -> None:
    path = make_media("tone", seconds=0.1)
    with pytest.raises(EngineError, match="cue-out"):
        FileSource(path, cue_in_ms=500, cue_out_ms=500, blocking=True)
    with pytest.raises(EngineError, match="cue-in"):
        FileSource(path, cue_in_ms=-1, blocking=True)
    with pytest.raises(EngineError, match="buffer_ms"):
        FileSource(path, blocking=True, buffer_ms=0)
    with pytest.raises(EngineError, match="target_lufs"):
        AnalysisRequest(target_lufs=3.0)


def test_frame_buffer_keeps_order_across_chunks_and_close_wakes_the_producer() -> None:
    buffer = FrameBuffer(capacity_frames=100)
    data = np.arange(2 * 250, dtype=np.float32).reshape(2, 250)
    assert buffer.put(data[:, :70].copy())
    assert buffer.put(data[:, 70:150].copy())
    out = np.zeros((2, 120), np.float32)
    assert buffer.take(out, wait=False) == 120
    assert np.array_equal(out, data[:, :120])
    assert buffer.frames == 30
    assert buffer.put(data[:, 150:].copy())  # room left: accepted even though it overfills
    result: list[bool] = []
    producer = threading.Thread(target=lambda: result.append(buffer.put(data.copy())))
    producer.start()
    time.sleep(0.02)
    assert producer.is_alive(), "a full buffer makes the producer wait"
    buffer.close()
    producer.join(30)  # released by close (a bound for waiting)
    assert result == [False]
    assert buffer.frames == 0
    assert buffer.drained


def test_a_file_that_breaks_mid_stream_keeps_what_was_decoded_and_ends_with_an_error(
    make_media: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grimnir.engine.sources._file as file_module
    from grimnir.engine.sources._decode import DecodedStream

    class Breaking(DecodedStream):
        def chunks(self) -> Iterator[Block]:
            for i, chunk in enumerate(super().chunks()):
                if i == 2:
                    raise OSError(5, "Input/output error")
                yield chunk

    monkeypatch.setattr(file_module, "DecodedStream", Breaking)
    path = make_media("tone", seconds=2.0, fmt="flac")
    audio, source = play(path)
    assert source.error is not None
    assert str(path) in source.error
    assert "Input/output error" in source.error
    assert 0 < audio.shape[1] < 2 * RATE
    assert source.duration_frames == audio.shape[1]


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_cue_in_past_the_end_plays_nothing(make_media: Any, fmt: str) -> None:
    path = make_media("tone", seconds=1.0, fmt=fmt)
    audio, source = play(path, cue_in_ms=5000)
    assert audio.shape[1] == 0
    assert source.error is None
    assert source.duration_frames == 0


def test_the_length_is_known_before_the_end(make_media: Any) -> None:
    path = make_media("tone", seconds=3.0, fmt="flac")
    with FileSource(path, blocking=True, cue_in_ms=1000) as source:
        source.read(BLOCK)
        assert source.duration_frames == 2 * RATE
        assert not source.finished


def test_close_stops_an_analysis_in_progress(
    make_media: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("long", seconds=60.0, fmt="wav", rate=RATE)
    hold = threading.Event()
    held = held_decoder(monkeypatch, hold, at_chunk=1)  # the analysis is under way there
    source = FileSource(path, blocking=False, analyze=AnalysisRequest())
    source.start()
    try:
        assert held.wait(60)
        decoders = [t for t in threading.enumerate() if t.name == f"decode {path.name}"]
        source.close()
    finally:
        hold.set()  # the decoder goes on to its next packet, where it sees the stop
    assert decoders
    for thread in decoders:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in decoders)
    assert source.analysis is None


def test_media_generation_is_deterministic(make_media: Any) -> None:
    for fmt in FORMATS:
        first = make_media("a", seconds=0.5, fmt=fmt, signal="noise", seed=3).read_bytes()
        second = make_media("b", seconds=0.5, fmt=fmt, signal="noise", seed=3).read_bytes()
        other = make_media("c", seconds=0.5, fmt=fmt, signal="noise", seed=4).read_bytes()
        assert first == second
        assert first != other
