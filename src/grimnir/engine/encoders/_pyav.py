"""AAC (ADTS), Opus and Vorbis (Ogg) and FLAC through PyAV's codecs and muxers.

Each encoder owns an FFmpeg muxer that writes into ``_ByteSink``, an in-memory
non-seekable file object; after each call we take what it received. With
``flush_packets`` the muxer hands over every packet or page as soon as it is
complete, so each chunk starts on an ADTS frame, Ogg page or FLAC frame.
The header written at ``start_encoding()`` (Ogg ID/comment/setup pages,
``fLaC`` + STREAMINFO) is kept as ``stream_header()``.

Audio is cut here into frames of the codec's ``frame_size`` (a block's worth
of them for Vorbis), with sample-counted pts, so the codec sees the same frames
however the caller slices its blocks and the timestamps are ours.
``bitexact`` keeps version strings and random Ogg serial numbers out of the
output: the same input gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

import av
import numpy as np
from av.audio.stream import AudioStream

from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import BLOCK, NCH, RATE, Block
from grimnir.engine.encoders._base import Encoder, clipped, pcm16_interleaved

_TIME_BASE: Final = Fraction(1, RATE)
_FF_QP2LAMBDA: Final = 118  # FFmpeg's scale for quality values ("-q:a 1" = 118)
_OGG_PAGE_MICROS: Final = 250_000  # short pages keep a stream's bytes flowing evenly

# NOTE: PyAV's FFmpeg has no libvorbis, only FFmpeg's own (experimental) Vorbis
# encoder. It ignores bit_rate and takes a quality; this maps a bitrate to the
# quality that gives it on dense, loud material (pink noise, measured with this
# encoder). Sparser music comes out lower: the bitrate is a ceiling, not a promise.
_VORBIS_KBPS_TO_QUALITY: Final = (
    (22.0, 0.2),
    (35.0, 0.4),
    (54.0, 0.6),
    (76.0, 0.8),
    (97.0, 1.0),
    (124.0, 1.3),
    (145.0, 1.6),
    (169.0, 2.0),
    (195.0, 2.5),
    (219.0, 3.0),
    (261.0, 4.0),
    (326.0, 6.0),
)


@dataclass(frozen=True, slots=True)
class _Codec:
    codec: str
    container: str
    sample_format: str  # what we hand the codec: "fltp", "flt" or "s16"
    lossless: bool = False
    options: dict[str, str] = field(default_factory=dict)


_CODECS: Final = {
    AudioFormat.AAC: _Codec("aac", "adts", "fltp"),
    # Constrained VBR keeps a stream near its nominal bitrate, as listeners' links need.
    AudioFormat.OPUS: _Codec("libopus", "ogg", "flt", options={"vbr": "constrained"}),
    AudioFormat.VORBIS: _Codec("vorbis", "ogg", "fltp", options={"strict": "experimental"}),
    AudioFormat.FLAC: _Codec("flac", "flac", "s16", lossless=True),
}

PYAV_FORMATS: Final = frozenset(_CODECS)


def vorbis_quality(bitrate_kbps: int) -> float:
    """The FFmpeg Vorbis quality expected to give about ``bitrate_kbps`` on dense material."""
    points = _VORBIS_KBPS_TO_QUALITY
    return float(np.interp(bitrate_kbps, [p[0] for p in points], [p[1] for p in points]))


class _ByteSink:
    """A write-only, non-seekable file object that collects what the muxer writes."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(data)
        return len(data)

    def take(self) -> bytes:
        if not self._chunks:
            return b""
        out = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        return out


class PyAVEncoder(Encoder):
    """AAC in ADTS, Opus or Vorbis in Ogg, or native FLAC, encoded by FFmpeg through PyAV."""

    def __init__(self, format: AudioFormat, bitrate_kbps: int | None) -> None:
        spec = _CODECS.get(format)
        if spec is None:
            raise EngineError(f"PyAV encoders cover {sorted(PYAV_FORMATS)}, not {format.value}")
        super().__init__(format, None if spec.lossless else bitrate_kbps)
        self._spec = spec
        self._sink = _ByteSink()
        try:
            self._container, self._stream = self._open(spec)
            self._container.start_encoding()
        except (av.FFmpegError, ValueError) as exc:
            raise EngineError(
                f"cannot start the {format.value} encoder ({exc}); "
                "check that the bitrate suits the format"
            ) from exc
        self._header = self._sink.take()
        self.frame_size = self._stream.codec_context.frame_size or RATE // 10
        """Samples per codec frame (AAC 1024, Opus 960, FLAC 4608, Vorbis 64)."""
        # NOTE: Vorbis frames are only 64 samples; we hand it a block's worth at a
        # time (15 frames) and let PyAV split them rather than make 15 calls.
        self._unit = self.frame_size * max(1, BLOCK // self.frame_size)
        self._pending = np.zeros((NCH, self._unit * 2), dtype=np.float32)
        self._fill = 0
        self._pts = 0

    def _open(self, spec: _Codec) -> tuple[av.container.OutputContainer, AudioStream]:
        container_options = {"flush_packets": "1", "fflags": "+bitexact"}
        if spec.container == "ogg":
            container_options["page_duration"] = str(_OGG_PAGE_MICROS)
        if spec.container == "flac":
            container_options["metadata_header_padding"] = "0"
        container = av.open(
            self._sink, "w", format=spec.container, container_options=container_options
        )
        options = {"flags": "+bitexact", **spec.options}
        if self.format is AudioFormat.VORBIS and self.bitrate_kbps is not None:
            quality = vorbis_quality(self.bitrate_kbps)
            options["flags"] += "+qscale"
            options["global_quality"] = str(round(quality * _FF_QP2LAMBDA))
        stream = container.add_stream(spec.codec, rate=RATE, options=options)
        if not isinstance(stream, AudioStream):  # pragma: no cover - PyAV contract
            raise EngineError(f"PyAV gave no audio stream for {spec.codec}")
        ctx = stream.codec_context
        ctx.layout = "stereo"
        ctx.format = spec.sample_format
        ctx.time_base = _TIME_BASE
        if self.bitrate_kbps is not None and self.format is not AudioFormat.VORBIS:
            ctx.bit_rate = self.bitrate_kbps * 1000
        return container, stream

    def stream_header(self) -> bytes:
        return self._header

    def finalize_header(self, data_bytes: int) -> bytes:
        """FLAC: the stream header with STREAMINFO's total sample count filled in,
        so players show the file's duration (a live stream leaves it unknown)."""
        del data_bytes
        header = self._header
        if self.format is not AudioFormat.FLAC or header[:4] != b"fLaC" or len(header) < 26:
            return b""
        if header[4] & 0x7F != 0:  # the first metadata block must be STREAMINFO
            return b""
        field = int.from_bytes(header[18:26], "big")
        total = min(self.frames_in, (1 << 36) - 1)
        field = (field & ~((1 << 36) - 1)) | total
        return header[:18] + field.to_bytes(8, "big") + header[26:]

    def _encode(self, block: Block) -> bytes:
        frames = block.shape[1]
        need = self._fill + frames
        if need > self._pending.shape[1]:
            grown = np.zeros((NCH, need + self._unit), dtype=np.float32)
            grown[:, : self._fill] = self._pending[:, : self._fill]
            self._pending = grown
        self._pending[:, self._fill : need] = block
        self._fill = need
        if need < self._unit:
            return b""
        whole = need - need % self._unit
        for start in range(0, whole, self._unit):
            self._send(self._pending[:, start : start + self._unit])
        rest = need - whole
        self._pending[:, :rest] = self._pending[:, whole:need]
        self._fill = rest
        return self._sink.take()

    def _flush(self) -> bytes:
        try:
            if self._fill:
                # NOTE: a short last frame is fine: FFmpeg pads it for codecs that need it.
                for start in range(0, self._fill, self.frame_size):
                    end = min(self._fill, start + self.frame_size)
                    self._send(self._pending[:, start:end])
                self._fill = 0
            # NOTE: FFmpeg's Vorbis encoder never returns from a drain when it was
            # given no audio at all, so an empty stream only gets its trailer.
            if self.frames_in:
                self._container.mux(self._stream.encode(None))
            self._container.close()
        except av.FFmpegError as exc:
            raise EngineError(f"the {self.format.value} encoder failed at the end: {exc}") from exc
        return self._sink.take()

    def close(self) -> None:
        if not self._finished:
            self._container.close()
        super().close()

    def _send(self, samples: Block) -> None:
        """Encode one frame of samples (2, n) and mux the packets it yields."""
        match self._spec.sample_format:
            case "fltp":
                frame = av.AudioFrame.from_ndarray(clipped(samples), format="fltp")
            case "flt":
                interleaved = clipped(samples).T.reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(interleaved, format="flt")
            case _:
                pcm = pcm16_interleaved(samples).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(pcm, format="s16")
        frame.sample_rate = RATE
        frame.time_base = _TIME_BASE
        frame.pts = self._pts
        self._pts += samples.shape[1]
        try:
            self._container.mux(self._stream.encode(frame))
        except av.FFmpegError as exc:
            raise EngineError(
                f"the {self.format.value} encoder failed: {exc}; restart the output"
            ) from exc
