"""Encoders: the master bus as MP3, AAC, Opus, Vorbis, FLAC or WAV bytes.

``create_encoder`` makes one; ``EncoderPool`` shares one per format and
bitrate between every output that needs it.
"""

from grimnir.domain.catalog import MP3_BITRATES
from grimnir.engine.encoders._base import CONTENT_TYPES, EXTENSIONS, Encoder
from grimnir.engine.encoders._factory import (
    DEFAULT_BITRATES,
    MP3_QUALITIES,
    create_encoder,
    normalize_bitrate,
)
from grimnir.engine.encoders._mp3 import Mp3Encoder, mp3_frame_length
from grimnir.engine.encoders._pool import EncoderHandle, EncoderKey, EncoderPool
from grimnir.engine.encoders._pyav import PyAVEncoder
from grimnir.engine.encoders._wav import MAX_WAV_DATA_BYTES, WavEncoder, wav_header

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_BITRATES",
    "EXTENSIONS",
    "MAX_WAV_DATA_BYTES",
    "MP3_BITRATES",
    "MP3_QUALITIES",
    "Encoder",
    "EncoderHandle",
    "EncoderKey",
    "EncoderPool",
    "Mp3Encoder",
    "PyAVEncoder",
    "WavEncoder",
    "create_encoder",
    "mp3_frame_length",
    "normalize_bitrate",
    "wav_header",
]
