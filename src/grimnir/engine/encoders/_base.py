"""The encoder interface: engine blocks in, complete encoded bytes out.

An encoder turns the master bus (48 kHz stereo float32 blocks of any length)
into one continuous encoded stream. The stream a consumer sees from the start
is ``stream_header()`` followed by every ``encode()`` result and finally
``flush()``; ``encode()`` and ``flush()`` never repeat the header, so a file or
listener that joins later gets ``stream_header()`` and then the next chunk.

Every non-empty chunk begins on a frame or page boundary (MP3 and ADTS frames,
Ogg pages, FLAC frames, whole PCM frames), so that joining mid-stream works.
"""

from __future__ import annotations

import abc

import numpy as np
import numpy.typing as npt

from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import NCH, RATE, Block

CONTENT_TYPES: dict[AudioFormat, str] = {
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.AAC: "audio/aac",
    AudioFormat.OPUS: "audio/ogg",
    AudioFormat.VORBIS: "audio/ogg",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.WAV: "audio/wav",
}

EXTENSIONS: dict[AudioFormat, str] = {
    AudioFormat.MP3: "mp3",
    AudioFormat.AAC: "aac",
    AudioFormat.OPUS: "opus",
    AudioFormat.VORBIS: "ogg",
    AudioFormat.FLAC: "flac",
    AudioFormat.WAV: "wav",
}


def clipped(block: Block) -> Block:
    """A copy of ``block`` limited to ±1.0, with NaN as silence (codecs need sane input)."""
    out = np.clip(block, -1.0, 1.0)
    # NOTE: NaN survives clip; summing first is a cheap test for the rare case.
    if np.isnan(out.sum()):
        np.nan_to_num(out, copy=False, nan=0.0)
    return out


def pcm16_interleaved(block: Block) -> npt.NDArray[np.int16]:
    """``block`` clipped to ±1.0 as interleaved 16-bit PCM (L R L R …), 32767 = full scale.

    The same values as ``audio.to_int16_interleaved``, and NaN becomes 0.
    """
    scaled = clipped(block)
    scaled *= 32767.0
    np.rint(scaled, out=scaled)
    pcm: npt.NDArray[np.int16] = scaled.T.astype(np.int16)
    return pcm.reshape(-1)


class Encoder(abc.ABC):
    """One encoded stream of the master bus.

    Subclasses set ``format``, ``bitrate_kbps`` (``None`` for lossless),
    ``content_type`` (the HTTP/Icecast ``Content-Type``) and ``extension``
    (for file names), and implement ``_encode`` and ``_flush``. Encoders keep
    their state across calls and are used from one thread (the block loop).
    """

    def __init__(self, format: AudioFormat, bitrate_kbps: int | None) -> None:
        self.format = format
        self.bitrate_kbps = bitrate_kbps
        self.content_type = CONTENT_TYPES[self.format]
        self.extension = EXTENSIONS[self.format]
        self.frames_in = 0
        """Frames of audio accepted so far."""
        self._finished = False

    def __repr__(self) -> str:
        rate = "lossless" if self.bitrate_kbps is None else f"{self.bitrate_kbps} kbps"
        return f"<{type(self).__name__} {self.format.value} {rate}>"

    @property
    def finished(self) -> bool:
        """True after ``flush()`` or ``close()``: the stream has ended."""
        return self._finished

    def encode(self, block: Block) -> bytes:
        """Encode ``block`` (shape (2, n), any n ≥ 0); returns the encoded bytes ready now.

        Codecs work in frames of their own size, so the result may be empty
        and the rest of the audio comes out with later calls or ``flush()``.
        """
        if self._finished:
            raise EngineError(
                f"the {self.format.value} encoder has already ended its stream; "
                "create a new encoder to start another"
            )
        if block.ndim != 2 or block.shape[0] != NCH:
            raise EngineError(
                f"encoders take blocks shaped ({NCH}, frames) at {RATE} Hz, "
                f"got an array shaped {block.shape}; pass the master bus block as it is"
            )
        frames = int(block.shape[1])
        if frames == 0:
            return b""
        self.frames_in += frames
        return self._encode(np.asarray(block, dtype=np.float32))

    def flush(self) -> bytes:
        """End the stream: the remaining bytes, trailers included. Later calls return b""."""
        if self._finished:
            return b""
        self._finished = True
        return self._flush()

    def stream_header(self) -> bytes:
        """Bytes a decoder needs before any chunk of this stream (b"" when none)."""
        return b""

    def finalize_header(self, data_bytes: int) -> bytes:
        """The header to write over the start of a finished file holding
        ``data_bytes`` bytes after ``stream_header()``; b"" when nothing needs it."""
        del data_bytes
        return b""

    def close(self) -> None:
        """Release the codec without writing a trailer (for an abandoned stream)."""
        self._finished = True

    @abc.abstractmethod
    def _encode(self, block: Block) -> bytes:
        """Encode a non-empty (2, n) float32 block (not yet clipped)."""

    @abc.abstractmethod
    def _flush(self) -> bytes:
        """Drain the codec and write any trailer; called once."""
