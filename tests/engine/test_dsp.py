"""DSP nodes on synthetic signals: dynamics, EQ, true-peak limiter, meters, chain building."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyebur128
import pytest

from grimnir.config._dsp import (
    Compressor,
    DspGraph,
    Duck,
    Equalizer,
    Gate,
    LevelMeter,
    Limiter,
    LoudnessNormalize,
    Mix,
    ParametricBand,
    SilenceDetector,
)
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.dsp import (
    CompressorNode,
    DspChain,
    DspNode,
    EqualizerNode,
    GateNode,
    LevelMeterNode,
    LimiterNode,
    LoudnessNormalizerNode,
    SilenceDetectorNode,
    build_chain,
    interpolated_peaks,
)

Audio = npt.NDArray[np.float32]


def sine(freq: float, db: float, seconds: float = 2.0, phase: float = 0.0) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = (10 ** (db / 20) * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)
    return np.stack([wave, wave])


def noise(db_rms: float, seconds: float = 2.0, seed: int = 1) -> Audio:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, int(seconds * RATE))) * 10 ** (db_rms / 20)).astype(np.float32)


def music(seconds: float = 20.0, seed: int = 3) -> Audio:
    """Pink-ish stereo noise with a beat envelope, about −20 dBFS RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 40) / 40)
    spectrum[1] = 0.6 * spectrum[0] + 0.4 * spectrum[1]
    audio = np.fft.irfft(spectrum, n, axis=1)
    beat = 0.5 + 0.5 * np.abs(np.sin(np.pi * np.arange(n) / RATE * 2)) ** 4
    audio *= beat / np.sqrt(np.mean(audio**2)) * 0.1
    return audio.astype(np.float32)


def run(node: DspNode | DspChain, audio: Audio, frames: int = BLOCK) -> Audio:
    """``audio`` through ``node`` (or a whole chain) in blocks of ``frames`` (a fresh
    copy per block)."""
    out = [
        node.process(np.ascontiguousarray(audio[:, i : i + frames]))
        for i in range(0, audio.shape[1], frames)
    ]
    return np.concatenate(out, axis=1)


def rms_db(audio: Audio) -> float:
    return float(10 * np.log10(np.mean(np.square(audio, dtype=np.float64))))


def peak_db(audio: Audio) -> float:
    return float(20 * np.log10(np.abs(audio).max()))


def ebur128(audio: Audio, mode: int) -> pyebur128.R128State:
    state = pyebur128.R128State(2, RATE, mode)
    state.add_frames(np.ascontiguousarray(audio.T).reshape(-1), audio.shape[1])
    return state


def true_peak_db(audio: Audio) -> float:
    state = ebur128(audio, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    return float(20 * np.log10(max(pyebur128.get_true_peak(state, c) for c in (0, 1))))


# -- compressor, gate, equalizer ------------------------------------------------------------


def test_compressor_reduces_by_the_ratio_above_threshold_and_passes_below() -> None:
    out = {
        level: peak_db(run(CompressorNode(-20, 4, 5, 50), sine(1000, level))[:, RATE:])
        for level in (-4.0, -10.0, -30.0)
    }
    # 6 dB more input above the threshold gives 6/4 dB more output.
    assert out[-4.0] - out[-10.0] == pytest.approx(6 / 4, abs=0.1)
    assert out[-4.0] == pytest.approx(-20 + 16 / 4, abs=1.5)
    assert out[-30.0] == pytest.approx(-30.0, abs=0.01)


def test_compressor_makeup_gain_adds_after_compression() -> None:
    plain = peak_db(run(CompressorNode(-20, 4), sine(1000, -30))[:, RATE:])
    lifted = peak_db(run(CompressorNode(-20, 4, makeup_gain_db=6), sine(1000, -30))[:, RATE:])
    assert lifted - plain == pytest.approx(6.0, abs=0.01)


def test_gate_silences_what_stays_below_threshold() -> None:
    quiet = run(GateNode(-50, 10, 1, 100), sine(1000, -70))[:, RATE // 2 :]
    loud = run(GateNode(-50, 10, 1, 100), sine(1000, -30))[:, RATE // 2 :]
    assert rms_db(quiet) < -150
    assert rms_db(loud) == pytest.approx(rms_db(sine(1000, -30)), abs=0.05)


@pytest.mark.parametrize(("band", "freq"), [(5, 1000), (0, 31), (9, 16000), (3, 250)])
def test_graphic_eq_band_boosts_its_frequency_by_its_gain(band: int, freq: int) -> None:
    gains = [0.0] * 10
    gains[band] = 6.0
    tone = sine(freq, -20)
    out = run(EqualizerNode(bands_db=gains), tone)
    assert rms_db(out[:, RATE:]) - rms_db(tone[:, RATE:]) == pytest.approx(6.0, abs=0.5)
    far = sine(freq * 8 if freq < 2000 else freq / 8, -20)
    far_out = run(EqualizerNode(bands_db=gains), far)
    assert abs(rms_db(far_out[:, RATE:]) - rms_db(far[:, RATE:])) < 0.5


def test_parametric_eq_shapes() -> None:
    bands = [
        ParametricBand(kind="low_shelf", freq_hz=100, gain_db=-6, q=0.707),
        ParametricBand(kind="peak", freq_hz=3000, gain_db=4, q=2),
    ]
    eq = EqualizerNode(bands=bands)
    for freq, expected in ((30, -6.0), (3000, 4.0), (800, 0.0)):
        tone = sine(freq, -20)
        eq.reset()
        gain = rms_db(run(eq, tone)[:, RATE:]) - rms_db(tone[:, RATE:])
        assert gain == pytest.approx(expected, abs=0.5), freq
    high_pass = EqualizerNode(bands=[ParametricBand(kind="high_pass", freq_hz=1000)])
    tone = sine(1000, -20)
    assert rms_db(run(high_pass, tone)[:, RATE:]) - rms_db(tone[:, RATE:]) == pytest.approx(
        -3.0, abs=0.1
    )


def test_all_zero_graphic_eq_is_a_pass_through() -> None:
    tone = music(1.0)
    assert np.array_equal(run(EqualizerNode(bands_db=[0.0] * 10), tone), tone)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CompressorNode(-30, 4, 5, 50, 3),
        lambda: GateNode(-30, 4, 1, 50),
        lambda: EqualizerNode(bands_db=[3, -2, 0, 1, 0, 4, 0, -3, 2, 1]),
    ],
    ids=["compressor", "gate", "equalizer"],
)
def test_plugin_nodes_block_wise_equal_one_shot(make: Callable[[], DspNode]) -> None:
    audio = music(3.0)
    node = make()
    one_shot = node.process(audio.copy())
    node.reset()
    assert np.max(np.abs(run(node, audio) - one_shot)) < 1e-6
    node.reset()
    assert np.max(np.abs(run(node, audio, 700) - one_shot)) < 1e-6


# -- true-peak limiter ----------------------------------------------------------------------


def test_limiter_holds_true_peak_of_a_quarter_rate_sine_at_45_degrees() -> None:
    tone = sine(RATE / 4, 0.0, 3.0, np.pi / 4)
    tone /= np.abs(tone).max()  # samples at ±1.0 (0 dBFS), true peak +3 dBTP
    assert true_peak_db(tone) > 2.9
    assert true_peak_db(run(LimiterNode(-1.0, 10), tone)) <= -1.0 + 0.1


@pytest.mark.parametrize("threshold", [-1.0, -3.0, -0.1])
def test_limiter_holds_true_peak_of_hot_noise_and_music(threshold: float) -> None:
    hot_noise = noise(-3.0, 5.0)
    hot_music = music(10.0) * np.float32(10 ** (14 / 20))  # peaks well over 0 dBFS
    for audio in (hot_noise, hot_music):
        assert true_peak_db(audio) > threshold + 3
        out = run(LimiterNode(threshold, 10), audio)
        assert true_peak_db(out) <= threshold + 0.1


def test_limiter_is_unity_below_threshold_with_exact_latency() -> None:
    limiter = LimiterNode(-1.0, 10)
    audio = music(3.0)  # peaks about −6 dBFS
    out = run(limiter, audio)
    lat = limiter.latency_frames
    assert lat > 0
    assert not out[:, :lat].any()
    assert np.array_equal(out[:, lat:], audio[:, :-lat])


def test_limiter_latency_is_the_same_while_limiting() -> None:
    limiter = LimiterNode(-6.0, 10)
    click = np.zeros((2, 3 * BLOCK), dtype=np.float32)
    click[:, 1000] = 0.9  # one loud sample: limited to the ceiling, not moved in time
    out = run(limiter, click)
    assert int(np.argmax(np.abs(out[0]))) == 1000 + limiter.latency_frames
    assert true_peak_db(out) <= -6.0 + 0.1


def test_limiter_is_deterministic_and_block_size_independent() -> None:
    audio = music(5.0) * np.float32(5.0)
    first = run(LimiterNode(-1.0, 50), audio)
    assert np.array_equal(first, run(LimiterNode(-1.0, 50), audio))
    assert np.max(np.abs(run(LimiterNode(-1.0, 50), audio, 333) - first)) < 1e-5
    assert (
        np.max(np.abs(run(LimiterNode(-1.0, 50), audio[:, : RATE // 2], 7) - first[:, : RATE // 2]))
        < 1e-5
    )


def test_limiter_releases_back_to_unity() -> None:
    limiter = LimiterNode(-6.0, 10)
    burst = np.concatenate([sine(1000, 0, 0.5), sine(1000, -20, 1.0)], axis=1)
    out = run(limiter, burst)
    tail = out[:, -RATE // 2 :]
    assert peak_db(tail) == pytest.approx(-20.0, abs=0.01)
    assert limiter.take_max_reduction() > 5.0


def test_interpolated_peaks_match_libebur128() -> None:
    audio = music(2.0) * np.float32(3.0)
    padded = np.concatenate([np.zeros((2, 12), np.float32), audio], axis=1)
    ours = float(interpolated_peaks(padded).max())
    assert 20 * np.log10(ours) == pytest.approx(true_peak_db(audio), abs=0.01)


# -- meters -----------------------------------------------------------------------------------


def test_level_meter_matches_libebur128_and_passes_audio() -> None:
    audio = music(12.0) * np.float32(2.0)
    audio[1] *= np.float32(0.5)
    meter = LevelMeterNode()
    assert np.array_equal(run(meter, audio), audio)
    reading = meter.reading()
    mode = pyebur128.MeasurementMode
    state = ebur128(audio, mode.MODE_S | mode.MODE_I)
    assert reading.momentary_lufs == pytest.approx(
        pyebur128.get_loudness_momentary(state), abs=1e-6
    )
    assert reading.short_term_lufs == pytest.approx(
        pyebur128.get_loudness_shortterm(state), abs=1e-6
    )
    assert reading.integrated_lufs == pytest.approx(pyebur128.get_loudness_global(state), abs=1e-6)
    assert reading.true_peak_dbtp == pytest.approx(true_peak_db(audio), abs=0.01)
    for channel in (0, 1):
        assert reading.peak_db[channel] == pytest.approx(peak_db(audio[channel]), abs=1e-4)
        assert reading.rms_db[channel] == pytest.approx(rms_db(audio[channel]), abs=1e-4)
    assert reading.frames == audio.shape[1]


def test_level_meter_periods_cover_only_their_own_second() -> None:
    meter = LevelMeterNode()
    run(meter, sine(1000, -30, 1.0))
    quiet = meter.reading()
    run(meter, sine(1000, -6, 1.0))
    loud = meter.reading()
    run(meter, sine(1000, -30, 1.0))
    quiet_again = meter.reading()
    assert quiet.peak_db[0] == pytest.approx(-30.0, abs=0.01)
    assert quiet.true_peak_dbtp == pytest.approx(-30.0, abs=0.05)
    assert loud.peak_db[0] == pytest.approx(-6.0, abs=0.01)
    assert loud.true_peak_dbtp == pytest.approx(-6.0, abs=0.05)
    assert quiet_again.peak_db == pytest.approx((-30.0, -30.0), abs=0.01)
    assert quiet_again.frames == RATE
    assert loud.momentary_lufs > quiet.momentary_lufs + 20


def test_silence_detector_flips_after_exactly_the_duration() -> None:
    detector = SilenceDetectorNode(-50.0, 2.0)
    run(detector, music(1.0))
    assert not detector.silent
    assert detector.silent_ms == 0
    quiet = noise(-60.0, 3.0)
    flipped_at = None
    for i in range(0, quiet.shape[1], BLOCK):
        detector.process(quiet[:, i : i + BLOCK].copy())
        if detector.silent and flipped_at is None:
            flipped_at = i + BLOCK
    assert flipped_at is not None
    assert abs(flipped_at - 2 * RATE) <= BLOCK
    assert detector.silent_ms == 3000
    detector.process(sine(1000, -20, 0.02))
    assert not detector.silent
    assert detector.silent_ms == 0


# -- building the chain ----------------------------------------------------------------------


def test_build_chain_of_the_example_station() -> None:
    graph = DspGraph.model_validate(
        {
            "nodes": [
                {"type": "loudness_normalize", "target_lufs": -16.0, "true_peak_limit": -1.0},
                {"type": "agc", "target_level_db": -14.0},
                {"type": "compressor", "threshold_db": -20, "ratio": 3, "attack_ms": 5},
                {"type": "gate", "enabled": False},
                {"type": "limiter", "threshold_db": -1.0, "release_ms": 10},
                {"type": "duck", "amount_db": 10},
                {"type": "mix", "inputs": ["live", "automation"]},
                {"type": "level_meter", "id": "out"},
                {"type": "silence_detector", "duration_sec": 5},
            ]
        }
    )
    chain = build_chain(graph)
    names = [node.name for node in chain.nodes]
    assert names == [
        "loudness_normalize",
        "agc",
        "compressor",
        "loudness_normalize.trim",  # the output loop: trim before the last limiter …
        "limiter",
        "out",
        "silence_detector",
        "loudness_normalize.output",  # … and its probe on what leaves the chain
    ]
    assert chain.latency_frames == sum(node.latency_frames for node in chain.nodes) > 0
    normalizer = chain.nodes[0]
    # the last −1 dB limiter holds the ceiling, so neither the normaliser nor its trim limits
    assert isinstance(normalizer, LoudnessNormalizerNode)
    assert normalizer.latency_frames == chain.nodes[3].latency_frames == 0
    mix, duck = chain.layer_config
    assert isinstance(mix, Mix)
    assert mix.inputs == ["live", "automation"]
    assert isinstance(duck, Duck)
    assert duck.amount_db == 10
    assert chain.meter is chain.nodes[5]
    assert isinstance(chain.silence_detector, SilenceDetectorNode)
    out = chain.process(music(1.0))
    assert out.shape == (2, RATE)
    assert out.dtype == np.float32


def test_normalizer_ceiling_goes_with_its_output_trim_without_a_later_limiter() -> None:
    chain = build_chain(
        DspGraph(
            nodes=[LoudnessNormalize(type="loudness_normalize"), LevelMeter(type="level_meter")]
        )
    )
    assert [node.name for node in chain.nodes] == [
        "loudness_normalize",
        "loudness_normalize.trim",
        "level_meter",
        "loudness_normalize.output",
    ]
    assert chain.nodes[0].latency_frames == 0
    assert chain.nodes[1].latency_frames > 0
    assert chain.meter is chain.nodes[2]
    assert chain.silence_detector is None
    assert chain.layer_config == (None, None)


def test_whole_chain_is_deterministic() -> None:
    graph = DspGraph(
        nodes=[
            LoudnessNormalize(type="loudness_normalize"),
            Equalizer(type="equalizer", bands_db=[2, 1, 0, 0, 0, 0, 0, 1, 2, 0]),
            Gate(type="gate"),
            Compressor(type="compressor"),
            Limiter(type="limiter"),
        ]
    )
    audio = music(4.0)
    first = run(build_chain(graph), audio)
    assert np.array_equal(first, run(build_chain(graph), audio))
    chain = build_chain(graph)
    run(chain, noise(-10, 1.0))
    chain.reset()
    assert np.array_equal(run(chain, audio), first)


def test_a_node_that_cannot_be_built_is_named() -> None:
    bad = Compressor.model_construct(
        type="compressor", ratio=0.5, threshold_db=-20, attack_ms=5, release_ms=50
    )
    graph = DspGraph.model_construct(nodes=[LevelMeter(type="level_meter"), Gate(type="gate"), bad])
    with pytest.raises(EngineError, match=r"dsp_graph\.nodes\[2\] \(compressor\): .*ratio"):
        build_chain(graph)


def test_two_duck_nodes_are_refused() -> None:
    graph = DspGraph(
        nodes=[Duck(type="duck"), SilenceDetector(type="silence_detector"), Duck(type="duck")]
    )
    with pytest.raises(EngineError, match=r"nodes\[2\] \(duck\).*nodes\[0\]"):
        build_chain(graph)
