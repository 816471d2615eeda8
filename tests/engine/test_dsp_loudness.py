"""Loudness riding: the normaliser, the AGC, and the example station's whole chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyebur128
import pytest

from grimnir.config import parse_station_config
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.dsp import AgcNode, DspChain, DspNode, LoudnessNormalizerNode, build_chain
from tests.engine._signals import integrated, music_track

Audio = npt.NDArray[np.float32]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "station-wgmr.yaml"
MODE = pyebur128.MeasurementMode


def rms_db(audio: Audio) -> float:
    return float(10 * np.log10(np.mean(np.square(audio, dtype=np.float64))))


def run(node: DspNode | DspChain, audio: Audio) -> Audio:
    out = [
        node.process(np.ascontiguousarray(audio[:, i : i + BLOCK]))
        for i in range(0, audio.shape[1], BLOCK)
    ]
    return np.concatenate(out, axis=1)


def short_term_every_200ms(audio: Audio) -> tuple[Audio, float, float]:
    """Short-term loudness every 200 ms, integrated loudness and true peak (dBTP)."""
    state = pyebur128.R128State(2, RATE, MODE.MODE_S | MODE.MODE_I | MODE.MODE_TRUE_PEAK)
    step = RATE // 5
    interleaved = np.ascontiguousarray(audio.T).reshape(-1)
    readings = []
    for start in range(0, audio.shape[1] - step + 1, step):
        state.add_frames(interleaved[2 * start : 2 * (start + step)], step)
        readings.append(pyebur128.get_loudness_shortterm(state))
    peak = max(pyebur128.get_true_peak(state, c) for c in (0, 1))
    return (
        np.array(readings, dtype=np.float32),
        float(pyebur128.get_loudness_global(state)),
        float(20 * np.log10(peak)),
    )


def test_example_station_chain_evens_out_tracks_10_db_apart() -> None:
    """10+ minutes of tracks alternating −30 and −8 LUFS leave the chain at −16 LUFS."""
    chain = build_chain(parse_station_config(EXAMPLE.read_text(), str(EXAMPLE)).dsp_graph)
    rng = np.random.default_rng(2024)
    tracks: list[Audio] = []
    levels: list[float] = []
    total = 0.0
    while total < 620:
        seconds = float(rng.uniform(40, 90))
        levels.append(-30.0 if len(tracks) % 2 == 0 else -8.0)
        tracks.append(music_track(rng, seconds, levels[-1]))
        total += seconds
    audio = np.concatenate(tracks, axis=1)
    out = run(chain, audio)

    short_term, whole, true_peak = short_term_every_200ms(out)
    assert whole == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.0
    start = chain.latency_frames
    for track, level in zip(tracks, levels, strict=True):
        first = (start + 3 * RATE) // (RATE // 5)  # reading 3 s into the track
        last = (start + track.shape[1]) // (RATE // 5) - 1
        readings = short_term[first:last]
        assert np.abs(readings + 16.0).max() <= 3.0, (level, readings.min(), readings.max())
        start += track.shape[1]


def test_normalizer_reaches_target_within_its_gain_range() -> None:
    rng = np.random.default_rng(5)
    for level, expected in ((-24.0, -16.0), (-10.0, -16.0), (-40.0, -28.0)):
        node = LoudnessNormalizerNode(-16.0, None, 3.0, 12.0)
        out = run(node, music_track(rng, 20.0, level, phrase=False))
        assert integrated(out[:, 10 * RATE :]) == pytest.approx(expected, abs=0.7), level


def test_normalizer_reading_agrees_with_libebur128_short_term() -> None:
    audio = music_track(np.random.default_rng(6), 6.0, -20.0)
    node = LoudnessNormalizerNode(-16.0, None)
    run(node, audio)
    state = pyebur128.R128State(2, RATE, MODE.MODE_S)
    state.add_frames(np.ascontiguousarray(audio.T).reshape(-1), audio.shape[1])
    assert node.loudness_lufs == pytest.approx(pyebur128.get_loudness_shortterm(state), abs=0.3)


def test_normalizer_rides_slowly_within_a_programme() -> None:
    """Within one programme the gain moves at most ~3 dB/s: it follows the song, not the beat."""
    rng = np.random.default_rng(7)
    audio = np.concatenate([music_track(rng, 15.0, -20.0), music_track(rng, 15.0, -14.0)], axis=1)
    node = LoudnessNormalizerNode(-16.0, None)
    gains = []
    for i in range(0, audio.shape[1], BLOCK):
        node.process(audio[:, i : i + BLOCK].copy())
        gains.append(node.gain_db)
    per_second = np.abs(np.diff(np.array(gains)[::50]))
    assert per_second[6:].max() <= 3.0 + 1e-9
    assert gains[-1] == pytest.approx(-2.0, abs=1.5)


def test_normalizer_does_not_duck_under_a_drum_hit() -> None:
    rng = np.random.default_rng(13)
    audio = music_track(rng, 16.0, -20.0, phrase=False)
    hit = slice(10 * RATE, 10 * RATE + RATE // 20)
    audio[:, hit] *= np.float32(10 ** (10 / 20))  # 50 ms, 10 dB louder
    node = LoudnessNormalizerNode(-16.0, None)
    gains = []
    for i in range(0, audio.shape[1], BLOCK):
        node.process(audio[:, i : i + BLOCK].copy())
        gains.append(node.gain_db)
    before = gains[10 * 50 - 1]
    assert before == pytest.approx(4.0, abs=1.0)
    assert min(gains[10 * 50 :]) >= before - 1.0


def test_normalizer_freezes_in_silence() -> None:
    rng = np.random.default_rng(8)
    node = LoudnessNormalizerNode(-16.0, None)
    run(node, music_track(rng, 10.0, -22.0, phrase=False))
    settled = node.gain_db
    assert settled == pytest.approx(6.0, abs=1.0)
    silence = np.zeros((2, 10 * RATE), dtype=np.float32)
    assert not run(node, silence[:, :RATE]).any()  # the last music leaves the window here
    frozen = node.gain_db
    assert not run(node, silence).any()
    run(node, music_track(rng, 10.0, -85.0))  # hiss under the −70 LUFS gate
    assert node.gain_db == frozen


def test_normalizer_catches_up_after_a_programme_change() -> None:
    rng = np.random.default_rng(9)
    node = LoudnessNormalizerNode(-16.0, None)
    run(node, music_track(rng, 10.0, -8.0, phrase=False))
    assert node.gain_db == pytest.approx(-8.0, abs=1.0)
    run(node, music_track(rng, 3.0, -26.0, phrase=False))
    assert node.gain_db == pytest.approx(10.0, abs=1.5)


def test_normalizer_own_limiter_holds_its_true_peak_limit() -> None:
    audio = music_track(np.random.default_rng(10), 10.0, -20.0)
    node = LoudnessNormalizerNode(-8.0, -2.0, 3.0, 12.0)
    out = run(node, audio)
    assert node.latency_frames > 0
    _, whole, true_peak = short_term_every_200ms(out)
    assert true_peak <= -2.0
    assert whole > -11.0


@pytest.mark.parametrize(("level", "expected"), [(-20.0, -14.0), (-30.0, -20.0), (-2.0, -12.0)])
def test_agc_brings_rms_to_target_within_its_gain_range(level: float, expected: float) -> None:
    audio = music_track(np.random.default_rng(11), 15.0, phrase=False)
    audio *= np.float32(
        10 ** ((level - 10 * np.log10(np.mean(audio.astype(np.float64) ** 2))) / 20)
    )
    out = run(AgcNode(-14.0, 10.0, -10.0, 500.0, 2000.0, -50.0), audio)
    assert rms_db(out[:, 8 * RATE :]) == pytest.approx(expected, abs=1.0)


def test_agc_holds_its_gain_below_the_gate() -> None:
    rng = np.random.default_rng(12)
    agc = AgcNode(-14.0, gate_db=-50.0)
    loud = music_track(rng, 10.0, phrase=False)
    loud *= np.float32(10 ** ((-20 - rms_db(loud)) / 20))
    run(agc, loud)
    held = agc.gain_db
    assert held == pytest.approx(6.0, abs=1.0)
    quiet = (np.random.default_rng(1).standard_normal((2, 5 * RATE)) * 1e-3).astype(np.float32)
    out = run(agc, quiet)  # −60 dBFS: under the gate
    assert agc.gain_db == held
    assert 20 * np.log10(np.abs(out).max() / np.abs(quiet).max()) == pytest.approx(held, abs=0.01)
