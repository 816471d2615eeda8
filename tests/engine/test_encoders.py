"""Encoders: what they write must decode to the audio they were given.

Each encoder's output is written to a file and decoded with PyAV (FFmpeg), then
checked for duration, level and pitch; lossless formats are compared sample by
sample. Streams must also decode when joined in the middle.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from grimnir.domain import AudioFormat, EngineError
from grimnir.engine.audio import RATE, Block, rms_db, to_int16_interleaved
from grimnir.engine.encoders import (
    DEFAULT_BITRATES,
    MP3_BITRATES,
    Encoder,
    EncoderKey,
    EncoderPool,
    Mp3Encoder,
    WavEncoder,
    create_encoder,
    mp3_frame_length,
    wav_header,
)

SINE_DB = -6.0
SINE_RMS_DB = SINE_DB - 3.0103  # RMS of a sine is 3 dB below its peak

# Decoded length may exceed the input by one codec frame plus the encoder's
# priming (LAME 576 + decoder 529; AAC 1024; Vorbis/Opus are trimmed by FFmpeg).
LENGTH_SLACK = {
    AudioFormat.MP3: 1152 + 1105,
    AudioFormat.AAC: 1024 + 1024,
    AudioFormat.OPUS: 960 + 312,
    AudioFormat.VORBIS: 2048 + 1024,
}
LOSSY = list(LENGTH_SLACK)


def sine(seconds: float, freq: float = 1000.0, db: float = SINE_DB) -> Block:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (10 ** (db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono, mono])


def musicish(seconds: float, seed: int = 7) -> Block:
    """Chords of decaying harmonics over soft noise: busy enough to exercise a codec."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    out = 0.05 * rng.standard_normal((2, n))
    for k in range(6):
        freq = 110.0 * 2 ** (int(rng.integers(0, 36)) / 12)
        for h in range(1, 5):
            tone = np.sin(2 * np.pi * freq * h * t + rng.random() * 6) / (h * 8)
            out += np.stack([tone * (1 + k / 10), tone * (1 - k / 10)])
    out *= 0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t) ** 2
    music: Block = (0.8 * out / np.max(np.abs(out))).astype(np.float32)
    return music


def encode(encoder: Encoder, signal: Block, block: int = 960) -> tuple[bytes, list[bytes], bytes]:
    """(header, one chunk per block, flush) for ``signal`` cut into ``block``-frame blocks."""
    header = encoder.stream_header()
    chunks = [encoder.encode(signal[:, i : i + block]) for i in range(0, signal.shape[1], block)]
    return header, chunks, encoder.flush()


def stream(encoder: Encoder, signal: Block, block: int = 960) -> bytes:
    header, chunks, tail = encode(encoder, signal, block)
    return header + b"".join(chunks) + tail


def decode(data: bytes, extension: str, tmp_path: Path) -> Block:
    """Decode ``data`` with FFmpeg to (2, n) float32."""
    path = tmp_path / f"decode-{len(list(tmp_path.iterdir()))}.{extension}"
    path.write_bytes(data)
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
    parts: list[npt.NDArray[Any]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray() for f in resampler.resample(frame))
    parts.extend(f.to_ndarray() for f in resampler.resample(None))
    return np.concatenate(parts, axis=1).astype(np.float32)


def decode_s16(data: bytes, extension: str, tmp_path: Path) -> npt.NDArray[np.int16]:
    """Decode ``data`` to interleaved int16 exactly as stored (lossless formats)."""
    path = tmp_path / f"exact-{len(list(tmp_path.iterdir()))}.{extension}"
    path.write_bytes(data)
    parts = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "s16"
            parts.append(frame.to_ndarray().reshape(-1))
    return np.concatenate(parts).astype(np.int16)


def dominant_hz(signal: Block) -> float:
    spectrum = np.abs(np.fft.rfft(signal[0].astype(np.float64)))
    return float(np.fft.rfftfreq(signal.shape[1], 1 / RATE)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("fmt", LOSSY, ids=str)
def test_lossy_sine_comes_back_at_its_level_length_and_pitch(
    fmt: AudioFormat, tmp_path: Path
) -> None:
    signal = sine(2.0)
    encoder = create_encoder(fmt)
    decoded = decode(stream(encoder, signal), encoder.extension, tmp_path)

    extra = decoded.shape[1] - signal.shape[1]
    assert 0 <= extra <= LENGTH_SLACK[fmt]
    middle = decoded[:, RATE // 2 : -RATE // 2]
    assert abs(rms_db(middle) - SINE_RMS_DB) < 1.0
    assert abs(dominant_hz(middle) - 1000.0) < 5.0
    assert encoder.frames_in == signal.shape[1]


def test_flac_is_bit_exact_16_bit(tmp_path: Path) -> None:
    signal = musicish(1.5)
    encoder = create_encoder(AudioFormat.FLAC, 128)  # a bitrate means nothing for FLAC
    data = stream(encoder, signal, block=700)

    assert encoder.bitrate_kbps is None
    assert data.startswith(b"fLaC")
    decoded = decode_s16(data, "flac", tmp_path)
    np.testing.assert_array_equal(decoded, to_int16_interleaved(signal))


def test_wav_is_exact_pcm_behind_a_streaming_header(tmp_path: Path) -> None:
    signal = musicish(1.0)
    encoder = create_encoder(AudioFormat.WAV)
    data = stream(encoder, signal)

    riff, riff_size, wave, data_id, data_size = struct.unpack("<4sI4s24x4sI", data[:44])
    assert (riff, wave, data_id) == (b"RIFF", b"WAVE", b"data")
    assert riff_size == data_size == 0xFFFFFFFF
    assert data[44:] == to_int16_interleaved(signal).tobytes()
    decoded = decode_s16(data, "wav", tmp_path)
    np.testing.assert_array_equal(decoded, to_int16_interleaved(signal))


def test_wav_finalize_header_states_true_sizes() -> None:
    header = WavEncoder().finalize_header(192_000)

    assert len(header) == len(wav_header(None)) == 44
    riff_size, channels, rate, byte_rate, align, bits, data_size = struct.unpack(
        "<4xI14xHIIHH4xI", header
    )
    assert (riff_size, data_size) == (192_036, 192_000)
    assert (channels, rate, byte_rate, align, bits) == (2, 48_000, 192_000, 4, 16)


@pytest.mark.parametrize("fmt", list(AudioFormat), ids=str)
def test_same_input_gives_identical_bytes_however_it_is_sliced(fmt: AudioFormat) -> None:
    signal = musicish(1.2)
    first = stream(create_encoder(fmt), signal)
    again = stream(create_encoder(fmt), signal)
    sliced = stream(create_encoder(fmt), signal, block=441)

    assert len(first) > 1000
    assert first == again
    assert first == sliced


# What the first bytes of every non-empty chunk must be, so a listener can join there.
CHUNK_STARTS: dict[AudioFormat, Callable[[bytes], bool]] = {
    AudioFormat.MP3: lambda c: c[0] == 0xFF and c[1] & 0xE0 == 0xE0,
    AudioFormat.AAC: lambda c: c[0] == 0xFF and c[1] & 0xF6 == 0xF0,
    AudioFormat.OPUS: lambda c: c[:4] == b"OggS",
    AudioFormat.VORBIS: lambda c: c[:4] == b"OggS",
    AudioFormat.FLAC: lambda c: c[0] == 0xFF and c[1] & 0xFE == 0xF8,
    AudioFormat.WAV: lambda c: len(c) % 4 == 0,
}


@pytest.mark.parametrize("fmt", list(AudioFormat), ids=str)
def test_a_listener_can_join_mid_stream(fmt: AudioFormat, tmp_path: Path) -> None:
    signal = sine(3.0)
    encoder = create_encoder(fmt)
    header, chunks, tail = encode(encoder, signal)
    ready = [i for i, chunk in enumerate(chunks) if chunk]
    assert all(CHUNK_STARTS[fmt](chunks[i]) for i in ready)

    join = ready[len(ready) // 2]
    data = header + b"".join(chunks[join:]) + tail
    decoded = decode(data, encoder.extension, tmp_path)

    fed_after_join = signal.shape[1] - join * 960
    assert decoded.shape[1] >= fed_after_join - 2048
    assert decoded.shape[1] <= signal.shape[1]
    middle = decoded[:, 4800:-4800]
    assert abs(rms_db(middle) - SINE_RMS_DB) < 1.0
    if fmt in (AudioFormat.FLAC, AudioFormat.WAV):
        exact = decode_s16(data, encoder.extension, tmp_path)
        np.testing.assert_array_equal(exact, to_int16_interleaved(signal)[-exact.size :])


def test_stream_headers_carry_what_decoders_need() -> None:
    opus = create_encoder(AudioFormat.OPUS).stream_header()
    vorbis = create_encoder(AudioFormat.VORBIS).stream_header()
    flac = create_encoder(AudioFormat.FLAC).stream_header()

    assert opus.startswith(b"OggS")
    assert b"OpusHead" in opus
    assert b"OpusTags" in opus
    assert vorbis.startswith(b"OggS")
    assert b"\x01vorbis" in vorbis  # identification header
    assert b"\x05vorbis" in vorbis  # setup header
    assert flac.startswith(b"fLaC")
    assert flac[4] & 0x7F == 0  # STREAMINFO first
    assert create_encoder(AudioFormat.MP3).stream_header() == b""
    assert create_encoder(AudioFormat.AAC).stream_header() == b""


def test_samples_are_clipped_and_nan_is_silence() -> None:
    loud = np.array([[2.0, -3.0, 0.5, np.nan], [1.0, -1.0, np.inf, -np.inf]], dtype=np.float32)
    encoder = create_encoder(AudioFormat.WAV)

    pcm = np.frombuffer(encoder.encode(loud), dtype="<i2")
    np.testing.assert_array_equal(pcm, [32767, 32767, -32767, -32767, 16384, 32767, 0, -32767])


def test_blocks_of_any_length_are_taken() -> None:
    signal = musicish(0.5)
    encoder = create_encoder(AudioFormat.AAC)
    out = [encoder.encode(signal[:, :0]), encoder.encode(signal[:, :1])]
    out += [encoder.encode(signal[:, i : i + 3000]) for i in range(1, signal.shape[1], 3000)]

    assert out[0] == b""
    assert encoder.frames_in == signal.shape[1]
    assert b"".join(out) + encoder.flush() == stream(create_encoder(AudioFormat.AAC), signal)


@pytest.mark.parametrize("fmt", list(AudioFormat), ids=str)
def test_a_stream_with_no_audio_ends_cleanly(fmt: AudioFormat) -> None:
    encoder = create_encoder(fmt)
    tail = encoder.flush()
    assert encoder.finished
    assert len(tail) < 100  # at most a trailer, never audio


def test_bad_blocks_and_ended_streams_raise_engine_errors() -> None:
    encoder = create_encoder(AudioFormat.MP3)
    with pytest.raises(EngineError, match=r"shaped \(2, frames\)"):
        encoder.encode(np.zeros(960, dtype=np.float32))
    encoder.flush()
    assert encoder.flush() == b""
    with pytest.raises(EngineError, match="already ended"):
        encoder.encode(np.zeros((2, 960), dtype=np.float32))


@pytest.mark.parametrize(
    ("fmt", "kbps", "hint"),
    [
        (AudioFormat.MP3, 7, "32, 40, 48"),
        (AudioFormat.MP3, 129, "128, 160"),
        (AudioFormat.AAC, 8, "32–320"),
        (AudioFormat.OPUS, 600, "6–510"),
        (AudioFormat.VORBIS, 1000, "32–320"),
    ],
)
def test_impossible_bitrates_name_the_valid_ones(fmt: AudioFormat, kbps: int, hint: str) -> None:
    with pytest.raises(EngineError, match=hint):
        create_encoder(fmt, kbps)


def test_mp3_quality_is_checked() -> None:
    with pytest.raises(EngineError, match=r"0 \(best\)"):
        create_encoder(AudioFormat.MP3, mp3_quality=12)
    encoder = create_encoder(AudioFormat.MP3, 192, mp3_quality=5)
    assert isinstance(encoder, Mp3Encoder)
    assert (encoder.bitrate_kbps, encoder.quality) == (192, 5)


@pytest.mark.parametrize("fmt", list(AudioFormat), ids=str)
def test_defaults_and_descriptions(fmt: AudioFormat) -> None:
    encoder = create_encoder(fmt)
    expected = {
        AudioFormat.MP3: ("audio/mpeg", "mp3"),
        AudioFormat.AAC: ("audio/aac", "aac"),
        AudioFormat.OPUS: ("audio/ogg", "opus"),
        AudioFormat.VORBIS: ("audio/ogg", "ogg"),
        AudioFormat.FLAC: ("audio/flac", "flac"),
        AudioFormat.WAV: ("audio/wav", "wav"),
    }
    assert encoder.format is fmt
    assert (encoder.content_type, encoder.extension) == expected[fmt]
    assert encoder.bitrate_kbps == DEFAULT_BITRATES[fmt]
    encoder.close()


@pytest.mark.parametrize("fmt", [AudioFormat.MP3, AudioFormat.AAC, AudioFormat.OPUS])
def test_bitrate_sets_the_size_of_the_stream(fmt: AudioFormat) -> None:
    signal = musicish(4.0)
    low, high = 64, 192
    sizes = [
        len(stream(create_encoder(fmt, kbps), signal)) * 8 / 4.0 / 1000 for kbps in (low, high)
    ]
    assert sizes[0] == pytest.approx(low, rel=0.15)
    assert sizes[1] == pytest.approx(high, rel=0.15)


def test_vorbis_bitrate_is_a_ceiling_for_its_quality_setting() -> None:
    signal = musicish(4.0)
    low = len(stream(create_encoder(AudioFormat.VORBIS, 64), signal)) * 8 / 4.0 / 1000
    high = len(stream(create_encoder(AudioFormat.VORBIS, 192), signal)) * 8 / 4.0 / 1000
    assert low < high <= 192 * 1.1


def test_mp3_frame_length_reads_headers() -> None:
    assert mp3_frame_length(bytes([0xFF, 0xFB, 0x94, 0x64])) == 384  # 128 kbps, 48 kHz
    assert mp3_frame_length(bytes([0xFF, 0xFB, 0xE4, 0x64])) == 960  # 320 kbps, 48 kHz
    assert mp3_frame_length(bytes([0xFF, 0xFB, 0x92, 0x64])) == 418  # 128 kbps, 44.1 kHz + pad
    assert mp3_frame_length(bytes([0xFF, 0xF3, 0x94, 0x64])) == 240  # MPEG-2, 80 kbps, 24 kHz
    assert mp3_frame_length(b"ID3\x04") == 0
    assert mp3_frame_length(bytes([0xFF, 0xFB, 0xF4, 0x64])) == 0  # bad bitrate index
    assert set(MP3_BITRATES) == {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}


# -- the pool ----------------------------------------------------------------------------


class CountingFactory:
    """Makes real encoders and counts how often each is asked to encode."""

    def __init__(self) -> None:
        self.made: list[Encoder] = []
        self.calls: dict[int, int] = {}

    def __call__(self, fmt: AudioFormat, kbps: int | None, *, mp3_quality: int) -> Encoder:
        encoder = create_encoder(fmt, kbps, mp3_quality=mp3_quality)
        original = encoder.encode
        self.calls[id(encoder)] = 0

        def counted(block: Block) -> bytes:
            self.calls[id(encoder)] += 1
            return original(block)

        encoder.encode = counted  # type: ignore[method-assign]
        self.made.append(encoder)
        return encoder


def test_outputs_of_one_format_and_bitrate_share_one_encoder() -> None:
    factory = CountingFactory()
    pool = EncoderPool(factory=factory)
    icecast = pool.acquire(AudioFormat.MP3, 128)
    recording = pool.acquire(AudioFormat.MP3)  # the default bitrate is the same key
    other = pool.acquire(AudioFormat.MP3, 64)

    assert icecast.encoder is recording.encoder is not other.encoder
    assert icecast.key == EncoderKey(AudioFormat.MP3, 128)
    assert str(icecast.key) == "mp3@128"
    signal = sine(1.0)
    outputs = [pool.encode(signal[:, i : i + 960]) for i in range(0, signal.shape[1], 960)]

    assert len(factory.made) == 2
    assert list(factory.calls.values()) == [50, 50]  # once per block per encoder
    assert all(set(out) == {icecast.key, other.key} for out in outputs)
    alone = stream(create_encoder(AudioFormat.MP3, 128), signal)
    shared = b"".join(out[icecast.key] for out in outputs) + pool.flush()[icecast.key]
    assert shared == alone
    assert len(pool) == 0


def test_the_last_release_closes_the_encoder() -> None:
    pool = EncoderPool()
    first = pool.acquire(AudioFormat.FLAC, 320)
    second = pool.acquire(AudioFormat.FLAC)
    assert first.key == second.key == EncoderKey(AudioFormat.FLAC, None)
    assert pool.refs(first.key) == 2

    first.release()
    first.release()  # a second release of the same handle changes nothing
    assert pool.refs(first.key) == 1
    assert not second.encoder.finished
    second.release()
    assert first.key not in pool
    assert second.encoder.finished

    again = pool.acquire(AudioFormat.FLAC)
    assert again.encoder is not second.encoder
    assert again.stream_header().startswith(b"fLaC")
    pool.close()
    assert again.encoder.finished
    assert len(pool) == 0


def test_pool_rejects_impossible_encoders_before_making_one() -> None:
    factory = CountingFactory()
    pool = EncoderPool(factory=factory, mp3_quality=9)
    with pytest.raises(EngineError, match="32, 40"):
        pool.acquire(AudioFormat.MP3, 100)
    assert factory.made == []
    handle = pool.acquire(AudioFormat.MP3)
    assert isinstance(handle.encoder, Mp3Encoder)
    assert handle.encoder.quality == 9
