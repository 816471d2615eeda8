"""analyze_file on real encoded files: loudness, cue points, duration, markers, bad input."""

from __future__ import annotations

import math
import pickle
import struct
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

from grimnir.domain.errors import LibraryError
from grimnir.library import AnalysisOptions, MediaAnalysis, analyze_file
from grimnir.library._envelope import markers, waveform_pairs
from grimnir.library._errors import NoAudioError
from tests.library._audio import FORMATS, Known, MakeAudio, loudness, music

OPTS = AnalysisOptions()


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_loudness_cues_duration(corpus: dict[str, Known], fmt: str) -> None:
    known = corpus[fmt]
    result = analyze_file(str(known.path), OPTS)
    assert result.loudness_lufs is not None
    assert abs(result.loudness_lufs - known.lufs) <= 0.5
    assert abs(result.cue_in_ms - known.cue_in_ms) <= 50
    assert abs(result.cue_out_ms - known.cue_out_ms) <= 50
    assert abs(result.duration_ms - known.duration_ms) <= 50
    assert result.gain_db == pytest.approx(-16.0 - result.loudness_lufs)
    assert result.loudness_range_lu is not None
    assert result.true_peak_dbtp is not None
    assert -30.0 < result.true_peak_dbtp < 0.5
    assert len(result.waveform) == 2 * math.ceil(result.duration_ms / 100)
    assert result.intro_end_ms is not None
    assert result.segue_ms is not None
    assert result.cue_in_ms <= result.intro_end_ms <= result.segue_ms <= result.cue_out_ms
    assert result.warnings == []


def test_waveform_shows_silence_and_music(corpus: dict[str, Known]) -> None:
    result = analyze_file(str(corpus["wav"].path), OPTS)
    pairs = np.frombuffer(result.waveform, dtype=np.int8).reshape(-1, 2)
    assert (pairs[:12] == 0).all()  # 1.25 s of digital silence
    assert (pairs[15:70, 1] > 10).all()
    assert (pairs[15:70, 0] < -10).all()
    assert (pairs[:, 0] <= pairs[:, 1]).all()


def test_gain_is_capped_and_quiet_files_measured(make_audio: MakeAudio) -> None:
    path = make_audio("quiet.flac", music(6.0, lufs=-40.0))
    result = analyze_file(str(path), OPTS)
    assert result.loudness_lufs == pytest.approx(-40.0, abs=0.3)
    assert result.gain_db == 12.0


def test_mono_measures_as_it_plays_on_two_channels(make_audio: MakeAudio) -> None:
    mono = music(6.0, channels=1, lufs=-20.0)
    m = analyze_file(str(make_audio("mono.wav", mono)), OPTS)
    s = analyze_file(str(make_audio("dual.wav", np.vstack([mono, mono]))), OPTS)
    assert m.channels == 1
    assert s.loudness_lufs is not None
    assert m.loudness_lufs == pytest.approx(s.loudness_lufs, abs=0.05)


def test_rate_without_whole_hops_is_resampled(make_audio: MakeAudio) -> None:
    pcm = music(5.0, rate=11025, lufs=-18.0, head_s=0.5)
    result = analyze_file(str(make_audio("low.wav", pcm, rate=11025)), OPTS)
    assert result.sample_rate_hz == 11025
    assert abs(result.duration_ms - 5500) <= 5
    assert abs(result.cue_in_ms - 500) <= 50
    assert len(result.waveform) == 2 * math.ceil(result.duration_ms / 100)
    assert result.loudness_lufs == pytest.approx(loudness(pcm, 11025), abs=0.5)


def test_true_peak_finds_an_inter_sample_over(make_audio: MakeAudio) -> None:
    # a full-scale sine at fs/4 sampled at ±45°: samples at -3 dBFS, the wave at 0 dBFS
    rate = 44100
    n = np.arange(rate * 4)
    tone = np.sin(np.pi / 2 * n + np.pi / 4).astype(np.float32) * np.float32(0.999)
    pcm = np.vstack([tone, tone])
    result = analyze_file(str(make_audio("over.wav", pcm)), OPTS)
    assert result.true_peak_dbtp is not None
    assert result.true_peak_dbtp > -0.5  # the sample peak alone would say -3 dB


def test_mp3_with_lying_xing_header(make_audio: MakeAudio) -> None:
    path = make_audio("lie.mp3", music(8.0))
    data = bytearray(path.read_bytes())
    tag = max(data.find(b"Xing"), data.find(b"Info"))
    assert tag > 0
    frames = struct.unpack(">I", data[tag + 8 : tag + 12])[0]
    data[tag + 8 : tag + 12] = struct.pack(">I", frames // 4)
    path.write_bytes(bytes(data))
    result = analyze_file(str(path), OPTS)
    assert abs(result.duration_ms - 8000) <= 50
    assert any("header says 2.0 s" in w for w in result.warnings)


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0x7FFFFFF0, 0])
def test_wav_with_wrong_data_size(make_audio: MakeAudio, size: int) -> None:
    path = make_audio("wrong.wav", music(8.0))
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", size)
    path.write_bytes(bytes(data))
    assert abs(analyze_file(str(path), OPTS).duration_ms - 8000) <= 1


def _bad(tmp_path: Path, make_audio: MakeAudio, kind: str) -> Path:
    rng = np.random.default_rng(5)
    if kind == "empty":
        path = tmp_path / "empty.mp3"
        path.write_bytes(b"")
    elif kind == "text":
        path = tmp_path / "notes.wav"
        path.write_text("not audio at all\n" * 100)
    elif kind == "image":
        path = tmp_path / "cover.mp3"
        path.write_bytes(_png())
    elif kind == "header":
        good = make_audio("h.flac", music(4.0))
        path = tmp_path / "cut.flac"
        path.write_bytes(good.read_bytes()[:30])
    elif kind == "fmt_chunk":
        good = make_audio("f.wav", music(4.0))
        data = bytearray(good.read_bytes())
        data[20:36] = rng.bytes(16)
        path = tmp_path / "badfmt.wav"
        path.write_bytes(bytes(data))
    elif kind == "truncated":
        good = make_audio("t.mp3", music(20.0))
        whole = good.read_bytes()
        path = tmp_path / "truncated.mp3"
        path.write_bytes(whole[: int(len(whole) * 0.4) + 7])
    elif kind == "corrupt_middle":
        good = make_audio("c.mp3", music(20.0))
        data = bytearray(good.read_bytes())
        third = len(data) // 3
        data[third : 2 * third] = rng.bytes(third)
        path = tmp_path / "corrupt.mp3"
        path.write_bytes(bytes(data))
    elif kind == "silent":
        path = make_audio("silent.flac", np.full((2, 44100 * 3), 0.001, dtype=np.float32))
    else:
        raise AssertionError(kind)
    return path


def _png() -> bytes:
    import av

    frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), dtype=np.uint8), format="rgb24")
    ctx = av.CodecContext.create("png", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 16, 16, "rgb24"
    return b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))


@pytest.mark.parametrize(
    ("kind", "reason", "no_audio"),
    [
        ("empty", r"^empty file$", True),
        (
            "text",
            r"^not an audio file, or its header is corrupt or truncated \(FFmpeg: Invalid",
            True,
        ),
        ("image", r"^not an audio file \(FFmpeg found no audio stream\)$", True),
        ("header", r"its header is corrupt or truncated \(FFmpeg: Invalid data", True),
        ("fmt_chunk", r"^not an audio file, or its header is corrupt", True),
        # FFmpeg either reports the bad packets or resyncs past them without a
        # word (the skipped data then rides along in oversized packets)
        (
            "corrupt_middle",
            r"^the file is corrupt: (\d+ of \d+ audio packets|\d+ KB of its \d+ KB)",
            False,
        ),
        ("silent", r"^no audio above -50 dBFS: the file is silent$", False),
    ],
)
def test_bad_input_reasons(
    tmp_path: Path, make_audio: MakeAudio, kind: str, reason: str, no_audio: bool
) -> None:
    path = _bad(tmp_path, make_audio, kind)
    with pytest.raises(LibraryError, match=reason) as raised:
        analyze_file(str(path), OPTS)
    # ingest refuses a file with no audio outright; other failures keep a failed item
    assert isinstance(raised.value, NoAudioError) is no_audio


def test_truncated_plays_what_decodes(tmp_path: Path, make_audio: MakeAudio) -> None:
    result = analyze_file(str(_bad(tmp_path, make_audio, "truncated")), OPTS)
    assert abs(result.duration_ms - 8000) <= 100
    assert result.loudness_lufs is not None
    assert len(result.waveform) == 2 * math.ceil(result.duration_ms / 100)
    (warning,) = result.warnings
    assert warning.startswith("truncated: the header promises 20.0 s but only 8.0 s")
    assert "it plays those 8.0 s" in warning


def test_cut_to_a_sliver_or_all_garbage_has_no_audio(tmp_path: Path, make_audio: MakeAudio) -> None:
    whole = make_audio("s.mp3", music(20.0)).read_bytes()
    sliver = tmp_path / "sliver.mp3"
    sliver.write_bytes(whole[:3000])  # a tag, the LAME header and a few frames
    with pytest.raises(NoAudioError, match=r"^truncated: .* ms of audio decode, too little"):
        analyze_file(str(sliver), OPTS)
    at = whole.index(b"Info") + 600  # past the first real frame's header
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(whole[:at] + np.random.default_rng(9).bytes(200_000))
    with pytest.raises(NoAudioError):
        analyze_file(str(garbage), OPTS)


def test_too_long_is_refused_while_decoding(make_audio: MakeAudio) -> None:
    path = make_audio("long.mp3", music(8.0))
    with pytest.raises(LibraryError, match="too long: more than"):
        analyze_file(str(path), AnalysisOptions(max_seconds=3.0))


def test_a_few_corrupt_packets_are_a_warning(make_audio: MakeAudio, tmp_path: Path) -> None:
    data = bytearray(make_audio("ok.mp3", music(20.0)).read_bytes())
    rng = np.random.default_rng(3)
    for k in range(6):
        at = len(data) * (k + 1) // 8
        data[at : at + 200] = rng.bytes(200)
    path = tmp_path / "scratched.mp3"
    path.write_bytes(bytes(data))
    result = analyze_file(str(path), OPTS)
    assert any("could not be decoded" in w for w in result.warnings)
    assert abs(result.duration_ms - 20000) < 1000


def test_wrong_extension_is_refused_unless_allowed(make_audio: MakeAudio, tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    path.write_bytes(make_audio("real.mp3", music(4.0)).read_bytes())
    with pytest.raises(
        LibraryError, match=r"wrong extension: the name ends in \.flac but the content is mp3"
    ):
        analyze_file(str(path), OPTS)
    result = analyze_file(str(path), replace(OPTS, allow_wrong_extension=True))
    assert result.format == "mp3"
    assert any("content is mp3" in w for w in result.warnings)


def test_options_are_validated() -> None:
    with pytest.raises(LibraryError, match="below 0"):
        AnalysisOptions(target_lufs=3.0)
    with pytest.raises(LibraryError, match="waveform_ms"):
        AnalysisOptions(waveform_ms=30)


def test_result_and_options_pickle_and_run_in_a_worker_process(corpus: dict[str, Known]) -> None:
    options = AnalysisOptions(target_lufs=-14.0)
    # NOTE: S301 — unpickling our own bytes, as the worker pool does
    assert pickle.loads(pickle.dumps(options)) == options  # noqa: S301
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        remote = pool.submit(analyze_file, str(corpus["flac"].path), options).result(timeout=60)
    assert isinstance(remote, MediaAnalysis)
    assert pickle.loads(pickle.dumps(remote)) == remote  # noqa: S301
    assert remote == analyze_file(str(corpus["flac"].path), options)


# -- markers on synthetic envelopes (hop = 100 ms) ----------------------------


def _envelope(*parts: tuple[float, float]) -> np.ndarray:
    """Per-hop mean squares from (seconds, level dB) steps."""
    return np.concatenate([np.full(round(s * 10), 10.0 ** (db / 10.0)) for s, db in parts])


def test_markers_quiet_intro_then_full_song() -> None:
    energy = _envelope((10, -30), (60, -14), (5, -14))
    intro, segue = markers(energy, 100, 0, 75000)
    assert intro is not None
    assert abs(intro - 10000) <= 100  # the centred window crosses -3 dB at the step
    assert segue == 75000  # loud to the end


def test_markers_song_starting_at_full_level_has_no_intro() -> None:
    energy = _envelope((1, -100), (60, -14))
    intro, _ = markers(energy, 100, 1000, 61000)
    assert intro == 1000


def test_markers_fade_out_segue() -> None:
    fade = np.linspace(-14, -74, 100)  # 10 s fade, 0.6 dB per 100 ms
    energy = np.concatenate([_envelope((60, -14)), 10.0 ** (fade / 10.0)])
    intro, segue = markers(energy, 100, 0, 70000)
    assert intro == 0
    assert segue is not None
    # 10 dB under the track level is reached ~1.7 s into the fade (the 3 s window smooths)
    assert 60500 <= segue <= 63000


def test_markers_hard_drop_segue_near_the_drop() -> None:
    energy = _envelope((40, -14), (10, -40))
    _, segue = markers(energy, 100, 0, 50000)
    assert segue is not None
    assert 40000 <= segue <= 41500


def test_markers_silent_envelope() -> None:
    assert markers(np.zeros(100), 100, 0, 10000) == (None, None)


def test_waveform_pairs_count_and_scale() -> None:
    mono = np.concatenate([np.full(4410, 0.5), np.full(4410, -1.0), np.full(100, 0.25)])
    pairs = np.frombuffer(waveform_pairs(mono.astype(np.float32), 4410), np.int8)
    assert pairs.tolist() == [64, 64, -127, -127, 32, 32]
