"""Library test helpers: generated music with known loudness, encoded to every format."""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

import av
import numpy as np
import numpy.typing as npt
import pyebur128
from av.audio.stream import AudioStream

from tests._require import require_peer

Format = Literal["wav", "mp3", "m4a", "ogg", "opus", "flac"]
FORMATS: tuple[Format, ...] = ("mp3", "m4a", "ogg", "opus", "flac", "wav")
Pcm = npt.NDArray[np.float32]

_CODECS = {
    "flac": ("flac", "flac", None, "s16"),
    "mp3": ("libmp3lame", "mp3", 192_000, None),
    "m4a": ("aac", "mp4", 192_000, None),
    "opus": ("libopus", "ogg", 160_000, None),
}


@dataclass(frozen=True)
class Known:
    """What a corpus file holds, measured before encoding."""

    path: Path
    lufs: float
    cue_in_ms: float
    cue_out_ms: float
    duration_ms: float


def loudness(pcm: Pcm, rate: int) -> float:
    """Integrated loudness (LUFS) of float32 (channels, n) audio."""
    channels, n = pcm.shape
    state = pyebur128.R128State(channels, rate, pyebur128.MeasurementMode.MODE_I)
    state.add_frames(np.ascontiguousarray(pcm.T).reshape(-1), n)
    return float(pyebur128.get_loudness_global(state))


def music(
    seconds: float,
    *,
    rate: int = 44100,
    lufs: float = -18.0,
    head_s: float = 0.0,
    tail_s: float = 0.0,
    channels: int = 2,
    seed: int = 1,
) -> Pcm:
    """Music-like stereo audio at ``lufs`` (measured), with silence before and after."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal((2, size)), axis=1)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    spectrum /= np.sqrt(np.maximum(freqs, 40.0) / 40.0)  # pink: -3 dB per octave
    spectrum[:, freqs > 15000] *= 0.1
    spectrum[1] = 0.7 * spectrum[0] + 0.3 * spectrum[1]
    audio = np.fft.irfft(spectrum, size, axis=1)[:, :n]
    t = np.arange(n) / rate
    audio *= 0.6 + 0.4 * np.abs(np.sin(np.pi * t * 2.0)) ** 4  # 120 BPM pulse
    pcm: Pcm = audio[:channels].astype(np.float32)
    pcm *= np.float32(10.0 ** ((lufs - loudness(pcm, rate)) / 20.0))
    head, tail = round(head_s * rate), round(tail_s * rate)
    return np.pad(pcm, ((0, 0), (head, tail)))


def encode(path: Path, pcm: Pcm, rate: int) -> Path:
    """Write ``pcm`` to ``path`` in the format its suffix names."""
    fmt = path.suffix.lstrip(".")
    ints = np.round(np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)
    if fmt == "wav":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(ints.shape[0])
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.ascontiguousarray(ints.T).tobytes())
        return path
    if fmt == "ogg":
        return _vorbis(path, pcm, rate)
    codec, container_format, bit_rate, sample_fmt = _CODECS[fmt]
    layout = "mono" if pcm.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, AudioStream)
        if bit_rate:
            stream.codec_context.bit_rate = bit_rate
        fmt_name = sample_fmt or stream.codec_context.format.name
        resampler = av.AudioResampler(format=fmt_name, layout=layout, rate=rate)
        for i in range(0, ints.shape[1], 4096):
            chunk = np.ascontiguousarray(ints[:, i : i + 4096].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate, frame.time_base, frame.pts = rate, Fraction(1, rate), i
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return path


def _vorbis(path: Path, pcm: Pcm, rate: int) -> Path:
    ffmpeg = require_peer("ffmpeg")  # Ogg Vorbis test media
    wav = encode(path.with_suffix(".src.wav"), pcm, rate)
    args = ["-v", "error", "-nostdin", "-y", "-i", str(wav), "-c:a", "libvorbis", "-q:a", "6"]
    subprocess.run(
        [ffmpeg, *args, str(path)],
        check=True,
        timeout=60,
    )
    wav.unlink()
    return path


class MakeAudio(Protocol):
    def __call__(self, name: str, pcm: Pcm, rate: int = 44100) -> Path: ...


HEAD_S, BODY_S, TAIL_S = 1.25, 6.0, 0.75
