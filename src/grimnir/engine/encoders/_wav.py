"""WAV: 16-bit PCM, stereo, 48 kHz, behind a 44-byte RIFF header.

A stream cannot know its length up front, so ``stream_header()`` carries the
sizes 0xFFFFFFFF that streaming readers (FFmpeg, sox) take as "until the end".
A file output rewrites the header with ``finalize_header()`` when it closes.
"""

from __future__ import annotations

import struct
from typing import Final

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import NCH, RATE, Block
from grimnir.engine.encoders._base import Encoder, pcm16_interleaved

_BYTES_PER_SAMPLE: Final = 2
_FRAME_BYTES: Final = NCH * _BYTES_PER_SAMPLE
_UNKNOWN: Final = 0xFFFFFFFF
_HEADER_BYTES: Final = 44
MAX_WAV_DATA_BYTES: Final = _UNKNOWN - (_HEADER_BYTES - 8)
"""The most PCM a RIFF file can describe (about 6 h 12 min at 48 kHz stereo 16-bit)."""


def wav_header(data_bytes: int | None = None) -> bytes:
    """The RIFF/WAVE header for ``data_bytes`` bytes of PCM; ``None`` for a stream.

    Longer data than a RIFF size can hold is declared as the maximum.
    """
    if data_bytes is None:
        riff_size = data_size = _UNKNOWN
    else:
        data_size = max(0, min(data_bytes, MAX_WAV_DATA_BYTES))
        data_size -= data_size % _FRAME_BYTES
        riff_size = data_size + _HEADER_BYTES - 8
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        riff_size,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        NCH,
        RATE,
        RATE * _FRAME_BYTES,  # byte rate
        _FRAME_BYTES,  # block align
        8 * _BYTES_PER_SAMPLE,
        b"data",
        data_size,
    )


class WavEncoder(Encoder):
    """Uncompressed 16-bit PCM; every chunk is whole frames, so it can be cut anywhere."""

    def __init__(self) -> None:
        super().__init__(AudioFormat.WAV, None)

    def stream_header(self) -> bytes:
        return wav_header(None)

    def finalize_header(self, data_bytes: int) -> bytes:
        return wav_header(data_bytes)

    def _encode(self, block: Block) -> bytes:
        return pcm16_interleaved(block).astype("<i2", copy=False).tobytes()

    def _flush(self) -> bytes:
        return b""
