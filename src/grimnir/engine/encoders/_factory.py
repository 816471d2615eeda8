"""Choosing and checking an encoder for a format and bitrate."""

from __future__ import annotations

from typing import Final

from grimnir.domain.catalog import MP3_BITRATES, AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.encoders._base import Encoder
from grimnir.engine.encoders._mp3 import Mp3Encoder
from grimnir.engine.encoders._pyav import PyAVEncoder
from grimnir.engine.encoders._wav import WavEncoder

DEFAULT_BITRATES: Final[dict[AudioFormat, int | None]] = {
    AudioFormat.MP3: 128,
    AudioFormat.AAC: 128,
    AudioFormat.OPUS: 96,
    AudioFormat.VORBIS: 128,
    AudioFormat.FLAC: None,
    AudioFormat.WAV: None,
}

# Inclusive kbps ranges for the formats that take any bitrate in between.
_BITRATE_RANGES: Final = {
    AudioFormat.AAC: (32, 320),
    AudioFormat.OPUS: (6, 510),  # RFC 6716's range for stereo
    AudioFormat.VORBIS: (32, 320),
}

MP3_QUALITIES: Final = range(10)
"""LAME's quality scale: 0 best and slowest … 9 worst and fastest."""


def normalize_bitrate(format: AudioFormat, bitrate_kbps: int | None) -> int | None:
    """The bitrate an encoder of ``format`` will use: the default for ``None``,
    ``None`` for lossless formats; ``EngineError`` naming the valid values otherwise."""
    default = DEFAULT_BITRATES[format]
    if default is None:
        return None  # lossless: a bitrate means nothing here, so it is ignored
    if bitrate_kbps is None:
        return default
    if isinstance(bitrate_kbps, bool) or not isinstance(bitrate_kbps, int):
        raise EngineError(f"{format.value} bitrate must be whole kbps, got {bitrate_kbps!r}")
    if format is AudioFormat.MP3:
        if bitrate_kbps not in MP3_BITRATES:
            valid = ", ".join(str(b) for b in MP3_BITRATES)
            raise EngineError(
                f"MP3 cannot be encoded at {bitrate_kbps} kbps at 48 kHz; "
                f"choose one of {valid} kbps"
            )
        return bitrate_kbps
    low, high = _BITRATE_RANGES[format]
    if not low <= bitrate_kbps <= high:
        raise EngineError(
            f"{format.value} bitrate {bitrate_kbps} kbps is out of range; "
            f"choose {low}–{high} kbps (default {default})"
        )
    return bitrate_kbps


def create_encoder(
    format: AudioFormat, bitrate_kbps: int | None = None, *, mp3_quality: int = 2
) -> Encoder:
    """A new encoder for ``format`` at ``bitrate_kbps`` (``None``: the format's default).

    ``mp3_quality`` is LAME's 0–9 quality (2 is near-best and still fast).
    Raises ``EngineError`` naming the valid values for an impossible combination.
    """
    try:
        format = AudioFormat(format)
    except ValueError:
        valid = ", ".join(f.value for f in AudioFormat)
        raise EngineError(f"unknown audio format {format!r}; choose one of {valid}") from None
    bitrate = normalize_bitrate(format, bitrate_kbps)
    match format:
        case AudioFormat.MP3:
            if mp3_quality not in MP3_QUALITIES or isinstance(mp3_quality, bool):
                raise EngineError(
                    f"MP3 quality must be 0 (best) … 9 (fastest), got {mp3_quality!r}"
                )
            return Mp3Encoder(bitrate if bitrate is not None else 128, mp3_quality)
        case AudioFormat.WAV:
            return WavEncoder()
        case _:
            return PyAVEncoder(format, bitrate)
