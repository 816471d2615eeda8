"""Artwork thumbnails from embedded cover pictures, made with FFmpeg (no Pillow).

A cover is decoded by FFmpeg's image decoders (JPEG, PNG, WebP, GIF, BMP …)
from memory, scaled to fit a ``size`` × ``size`` square keeping its aspect,
and encoded as a baseline JPEG the web UI and players can show. Pictures
larger than 16 MiB or 64 megapixels are refused before they are decoded, so a
hostile cover cannot exhaust memory.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import av.error

from grimnir.domain.errors import LibraryError

MAX_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 64_000_000
_QUALITY = {"qmin": "2", "qmax": "4"}
"""mjpeg quantiser range: 2–4 is visually clean at thumbnail sizes."""


def thumbnail(data: bytes, size: int = 256) -> bytes:
    """A JPEG of ``data`` (an image file's bytes) fitting ``size`` × ``size``.

    Smaller pictures are not enlarged. Raises LibraryError when ``data`` is
    not an image FFmpeg can decode.
    """
    if not 16 <= size <= 4096:
        raise LibraryError(f"thumbnail size must lie in 16–4096 pixels (got {size})")
    if not data:
        raise LibraryError("artwork is empty")
    if len(data) > MAX_BYTES:
        raise LibraryError(f"artwork of {len(data) / 2**20:.1f} MiB is larger than 16 MiB")
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.video:
                raise LibraryError("artwork is not an image (FFmpeg found no picture)")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_PIXELS:
                raise LibraryError(f"artwork of {width}×{height} pixels is too large to decode")
            frame = next(container.decode(stream), None)
    except av.error.FFmpegError as err:
        reason = err.strerror or str(err)
        raise LibraryError(f"artwork is not a readable image (FFmpeg: {reason})") from err
    if frame is None or frame.width <= 0 or frame.height <= 0:
        raise LibraryError("artwork is not a readable image (FFmpeg decoded no picture)")
    scale = min(1.0, size / max(frame.width, frame.height))
    # NOTE: even sizes: yuvj420p halves chroma in both directions.
    out_w = max(2, round(frame.width * scale) // 2 * 2)
    out_h = max(2, round(frame.height * scale) // 2 * 2)
    return _encode_jpeg(frame.reformat(out_w, out_h, "yuvj420p"))


def _encode_jpeg(frame: av.VideoFrame) -> bytes:
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = frame.width, frame.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    encoder.options = dict(_QUALITY)
    frame.pts = 0
    packets = encoder.encode(frame) + encoder.encode(None)
    return b"".join(bytes(p) for p in packets)
