"""Decode a file once, at its own rate, into float32 chunks for analysis.

The analyser needs every sample exactly once and in order, nothing more: no
seeking, no 48 kHz conversion (loudness and peaks are measured at the file's
own rate, which is faster and changes nothing). Frames are gathered into
chunks of whole analysis hops so the measuring code works on large arrays and
the Python cost per MP3 frame stays a few microseconds.

FFmpeg states are translated here: opening errors, a missing audio stream and
corrupt packets become :class:`LibraryError` reasons or warnings; what shows
there is no audio at all raises :class:`NoAudioError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.codec.context import ThreadType

from grimnir.domain.errors import LibraryError
from grimnir.library._errors import NoAudioError

Chunk = npt.NDArray[np.float32]
"""Audio as float32 shaped (channels, frames), full scale ±1.0."""

_FORMAT_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "matroska"}
_SCALE = {"s16": 1.0 / 32768.0, "s32": 1.0 / 2147483648.0}
_MAX_BAD_RUN = 100
"""Corrupt packets in a row we skip before calling the rest of the file lost."""
_SLACK = 1 << 16
"""Room past a chunk's end for the frame that crosses it (FLAC blocks reach 65535)."""
_MAX_FRAME_BYTES = {"mp3": 1441}
"""The largest frame a codec can have (MPEG layer III: 320 kbit/s at 32 kHz, padded).
A packet larger than this carries data the decoder skips without a word."""


@dataclass
class StreamInfo:
    """What the container says about the audio (before decoding)."""

    format: str
    codec: str
    sample_rate_hz: int
    channels: int
    bitrate_kbps: int | None
    header_duration_s: float | None


@dataclass
class DecodeStats:
    """How decoding went: packets seen and lost, and the first error met.

    ``junk_bytes`` counts bytes FFmpeg took into packets but cannot be audio
    (MP3 resyncing silently past damaged data: the garbage rides along in
    oversized packets and the decoder drops it), of ``packet_bytes`` in all.
    """

    packets: int = 0
    bad_packets: int = 0
    packet_bytes: int = 0
    junk_bytes: int = 0
    first_error: str | None = None
    ended_early: str | None = None
    warnings: list[str] = field(default_factory=list)


def readable(err: Exception) -> str:
    """FFmpeg's message without the errno noise: 'Invalid data found when processing input'."""
    if isinstance(err, av.error.FFmpegError) and err.strerror:
        return str(err.strerror)
    return str(err) or type(err).__name__


def open_audio(path: Path) -> av.container.InputContainer:
    """Open ``path`` for decoding, or raise LibraryError saying why it cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise LibraryError(f"cannot read the file: {err.strerror or err}") from err
    if size == 0:
        raise NoAudioError("empty file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as err:
        raise NoAudioError(
            f"not an audio file, or its header is corrupt or truncated (FFmpeg: {readable(err)})"
        ) from err
    except (av.error.FFmpegError, OSError) as err:
        raise LibraryError(f"cannot open the file (FFmpeg: {readable(err)})") from err
    if not container.streams.audio:
        container.close()
        raise NoAudioError("not an audio file (FFmpeg found no audio stream)")
    return container


def stream_info(container: av.container.InputContainer, size_bytes: int) -> StreamInfo:
    """The first audio stream's format, codec, rate, channels and bit rate."""
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None or ctx.codec is None:
        raise NoAudioError(
            "not an audio file, or its header is corrupt (FFmpeg found no decoder for its audio)"
        )
    header_s: float | None = None
    if stream.duration and stream.time_base:
        header_s = float(stream.duration * stream.time_base)
    elif container.duration:
        header_s = container.duration / 1_000_000
    bit_rate = ctx.bit_rate or stream.bit_rate or container.bit_rate
    if not bit_rate and header_s:
        bit_rate = int(size_bytes * 8 / header_s)
    name = container.format.name
    return StreamInfo(
        format=_FORMAT_NAMES.get(name, name.split(",")[0])[:32],
        codec=ctx.codec.canonical_name,
        sample_rate_hz=int(ctx.sample_rate or 0),
        channels=int(ctx.channels or 0),
        bitrate_kbps=round(bit_rate / 1000) if bit_rate else None,
        header_duration_s=header_s,
    )


def to_planar(frame: av.AudioFrame) -> Chunk:
    """A decoded frame as float32 (channels, n), for the sample formats decoders emit."""
    name = frame.format.name
    arr = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        arr = arr.reshape(-1, channels).T
    base = name.rstrip("p")
    if base == "flt":
        return np.asarray(arr, dtype=np.float32)
    if base in _SCALE:
        return arr.astype(np.float32) * np.float32(_SCALE[base])
    if base == "u8":
        return (arr.astype(np.float32) - np.float32(128.0)) / np.float32(128.0)
    return arr.astype(np.float32)


class ChunkReader:
    """Decodes the first audio stream into chunks of whole ``hop``-frame steps.

    ``rate``/``channels`` are what the chunks carry: the file's own, unless
    the caller asks for a conversion (more than two channels, a rate with no
    whole number of frames per hop, or a stream that changes format midway).
    Corrupt packets are skipped and counted in ``stats``; decoding stops with
    ``stats.ended_early`` set when the file ends in an unreadable state.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        rate: int,
        channels: int,
        hop: int,
        chunk_hops: int,
        convert: bool,
    ) -> None:
        self._container = container
        self._stream = container.streams.audio[0]
        self._stream.codec_context.thread_type = ThreadType.AUTO
        self.rate, self.channels, self._hop = rate, channels, hop
        self._chunk = hop * chunk_hops
        layout = "mono" if channels == 1 else "stereo"
        self._resampler: av.AudioResampler | None = None
        self._layout = layout
        self._convert = convert
        self._bad_run = 0
        codec = self._stream.codec_context.codec
        self._max_frame = _MAX_FRAME_BYTES.get(codec.canonical_name if codec else "")
        self.stats = DecodeStats()

    def _converter(self) -> av.AudioResampler:
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self.rate)
        return self._resampler

    def _packets(self) -> Iterator[av.Packet[AudioStream]]:
        """Demuxed packets; a read error ends the stream with ``stats.ended_early`` set."""
        packets = self._container.demux(self._stream)
        while True:
            try:
                yield next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as err:
                self.stats.ended_early = readable(err)
                return

    def _decode(self, packet: av.Packet[AudioStream]) -> list[av.AudioFrame]:
        """The packet's frames; a corrupt packet is counted and yields none."""
        stats = self.stats
        flush = packet.size == 0
        if not flush:
            stats.packets += 1
            stats.packet_bytes += packet.size
            if self._max_frame is not None and packet.size > self._max_frame:
                stats.junk_bytes += packet.size - self._max_frame
        try:
            frames: list[av.AudioFrame] = packet.decode()
        except av.error.FFmpegError as err:
            stats.first_error = stats.first_error or readable(err)
            if not flush:
                stats.bad_packets += 1
                self._bad_run += 1
                if self._bad_run > _MAX_BAD_RUN:
                    stats.ended_early = stats.first_error
            return []
        self._bad_run = 0
        if self._convert:
            return (
                self._converter().resample(frames[0])
                if len(frames) == 1
                else [out for frame in frames for out in self._converter().resample(frame)]
            )
        return frames

    def chunks(self, max_frames: int) -> Iterator[Chunk]:
        """Chunks of whole hops (the last may end with a partial hop).

        Each chunk is a view of a reused buffer, valid until the next one is
        asked for. Raises LibraryError once more than ``max_frames`` decoded.
        """
        ch, hop, target = self.channels, self._hop, self._chunk
        buf = np.empty((ch, target + _SLACK), dtype=np.float32)
        pos = total = 0
        self._bad_run = 0
        for packet in self._packets():
            for frame in self._decode(packet):
                n = frame.samples
                if frame.sample_rate != self.rate or len(frame.layout.channels) != ch:
                    self._convert = True  # the stream changed format midway
                    for out in self._converter().resample(frame):
                        pos, buf = _put(buf, pos, to_planar(out))
                elif frame.format.name == "fltp":
                    if pos + n > buf.shape[1]:
                        buf = _grow(buf, pos + n)
                    planes = frame.planes
                    for c in range(ch):
                        buf[c, pos : pos + n] = np.frombuffer(memoryview(planes[c]), np.float32, n)
                    pos += n
                else:
                    pos, buf = _put(buf, pos, to_planar(frame))
                total += n
                if total > max_frames:
                    raise LibraryError(
                        f"too long: more than {max_frames / self.rate / 3600:.1f} h of audio; "
                        "split the file or raise the analysis max_seconds"
                    )
                if pos >= target:
                    keep = pos - pos % hop
                    yield buf[:, :keep]
                    buf[:, : pos - keep] = buf[:, keep:pos]
                    pos -= keep
            if self.stats.ended_early:
                break
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                pos, buf = _put(buf, pos, to_planar(out))
        if pos:
            yield buf[:, :pos]


def _grow(buf: Chunk, need: int) -> Chunk:
    bigger = np.empty((buf.shape[0], need + _SLACK), dtype=np.float32)
    bigger[:, : buf.shape[1]] = buf
    return bigger


def _put(buf: Chunk, pos: int, data: Chunk) -> tuple[int, Chunk]:
    n = data.shape[1]
    if pos + n > buf.shape[1]:
        buf = _grow(buf, pos + n)
    buf[:, pos : pos + n] = data
    return pos + n, buf
