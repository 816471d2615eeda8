"""The chain's output is held at ``loudness_normalize.target_lufs`` (the output loop).

The acceptance tests render programmes through the example station's whole
chain, in the chunks the engine hands it, write WAV files and measure them with
an independent meter: FFmpeg's ``ebur128`` filter.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyebur128
import pytest

from grimnir.config import parse_station_config
from grimnir.config._dsp import (
    Compressor,
    DspGraph,
    LevelMeter,
    Limiter,
    LoudnessNormalize,
    SilenceDetector,
)
from grimnir.demo.music import render_track, track_specs
from grimnir.demo.voice import speak
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.dsp import (
    DspChain,
    LoudnessNormalizerNode,
    LoudnessTrimNode,
    OutputProbeNode,
    build_chain,
)
from grimnir.engine.render import RENDER_PROCESS_BLOCKS
from tests._require import FFMPEG_PATH, peer, require_peer
from tests.engine._signals import integrated, music_track

Audio = npt.NDArray[np.float32]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "station-wgmr.yaml"
TARGET = -16.0  # the example's loudness_normalize target_lufs
CEILING = -1.0  # the example's limiter threshold_db
CHUNK = RENDER_PROCESS_BLOCKS * BLOCK  # what the engine hands its chain at once
SETTLE_SEC = 20
"""Integrated loudness is measured after this much programme: the trim starts at 0 dB
and moves at most 0.3 dB/s over a 20 s window, so 2–3 dB of correction has settled."""
SPEECH = (
    "Good evening, and welcome back to the late programme. Tonight we talk about the "
    "weather over the mountains, the trains that run late on Sundays, and the small bakery "
    "on the corner that has sold bread for ninety years. Our first guest grew up by the "
    "harbour. She remembers the boats coming in before dawn, the gulls, and the smell of tar "
    "and salt. Later in the hour, a listener asks why the church bells ring at a quarter past "
    "six, and we try to find out. We also have the results of the chess tournament, a short "
    "story read by its author, and the tide tables for the coming week. If you want to call "
    "in, the lines are open now, and we would love to hear from you. First, though, the "
    "news. The council met on Tuesday and agreed to repair the old bridge before winter. "
    "Work starts next month and should take about six weeks. Drivers are asked to use the "
    "ring road while it lasts. In sport, the home team won their third match in a row, and "
    "the coach said he was proud of every one of them. And the weather: cloudy at first, "
    "with rain in the afternoon, clearing by the evening. Winds from the west, light to "
    "moderate. Tomorrow looks brighter, with sunshine for most of the day. Now, back to our "
    "guest, who has brought three songs and a great many stories."
)


def chain() -> DspChain:
    return build_chain(parse_station_config(EXAMPLE.read_text(), str(EXAMPLE)).dsp_graph)


def render(dsp: DspChain, audio: Audio, frames: int = CHUNK) -> Audio:
    """``audio`` through ``dsp`` in chunks of ``frames`` (a fresh copy per chunk)."""
    out = [
        dsp.process(np.ascontiguousarray(audio[:, i : i + frames]))
        for i in range(0, audio.shape[1], frames)
    ]
    return np.concatenate(out, axis=1)


def at_lufs(audio: Audio, lufs: float) -> Audio:
    return (audio * np.float32(10 ** ((lufs - integrated(audio)) / 20))).astype(np.float32)


def music_programme() -> Audio:
    """Four demo tracks (about 105 s), mastered 12 dB apart: −8 and −20 LUFS in turn."""
    specs = track_specs(4, seconds=24.0, seed=7)
    levels = (-8.0, -20.0)
    return np.concatenate(
        [at_lufs(render_track(spec), levels[i % 2]) for i, spec in enumerate(specs)], axis=1
    )


def speech_programme() -> Audio:
    """About 90 s of espeak-ng speech (resampled to 48 kHz by FFmpeg), a quiet mic at −24 LUFS."""
    voice = speak(SPEECH, binary=require_peer("espeak-ng"))
    return at_lufs(np.stack([voice, voice]), -24.0)


def pink_noise(seconds: float = 80.0, lufs: float = -23.0, seed: int = 3) -> Audio:
    """Pink noise from 20 Hz up (3 dB per octave down), uncorrelated channels."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal((2, size)), axis=1)
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    spectrum[:, freqs < 20.0] = 0.0
    return at_lufs(np.fft.irfft(spectrum, size, axis=1)[:, :n].astype(np.float32), lufs)


def write_wav(path: Path, audio: Audio) -> Path:
    """``audio`` as a 32-bit float stereo WAV file at 48 kHz."""
    data = np.ascontiguousarray(audio.T, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 2, RATE, RATE * 8, 8, 32)  # IEEE float, 2 ch, 4 bytes
    header = b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
    path.write_bytes(
        header
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return path


def ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file, by FFmpeg's meter."""
    result = subprocess.run(
        [FFMPEG_PATH, "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert loudness is not None, summary
    assert peak is not None, summary
    return float(loudness.group(1)), float(peak.group(1))


@pytest.mark.parametrize(
    "programme",
    [
        pytest.param(music_programme, id="music-8-and-20-lufs"),
        pytest.param(speech_programme, id="speech", marks=peer("espeak-ng")),
        pytest.param(pink_noise, id="pink-noise"),
    ],
)
@peer("ffmpeg")
def test_example_station_output_is_on_target_by_ffmpeg(
    programme: Callable[[], Audio], tmp_path: Path
) -> None:
    """After 20 s, what leaves the example chain measures −16 ± 1 LUFS and ≤ −1 dBTP.

    Before the output loop the same chain gave music −17.7, speech −18.5 LUFS.
    """
    audio = programme()
    assert audio.shape[1] >= 80 * RATE
    out = render(chain(), audio)
    settled, _ = ffmpeg_ebur128(write_wav(tmp_path / "settled.wav", out[:, SETTLE_SEC * RATE :]))
    _, true_peak = ffmpeg_ebur128(write_wav(tmp_path / "whole.wav", out))
    assert settled == pytest.approx(TARGET, abs=1.0)
    assert true_peak <= CEILING


def test_agc_after_the_normalizer_undoes_its_gain() -> None:
    """Why the loop trims before the last limiter: the normaliser's own gain cannot move
    the output, the example's AGC takes it back."""
    audio = music_track(np.random.default_rng(21), 40.0, -20.0)
    graph = parse_station_config(EXAMPLE.read_text(), str(EXAMPLE)).dsp_graph
    outputs = []
    for target in (-22.0, -10.0):
        front = graph.nodes[0].model_copy(update={"target_lufs": target})
        dsp = build_chain(DspGraph(nodes=[front, *graph.nodes[1:]]))
        # the chain without its output loop: the normaliser alone rides the level
        open_loop = DspChain(
            [node for node in dsp.nodes if not isinstance(node, LoudnessTrimNode | OutputProbeNode)]
        )
        outputs.append(integrated(render(open_loop, audio)[:, 20 * RATE :]))
    assert abs(outputs[1] - outputs[0]) < 2.0  # a 12 dB change of target


def test_the_trim_sits_before_the_last_limiter_and_the_probe_last() -> None:
    graph = DspGraph.model_validate(
        {
            "nodes": [
                {"type": "loudness_normalize", "target_lufs": -18.0},
                {"type": "compressor"},
                {"type": "limiter", "threshold_db": -1.0},
                {"type": "level_meter", "id": "out"},
            ]
        }
    )
    dsp = build_chain(graph)
    names = [node.name for node in dsp.nodes]
    assert names == [
        "loudness_normalize",
        "compressor",
        "loudness_normalize.trim",
        "limiter",
        "out",
        "loudness_normalize.output",
    ]
    normalizer, trim, probe = dsp.nodes[0], dsp.nodes[2], dsp.nodes[5]
    assert isinstance(normalizer, LoudnessNormalizerNode)
    assert isinstance(trim, LoudnessTrimNode)
    assert isinstance(probe, OutputProbeNode)
    assert trim.loop is probe.loop
    assert trim.loop.target_lufs == -18.0
    assert normalizer.latency_frames == trim.latency_frames == 0  # the limiter holds the ceiling
    assert dsp.meter is dsp.nodes[4]


def test_only_the_last_normalizer_closes_the_loop() -> None:
    dsp = build_chain(
        DspGraph(
            nodes=[
                LoudnessNormalize(type="loudness_normalize", id="first", target_lufs=-20.0),
                Limiter(type="limiter"),
                LoudnessNormalize(type="loudness_normalize", id="last", target_lufs=-14.0),
                Limiter(type="limiter"),
            ]
        )
    )
    names = [node.name for node in dsp.nodes]
    assert names == ["first", "limiter", "last", "last.trim", "limiter-2", "last.output"]
    trims = [node for node in dsp.nodes if isinstance(node, LoudnessTrimNode)]
    assert [trim.loop.target_lufs for trim in trims] == [-14.0]


def test_without_a_limiter_after_it_the_trim_holds_the_true_peak_limit() -> None:
    """A compressor with 12 dB of make-up after the normaliser and no limiter: the ceiling
    goes with the trim to the end of the chain, after the make-up."""
    graph = DspGraph(
        nodes=[
            LoudnessNormalize(type="loudness_normalize", true_peak_limit=-2.0),
            Compressor(type="compressor", makeup_gain_db=12.0),
            SilenceDetector(type="silence_detector"),
            LevelMeter(type="level_meter"),
        ]
    )
    dsp = build_chain(graph)
    assert [node.name for node in dsp.nodes][1:3] == ["compressor", "loudness_normalize.trim"]
    assert dsp.nodes[0].latency_frames == 0
    assert dsp.nodes[2].latency_frames > 0
    assert dsp.latency_frames == dsp.nodes[2].latency_frames
    out = render(dsp, music_track(np.random.default_rng(22), 30.0, -12.0))
    state = pyebur128.R128State(2, RATE, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(np.ascontiguousarray(out.T).reshape(-1), out.shape[1])
    assert max(pyebur128.get_true_peak(state, c) for c in (0, 1)) <= 10 ** (-2.0 / 20)
    assert integrated(out[:, SETTLE_SEC * RATE :]) == pytest.approx(-16.0, abs=1.0)


def trims_while(dsp: DspChain, audio: Audio) -> Audio:
    """The output trim (dB) after each 20 ms block of ``audio``."""
    trim = next(node for node in dsp.nodes if isinstance(node, LoudnessTrimNode))
    trims = []
    for i in range(0, audio.shape[1], BLOCK):
        dsp.process(np.ascontiguousarray(audio[:, i : i + BLOCK]))
        trims.append(trim.trim_db)
    return np.array(trims)


def test_silence_and_pauses_hold_the_trim() -> None:
    """Digital silence, and room tone too quiet to be programme (which the normaliser and
    the AGC still lift by 20 dB), leave the trim where the programme put it."""
    rng = np.random.default_rng(23)
    dsp = chain()
    before = trims_while(dsp, music_track(rng, 30.0, -12.0))
    assert before[-1] != 0.0  # the chain needed a correction
    silence = np.zeros((2, 20 * RATE), dtype=np.float32)
    trims = trims_while(dsp, silence)
    held = trims[25]  # 0.5 s: the last music has left the 400 ms readings
    assert abs(held - before[-1]) < 0.05
    assert np.array_equal(trims[25:], np.full(975, held))
    room_tone = at_lufs(rng.standard_normal((2, 20 * RATE)).astype(np.float32), -50.0)
    assert np.array_equal(trims_while(dsp, room_tone), np.full(1000, held))
    assert np.array_equal(trims_while(dsp, silence), np.full(1000, held))


def test_the_trim_moves_at_most_0_3_db_per_second() -> None:
    """From music to white noise (about 3.5 dB louder out of the example chain without the
    loop) the trim walks down at 0.3 dB/s and settles."""
    rng = np.random.default_rng(24)
    noise = at_lufs(rng.standard_normal((2, 40 * RATE)).astype(np.float32), -20.0)
    dsp = chain()
    trims = trims_while(dsp, np.concatenate([music_track(rng, 40.0, -20.0), noise], axis=1))
    per_second = np.abs(np.diff(trims[250::50]))  # from 5 s: the start-up catch-up is over
    assert per_second.max() <= 0.3 + 1e-9
    assert trims[2000] - trims[-1] > 2.0  # it did walk
    assert np.abs(np.diff(trims[-500:])).max() < 0.02  # and settled


def test_output_loop_is_deterministic_and_resets() -> None:
    audio = music_track(np.random.default_rng(25), 30.0, -14.0)
    dsp = chain()
    first = render(dsp, audio)
    assert np.array_equal(first, render(chain(), audio))
    dsp.reset()
    assert np.array_equal(render(dsp, audio), first)
