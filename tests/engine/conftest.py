"""Real media files for engine tests, generated on the fly and deterministic.

``make_media`` writes a tone (or seeded noise) in any format the engine must
play; ``make_corrupt_media`` writes the broken files a station meets in
practice; ``read_wav`` reads a WAV back without FFmpeg, as an independent
reference; ``media_samples`` gives the exact samples ``make_media`` encodes.
"""

from __future__ import annotations

import hashlib
import subprocess
import wave
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

import av
import numpy as np
import numpy.typing as npt
import pytest
from av.audio.stream import AudioStream

from tests._require import require_peer

Format = Literal["wav", "mp3", "m4a", "ogg", "opus", "flac"]
Signal = Literal["sine", "noise"]
CorruptKind = Literal["random", "empty", "truncated", "garbage_middle", "no_audio"]

# codec, container format, bit rate (None: lossless); WAV is written with `wave`
_CODECS: dict[str, tuple[str, str, int | None]] = {
    "flac": ("flac", "flac", None),
    "mp3": ("libmp3lame", "mp3", 192_000),
    "m4a": ("aac", "mp4", 160_000),
    "opus": ("libopus", "ogg", 128_000),
}
_OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})


class MakeMedia(Protocol):
    def __call__(
        self,
        name: str,
        *,
        seconds: float,
        freq_hz: float = 440.0,
        level_db: float = -12.0,
        fmt: Format = "wav",
        rate: int = 44100,
        channels: int = 2,
        silence_head_s: float = 0.0,
        silence_tail_s: float = 0.0,
        signal: Signal = "sine",
        seed: int = 0,
    ) -> Path: ...


class MediaSamples(Protocol):
    def __call__(
        self,
        *,
        seconds: float,
        freq_hz: float = 440.0,
        level_db: float = -12.0,
        rate: int = 44100,
        channels: int = 2,
        silence_head_s: float = 0.0,
        silence_tail_s: float = 0.0,
        signal: Signal = "sine",
        seed: int = 0,
    ) -> npt.NDArray[np.int16]: ...


def _samples(
    *,
    seconds: float,
    freq_hz: float = 440.0,
    level_db: float = -12.0,
    rate: int = 44100,
    channels: int = 2,
    silence_head_s: float = 0.0,
    silence_tail_s: float = 0.0,
    signal: Signal = "sine",
    seed: int = 0,
) -> npt.NDArray[np.int16]:
    """16-bit samples shaped (channels, n): ``seconds`` long in all, silence included.

    A sine starts at zero phase right after the head silence; the right
    channel is a quarter period later so a channel swap shows. Noise is
    uniform white noise from a seeded generator. ``level_db`` is the peak.
    """
    total = round(seconds * rate)
    head = round(silence_head_s * rate)
    body = max(0, total - head - round(silence_tail_s * rate))
    amp = 10.0 ** (level_db / 20.0)
    t = np.arange(body, dtype=np.float64) / rate
    out = np.zeros((channels, total), dtype=np.float64)
    if signal == "sine":
        for ch in range(channels):
            out[ch, head : head + body] = amp * np.sin(2 * np.pi * freq_hz * t - ch * np.pi / 2)
    else:
        rng = np.random.default_rng(seed)
        out[:, head : head + body] = amp * rng.uniform(-1.0, 1.0, size=(channels, body))
    return np.round(np.clip(out, -1.0, 1.0) * 32767.0).astype(np.int16)


def _encode(path: Path, pcm: npt.NDArray[np.int16], rate: int, fmt: Format) -> None:
    channels = pcm.shape[0]
    if fmt == "wav":
        _write_wav(path, pcm, rate)
        return
    if fmt == "ogg":
        _encode_vorbis(path, pcm, rate)
        return
    codec, container_format, bit_rate = _CODECS[fmt]
    layout = "mono" if channels == 1 else "stereo"
    enc_rate = 48000 if fmt == "opus" and rate not in _OPUS_RATES else rate
    # NOTE: bitexact, or the Ogg muxer picks a random stream serial number.
    with av.open(str(path), "w", format=container_format, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=enc_rate, layout=layout)
        assert isinstance(stream, AudioStream)
        if bit_rate is not None:
            stream.codec_context.bit_rate = bit_rate
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout=layout, rate=enc_rate
        )
        step = 4096
        for i in range(0, pcm.shape[1], step):
            chunk = np.ascontiguousarray(pcm[:, i : i + step].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate = rate
            frame.time_base = Fraction(1, rate)
            frame.pts = i
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))


def _encode_vorbis(path: Path, pcm: npt.NDArray[np.int16], rate: int) -> None:
    # NOTE: PyAV bundles only FFmpeg's experimental stereo-only Vorbis encoder;
    # Debian's ffmpeg has libvorbis, the encoder real files come from.
    ffmpeg = require_peer("ffmpeg")
    wav = path.with_suffix(".src.wav")
    _write_wav(wav, pcm, rate)
    subprocess.run(
        [
            ffmpeg,
            *["-v", "error", "-nostdin", "-y", "-i"],
            str(wav),
            *["-map_metadata", "-1", "-c:a", "libvorbis", "-q:a", "5", "-bitexact"],
            str(path),
        ],
        check=True,
        timeout=60,
    )
    wav.unlink()


def _write_wav(path: Path, pcm: npt.NDArray[np.int16], rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm.T).astype("<i2").tobytes())


@pytest.fixture
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh directory for this test's media."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def media_samples() -> MediaSamples:
    """The exact 16-bit samples ``make_media`` encodes for the same arguments."""
    return _samples


@pytest.fixture
def make_media(media_dir: Path) -> MakeMedia:
    """Write a media file and return its path; the same arguments give the same file.

    The file is ``name`` plus ``.fmt`` (unless ``name`` ends with it already).
    ``seconds`` is the whole length, silence included; ``level_db`` the peak
    in dBFS; ``rate``/``channels`` what the file is encoded at (Opus files at
    a rate Opus lacks are encoded at 48 kHz, as opusenc does).
    """

    def make(
        name: str,
        *,
        seconds: float,
        freq_hz: float = 440.0,
        level_db: float = -12.0,
        fmt: Format = "wav",
        rate: int = 44100,
        channels: int = 2,
        silence_head_s: float = 0.0,
        silence_tail_s: float = 0.0,
        signal: Signal = "sine",
        seed: int = 0,
    ) -> Path:
        pcm = _samples(
            seconds=seconds,
            freq_hz=freq_hz,
            level_db=level_db,
            rate=rate,
            channels=channels,
            silence_head_s=silence_head_s,
            silence_tail_s=silence_tail_s,
            signal=signal,
            seed=seed,
        )
        path = media_dir / (name if name.endswith(f".{fmt}") else f"{name}.{fmt}")
        _encode(path, pcm, rate, fmt)
        return path

    return make


@pytest.fixture
def make_corrupt_media(media_dir: Path, make_media: MakeMedia) -> Callable[[CorruptKind], Path]:
    """Write a broken file of one ``kind`` and return its path.

    random: 64 KiB of seeded random bytes named ``.mp3``; empty: a zero-byte
    ``.mp3``; truncated: a 4 s MP3 (1 kHz, -12 dBFS) cut off mid-frame at 40 %
    of its bytes; garbage_middle: the same MP3 with its middle third
    overwritten by random bytes; no_audio: a text file named ``.wav``.
    """

    def make(kind: CorruptKind) -> Path:
        rng = np.random.default_rng(int(hashlib.sha256(kind.encode()).hexdigest()[:8], 16))
        if kind == "random":
            path = media_dir / "random.mp3"
            path.write_bytes(rng.bytes(64 * 1024))
        elif kind == "empty":
            path = media_dir / "empty.mp3"
            path.write_bytes(b"")
        elif kind == "no_audio":
            path = media_dir / "notes.wav"
            path.write_text("not audio at all\n" * 100)
        else:
            good = make_media(f"good-{kind}", seconds=4.0, freq_hz=1000.0, fmt="mp3")
            data = bytearray(good.read_bytes())
            path = media_dir / f"{kind}.mp3"
            if kind == "truncated":
                data = data[: int(len(data) * 0.4) + 7]
            else:
                third = len(data) // 3
                data[third : 2 * third] = rng.bytes(third)
            path.write_bytes(bytes(data))
        return path

    return make


@pytest.fixture
def read_wav() -> Callable[[Path], npt.NDArray[np.float32]]:
    """A 16-bit WAV's samples as float32 (channels, n), read without FFmpeg."""

    def read(path: Path) -> npt.NDArray[np.float32]:
        with wave.open(str(path), "rb") as w:
            channels = w.getnchannels()
            raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return (raw.reshape(-1, channels).T.astype(np.float32) / np.float32(32768.0)).copy()

    return read
