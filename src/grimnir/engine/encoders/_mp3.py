"""MP3 through lameenc (LAME): CBR, 48 kHz stereo.

lameenc is used rather than PyAV's bundled LAME because it ran 57× realtime at
quality 2 against 17× (see ARCHITECTURE.md). LAME hands out bytes as its bit
reservoir allows, not in whole frames, so ``Mp3FrameSplitter`` holds back the
tail of an incomplete frame: every chunk we return starts on a frame header,
which lets a listener join at any chunk.
"""

from __future__ import annotations

from typing import Final

import lameenc

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import NCH, RATE, Block
from grimnir.engine.encoders._base import Encoder, pcm16_interleaved

"""MPEG-1 Layer III bitrates (kbps) valid at 48 kHz."""

SAMPLES_PER_FRAME: Final = 1152

# Bitrate tables (kbps) by MPEG version: index 0 = free format, 15 = invalid.
_BITRATES_V1: Final = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_BITRATES_V2: Final = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0)
_RATES: Final = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frame_length(header: bytes | bytearray | memoryview) -> int:
    """Length in bytes of the Layer III frame whose 4-byte header is given, or 0 if invalid."""
    if len(header) < 4 or header[0] != 0xFF or (header[1] & 0xE0) != 0xE0:
        return 0
    version = (header[1] >> 3) & 0x3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    layer = (header[1] >> 1) & 0x3  # 1 = Layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0x3
    if version == 1 or layer != 1 or rate_index == 3:
        return 0
    table = _BITRATES_V1 if version == 3 else _BITRATES_V2
    kbps = table[bitrate_index]
    if kbps == 0:
        return 0
    rate = _RATES[version][rate_index]
    padding = (header[2] >> 1) & 0x1
    coefficient = 144 if version == 3 else 72
    return coefficient * kbps * 1000 // rate + padding


class Mp3FrameSplitter:
    """Re-cuts a byte stream of MP3 frames so each returned chunk holds whole frames."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def push(self, data: bytes | bytearray) -> bytes:
        """Add ``data``; return the whole frames now complete (possibly b"")."""
        self._pending += data
        pending = self._pending
        end = 0
        while end + 4 <= len(pending):
            length = mp3_frame_length(pending[end : end + 4])
            if length == 0:
                # NOTE: LAME only writes valid frames; should that ever change, pass
                # the bytes on untouched rather than lose audio.
                end = len(pending)
                break
            if end + length > len(pending):
                break
            end += length
        if end == 0:
            return b""
        out = bytes(pending[:end])
        del pending[:end]
        return out

    def rest(self) -> bytes:
        """Whatever is held back (a stream's final bytes)."""
        out = bytes(self._pending)
        self._pending.clear()
        return out


class Mp3Encoder(Encoder):
    """Constant-bitrate MP3 (MPEG-1 Layer III, 48 kHz, joint stereo) via lameenc."""

    def __init__(self, bitrate_kbps: int = 128, quality: int = 2) -> None:
        super().__init__(AudioFormat.MP3, bitrate_kbps)
        self.quality = quality
        self._lame = lameenc.Encoder()
        self._lame.set_bit_rate(bitrate_kbps)
        self._lame.set_in_sample_rate(RATE)
        self._lame.set_out_sample_rate(RATE)  # NOTE: LAME would resample low bitrates
        self._lame.set_channels(NCH)
        self._lame.set_quality(quality)
        self._frames = Mp3FrameSplitter()

    def _encode(self, block: Block) -> bytes:
        data: bytearray = self._lame.encode(pcm16_interleaved(block).tobytes())
        return self._frames.push(data) if data else b""

    def _flush(self) -> bytes:
        if self.frames_in == 0:
            return b""  # NOTE: lameenc refuses to flush a stream that never started
        tail: bytearray = self._lame.flush()
        return self._frames.push(tail) + self._frames.rest()
