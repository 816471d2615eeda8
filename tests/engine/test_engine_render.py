"""The whole engine under a virtual clock: fallback, layers, determinism, render."""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyebur128
import pytest
from typer.testing import CliRunner

from grimnir.cli import app
from grimnir.config.station import Failover, load_station_config
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.fades import FadeCurve, Timing
from grimnir.engine.audio import BLOCK
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.render import PlaylistFeeder, playlist_files, render
from tests.engine._signals import music_track, run_engine

RATE = 48_000
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
MakeMedia = Callable[..., Path]


def read_wav(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == RATE
        assert wav.getnchannels() == 2
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return (data.reshape(-1, 2).T / 32768.0).astype(np.float32)


def write_wav(path: Path, audio: npt.NDArray[np.float32]) -> None:
    pcm = np.round(np.clip(audio, -1, 1).T * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())


def block_rms_db(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    n = audio.shape[1] // BLOCK
    blocks = audio[:, : n * BLOCK].reshape(2, n, BLOCK)
    ms: npt.NDArray[np.float64] = np.mean(np.square(blocks, dtype=np.float64), axis=(0, 2))
    return 10 * np.log10(np.maximum(ms, 1e-15))


def test_silent_stretch_puts_fallback_on_air_within_threshold_plus_a_block(
    make_media: MakeMedia, tmp_path: Path
) -> None:
    song = make_media(
        "song.wav", seconds=3.0, freq_hz=440, level_db=-10, rate=RATE, silence_tail_s=2.0
    )  # 1 s of tone, then 2 s of digital silence
    after = make_media("after.wav", seconds=1.0, freq_hz=550, level_db=-10, rate=RATE)
    fallback_dir = tmp_path / "fallback"
    fallback_dir.mkdir()
    loop = make_media("loop.wav", seconds=0.7, freq_hz=1200, level_db=-14, rate=RATE)
    (fallback_dir / "loop.wav").write_bytes(loop.read_bytes())
    events: list[EngineEvent] = []
    failover = Failover(
        silence_duration_sec=1.5,
        silence_threshold_db=-50,
        fallback_paths=[str(fallback_dir)],
        layer_fade_ms=100,
    )
    engine = Engine(VirtualClock(), EngineOptions(failover=failover), on_event=events.append)
    engine.play(PlayItem("song", str(song)))
    # NOTE: hard, so the programme really has nothing until 6 s (a soft item would
    # start at once when the song ends).
    engine.play(PlayItem("after", str(after), start_at=6 * RATE, timing=Timing.HARD))
    audio = run_engine(engine, 8.0)
    engine.close()
    detected = [e for e in events if e.type == "silence.detected"]
    assert len(detected) == 1
    silence_starts = 1 * RATE
    assert silence_starts + 1.5 * RATE <= detected[0].frame <= silence_starts + 1.5 * RATE + BLOCK
    levels = block_rms_db(audio)
    on_air_block = detected[0].frame // BLOCK + 1
    # The fallback (its own tone) is audible from the next block on, until programme returns.
    assert (levels[on_air_block : 6 * RATE // BLOCK] > -40).all()
    cleared = [e for e in events if e.type == "silence.cleared"]
    assert len(cleared) == 1
    assert cleared[0].frame == 6 * RATE // BLOCK * BLOCK
    changes = [(e.data["from"], e.data["to"]) for e in events if e.type == "layer.changed"]
    assert ("automation", "fallback") in changes
    assert ("fallback", "automation") in changes
    # The song was playing (silently): the silence rule decided, not an empty programme;
    # when the queue runs dry after "after", fallback comes back at once.
    known = [(e.type, e.frame) for e in events if e.type.startswith("fallback.")]
    assert known == [("fallback.started", 7 * RATE)]


def test_emergency_preempts_automation_and_fails_back(make_media: MakeMedia) -> None:
    music = make_media("music.wav", seconds=4.0, freq_hz=300, level_db=-10, rate=RATE)
    alert = make_media("alert.wav", seconds=1.0, freq_hz=1050, level_db=-10, rate=RATE)
    events: list[EngineEvent] = []
    failover = Failover(layer_fade_ms=20)
    engine = Engine(VirtualClock(), EngineOptions(failover=failover), on_event=events.append)
    engine.play(PlayItem("music", str(music)))
    run_engine(engine, 1.0)
    engine.insert_emergency(PlayItem("eas", str(alert)))
    audio = run_engine(engine, 2.0)
    engine.close()
    changes = [(e.data["from"], e.data["to"], e.frame) for e in events if e.type == "layer.changed"]
    assert [(a, b) for a, b, _ in changes] == [
        (None, "automation"),
        ("automation", "emergency"),
        ("emergency", "automation"),
    ]
    assert changes[1][2] == RATE
    # While the alert is on air, only the alert's frequency is heard.
    spectrum = np.abs(np.fft.rfft(audio[0, RATE // 10 : RATE // 2 + RATE // 10]))
    peak_hz = np.argmax(spectrum) * RATE / (RATE // 2)
    assert abs(peak_hz - 1050) < 5


def test_render_is_byte_identical_twice(make_media: MakeMedia, tmp_path: Path) -> None:
    folder = tmp_path / "music"
    folder.mkdir()
    for i, (fmt, level) in enumerate([("mp3", -20), ("flac", -8), ("ogg", -14), ("wav", -26)]):
        src = make_media(
            f"t{i}.{'wav' if fmt == 'wav' else fmt}",
            seconds=6.0,
            freq_hz=220 * (i + 1),
            level_db=level,
            fmt=fmt,
            signal="noise",
            seed=i,
            silence_head_s=0.3,
            silence_tail_s=0.5,
        )
        (folder / f"{i:02d}-{src.name}").write_bytes(src.read_bytes())
    station = load_station_config(EXAMPLE)
    outs = []
    for n in range(2):
        out = tmp_path / f"render{n}.wav"
        feeder = PlaylistFeeder(playlist_files(folder), 1.0, FadeCurve.S_CURVE, loop=True)
        result = render(out, station=station, playlist=feeder, duration_s=30.0)
        assert result.seconds == 30.0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    audio = read_wav(tmp_path / "render0.wav")
    assert audio.shape[1] == 30 * RATE
    # Cue points were measured: no silence at the transitions, no dead air anywhere
    # (after the first item's 1 s fade-in from silence).
    assert (block_rms_db(audio)[50:] > -45).all()


def test_render_cli_with_timeline_and_errors(make_media: MakeMedia, tmp_path: Path) -> None:
    a = make_media("a.wav", seconds=2.0, freq_hz=440, rate=RATE)
    b = make_media("b.mp3", seconds=2.0, freq_hz=660, fmt="mp3")
    timeline = tmp_path / "show.yaml"
    timeline.write_text(
        f"items:\n"
        f"  - path: {a}\n    fade_out: 0.5\n    title: First\n"
        f"  - path: {b}\n    fade_in: 0.5\n    curve: s_curve\n"
        f"  - path: {a}\n    at: 5.0\n    timing: hard\n"
    )
    out = tmp_path / "show.flac"
    result = CliRunner().invoke(
        app, ["render", "--timeline", str(timeline), "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["items"] == 3
    assert summary["seconds"] == pytest.approx(7.0, abs=0.05)
    assert out.read_bytes()[:4] == b"fLaC"

    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n  - path: x.wav\n    timing: hard\n  - path: y.wav\n    fade_inn: 2\n")
    result = CliRunner().invoke(app, ["render", "--timeline", str(bad), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{bad}:2 items[0]: a hard item needs `at`" in result.output
    assert f"{bad}:5 items[1].fade_inn: unknown key 'fade_inn'; did you mean 'fade_in'?" in (
        result.output
    )
    result = CliRunner().invoke(
        app, ["render", "--timeline", str(timeline), "-o", str(tmp_path / "x.m4a")]
    )
    assert result.exit_code == 1
    assert "cannot tell the format" in result.output


def test_ten_minutes_at_the_example_loudness(make_media: MakeMedia, tmp_path: Path) -> None:
    """Acceptance: music-like tracks 12 LU apart, example DSP graph → −16 LUFS ±1,
    true peak ≤ −1 dBTP, every track within 3 LU of −16 after its first 3 s."""
    folder = tmp_path / "music"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(12):
        track = music_track(rng, 55.0, lufs=-30.0 if i % 2 else -18.0)
        write_wav(folder / f"track{i:02d}.wav", track)
    station = load_station_config(EXAMPLE)
    out = tmp_path / "ten.wav"
    feeder = PlaylistFeeder(playlist_files(folder), 2.0, FadeCurve.S_CURVE, loop=False)
    result = render(out, station=station, playlist=feeder)
    audio = read_wav(out)
    assert audio.shape[1] >= 10 * 60 * RATE
    meter = pyebur128.R128State(
        2, RATE, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    )
    meter.add_frames(audio.T.reshape(-1), audio.shape[1])
    integrated = pyebur128.get_loudness_global(meter)
    true_peak = 20 * np.log10(max(pyebur128.get_true_peak(meter, c) for c in (0, 1)))
    assert -17.0 <= integrated <= -15.0
    assert true_peak <= -1.0
    starts = [e.frame for e in result.events if e.type == "item.started"]
    assert len(starts) == 12
    for begin, end in zip(starts, [*starts[1:], audio.shape[1]], strict=True):
        track = audio[:, begin + 3 * RATE : end]
        short_term = pyebur128.R128State(2, RATE, pyebur128.MeasurementMode.MODE_S)
        worst = 0.0
        for k in range(0, track.shape[1] - RATE, RATE):
            short_term.add_frames(track[:, k : k + RATE].T.reshape(-1), RATE)
            if k >= 3 * RATE:  # a full 3 s window inside the track
                worst = max(worst, abs(pyebur128.get_loudness_shortterm(short_term) + 16.0))
        assert worst <= 3.0, (begin, worst)


def test_chunked_processing_changes_nothing_but_cost(make_media: MakeMedia, tmp_path: Path) -> None:
    a = make_media("a.wav", seconds=1.5, freq_hz=440, rate=RATE)
    b = make_media("b.flac", seconds=1.3, freq_hz=660, fmt="flac")
    outputs = []
    for process_blocks in (1, 7, 10):
        events: list[EngineEvent] = []
        engine = Engine(
            VirtualClock(), EngineOptions(process_blocks=process_blocks), on_event=events.append
        )
        out = tmp_path / f"chunked{process_blocks}.wav"
        engine.add_file_output(out, AudioFormat.WAV, synchronous=True)
        engine.play(PlayItem("a", str(a), fade_out_ms=300))
        engine.play(PlayItem("b", str(b), fade_in_ms=300))
        run_engine(engine, 3.3)  # not a multiple of 7 or 10 blocks: the tail is flushed
        engine.close()
        outputs.append((out.read_bytes(), [(e.type, e.frame) for e in events]))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(read_wav(tmp_path / "chunked10.wav")[0]) == round(3.3 * RATE / BLOCK) * BLOCK


def test_rendered_flac_knows_its_length(make_media: MakeMedia, tmp_path: Path) -> None:
    a = make_media("a.wav", seconds=2.0, freq_hz=440, rate=RATE)
    out = tmp_path / "show.flac"
    engine = Engine(VirtualClock())
    engine.add_file_output(out, AudioFormat.FLAC, synchronous=True)
    engine.play(PlayItem("a", str(a)))
    run_engine(engine, 2.5)
    engine.close()
    data = out.read_bytes()
    assert data[:4] == b"fLaC"
    total = int.from_bytes(data[18:26], "big") & ((1 << 36) - 1)
    assert total == round(2.5 * RATE / BLOCK) * BLOCK
    import av

    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.duration is not None
        assert stream.time_base is not None
        assert float(stream.duration * stream.time_base) == 2.5
