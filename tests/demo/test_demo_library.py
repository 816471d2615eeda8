"""The demo's generated library: distinct, musical, tagged tracks and station IDs.

Every check decodes the MP3 files the generator wrote (PyAV, as the engine
and the analyser do) and measures the audio: spectral flatness against white
noise measured in the same run, energy in the track's own key, chroma that
differs between tracks, and speech-band energy that the voice adds to a sting.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from grimnir.demo._encode import write_mp3
from grimnir.demo.music import SCALES, generate_library, render_track, track_specs
from grimnir.demo.voice import STATION_ID_GENRE, espeak_binary, make_station_ids, render_id

Pcm = npt.NDArray[np.float32]
RATE = 48_000
SECONDS = 12.0
COUNT = 6


def decode(path: Path) -> tuple[Pcm, dict[str, str]]:
    """Mono float audio at 48 kHz and the container's tags, as FFmpeg reads them."""
    with av.open(str(path)) as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = [
            f.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for f in resampler.resample(frame)
        ]
    return np.concatenate(parts), tags


def spectra(audio: Pcm, size: int = 4096) -> npt.NDArray[np.float64]:
    """Power spectra of the non-silent frames of ``audio``."""
    frames = np.lib.stride_tricks.sliding_window_view(audio, size)[::size]
    frames = frames[np.sqrt((frames**2).mean(axis=1)) > 1e-3]
    return np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2 + 1e-12


def flatness(audio: Pcm) -> float:
    """Median spectral flatness (geometric / arithmetic mean power) below 16 kHz:
    about 0.56 for white noise, near 0 for tones."""
    power = spectra(audio)[:, 1 : int(16_000 / RATE * 4096)]
    return float(np.median(np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)))


def chroma(audio: Pcm) -> npt.NDArray[np.float64]:
    """Share of the energy (110 Hz – 2 kHz, 3 Hz resolution) in each pitch class."""
    size = 16_384
    frames = np.lib.stride_tricks.sliding_window_view(audio, size)[:: size // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(size, 1.0 / RATE)
    band = (freqs > 110) & (freqs < 2000)
    classes = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    energy = np.bincount(classes, weights=power[band], minlength=12)
    share: npt.NDArray[np.float64] = energy / energy.sum()
    return share


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("demo-music")
    return generate_library(folder, COUNT, seconds=SECONDS, seed=7, workers=2)


def test_the_same_seed_gives_the_same_tracks_and_another_seed_others() -> None:
    first = track_specs(4, seconds=SECONDS, seed=3)
    assert first == track_specs(4, seconds=SECONDS, seed=3)
    assert np.array_equal(
        render_track(first[1]), render_track(track_specs(4, seconds=SECONDS, seed=3)[1])
    )
    other = track_specs(4, seconds=SECONDS, seed=4)
    assert [s.title for s in other] != [s.title for s in first]
    assert not np.array_equal(render_track(first[1]), render_track(other[1]))


def test_tracks_decode_with_their_tags_and_distinct_artists(library: list[Path]) -> None:
    specs = track_specs(COUNT, seconds=SECONDS, seed=7)
    assert [p.name for p in library] == [s.filename for s in specs]
    seen = []
    for path, spec in zip(library, specs, strict=True):
        audio, tags = decode(path)
        assert abs(audio.size / RATE - spec.seconds) < 0.2, path  # LAME pads a frame or so
        assert tags["title"] == spec.title
        assert tags["artist"] == spec.style.artist
        assert tags["album"] == spec.style.album
        assert tags["genre"] == spec.style.genre
        assert tags["genre"] != STATION_ID_GENRE
        assert tags["date"] == str(spec.style.year)
        seen.append((tags["artist"], tags["title"]))
    assert len({title for _, title in seen}) == COUNT
    assert len({artist for artist, _ in seen}) >= 5  # separation has artists to keep apart


def test_tracks_are_musical_not_noise(library: list[Path]) -> None:
    noise = np.random.default_rng(0).standard_normal(RATE * 4).astype(np.float32) * 0.1
    noise_flatness = flatness(noise)
    assert noise_flatness > 0.4  # the yardstick measured, not assumed
    noise_in_key = chroma(noise)[sorted({0, 2, 4, 5, 7, 9, 11})].sum()
    assert noise_in_key < 0.65  # noise spreads over all twelve pitch classes
    for path, spec in zip(library, track_specs(COUNT, seconds=SECONDS, seed=7), strict=True):
        audio, _ = decode(path)
        assert flatness(audio) < 0.1 * noise_flatness, path
        # harmony: most pitched energy lies on the notes of the track's key
        in_key = {(spec.key + step) % 12 for step in SCALES[spec.style.mode]}
        energy = chroma(audio)
        assert energy[sorted(in_key)].sum() > 0.8, (path, np.round(energy, 3))
        # and it has an envelope: silence and a fade at both ends for the cue points
        assert np.abs(audio[: RATE // 10]).max() < 1e-3
        head, body = (
            np.abs(audio[RATE // 4 : RATE // 2]).mean(),
            np.abs(audio[RATE * 4 : RATE * 6]).mean(),
        )
        assert head < 0.5 * body


def test_tracks_differ_from_each_other(library: list[Path]) -> None:
    prints = np.array([chroma(decode(path)[0]) for path in library])
    similarity = np.corrcoef(prints)
    np.fill_diagonal(similarity, -1.0)
    assert similarity.max() < 0.97, np.round(similarity, 2)
    keys = [s.key for s in track_specs(COUNT, seconds=SECONDS, seed=7)]
    assert len(set(keys)) == COUNT  # around the circle of fifths


def test_existing_files_are_kept(library: list[Path]) -> None:
    stamps = [p.stat().st_mtime_ns for p in library]
    again = generate_library(library[0].parent, COUNT, seconds=SECONDS, seed=7, workers=1)
    assert again == library
    assert [p.stat().st_mtime_ns for p in again] == stamps


def band_energy(audio: Pcm, low: float, high: float) -> float:
    power = spectra(audio).sum(axis=0)
    freqs = np.fft.rfftfreq(4096, 1.0 / RATE)
    return float(power[(freqs >= low) & (freqs < high)].sum())


def test_station_ids_speak_over_a_sting(tmp_path: Path) -> None:
    ids = make_station_ids(tmp_path / "ids", "Grimnir Demo FM")
    assert len(ids.files) == 4
    lengths = []
    for path in ids.files:
        audio, tags = decode(path)
        assert tags["genre"] == STATION_ID_GENRE
        assert tags["artist"] == "Grimnir Demo FM"
        assert tags["title"].startswith("Station ID ")
        lengths.append(audio.size / RATE)
    assert max(lengths) - min(lengths) < 0.05  # one clock slot length fits each of them
    if espeak_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is missing in CI: scripts/test-peers.sh installs it")
        assert not ids.spoken
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): no voice to check")
    assert ids.spoken
    voiced, _ = decode(ids.files[0])
    # the same sting without the voice, encoded the same way, is the reference
    bare, _ = decode(write_mp3(tmp_path / "bare.mp3", render_id(None, lengths[0]), {}))
    # speech-band energy while the voice speaks, over the same band in the sting's
    # last second (no voice in either): the voice lifts it, the bare sting does not
    talk = slice(int(1.0 * RATE), int((lengths[0] - 1.5) * RATE))
    tail = slice(int((lengths[0] - 1.2) * RATE), int((lengths[0] - 0.9) * RATE))

    def lift(audio: Pcm) -> float:
        per_s = [
            band_energy(audio[part], 300, 3400) / (part.stop - part.start) for part in (talk, tail)
        ]
        return per_s[0] / per_s[1]

    assert lift(voiced) > 2.5 * lift(bare), (lift(voiced), lift(bare))
    # speech comes in syllables: its level moves several times a second
    hop = RATE // 50
    speech = voiced[talk]
    levels = np.array(
        [np.abs(speech[i : i + hop]).mean() for i in range(0, speech.size - hop, hop)]
    )
    assert levels.std() / levels.mean() > 0.25


def test_without_espeak_the_ids_are_stings_and_the_log_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    caplog.set_level(logging.INFO, logger="grimnir.demo")
    ids = make_station_ids(tmp_path / "ids", "Grimnir Demo FM")
    assert not ids.spoken
    assert all(p.name.endswith("-sting.mp3") and p.exists() for p in ids.files)
    assert "espeak-ng not found" in caplog.text
    audio, tags = decode(ids.files[0])
    assert tags["genre"] == STATION_ID_GENRE
    assert flatness(audio) < 0.05  # a musical sting, not noise
