"""thumbnail(): real images decoded and re-encoded by FFmpeg."""

from __future__ import annotations

import av
import numpy as np
import pytest
from av.video.codeccontext import VideoCodecContext

from grimnir.domain.errors import LibraryError
from grimnir.library import thumbnail


def _image(codec: str, width: int, height: int, pix_fmt: str) -> bytes:
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:, : width // 2] = (255, 0, 0)  # left half red, right half blue
    rgb[:, width // 2 :] = (0, 0, 255)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
    ctx = av.CodecContext.create(codec, "w")
    assert isinstance(ctx, VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = width, height, pix_fmt
    ctx.time_base = __import__("fractions").Fraction(1, 1)
    frame.pts = 0
    return b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))


def _decode(jpeg: bytes) -> av.VideoFrame:
    import io

    with av.open(io.BytesIO(jpeg), "r") as c:
        assert c.streams.video[0].codec_context.name == "mjpeg"
        return next(c.decode(video=0))


@pytest.mark.parametrize(
    ("codec", "pix_fmt"), [("png", "rgb24"), ("mjpeg", "yuvj420p"), ("bmp", "bgr24")]
)
def test_thumbnail_keeps_aspect_and_colours(codec: str, pix_fmt: str) -> None:
    out = thumbnail(_image(codec, 800, 400, pix_fmt), 256)
    assert out[:3] == b"\xff\xd8\xff"
    frame = _decode(out)
    assert (frame.width, frame.height) == (256, 128)
    rgb = frame.to_ndarray(format="rgb24").astype(int)
    assert rgb[64, 32, 0] > 200 > rgb[64, 32, 2]  # still red on the left
    assert rgb[64, 224, 2] > 200 > rgb[64, 224, 0]  # and blue on the right


def test_small_pictures_are_not_enlarged() -> None:
    frame = _decode(thumbnail(_image("png", 100, 150, "rgb24"), 256))
    assert (frame.width, frame.height) == (100, 150)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "artwork is empty"),
        (b"this is not a picture" * 10, "not a readable image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "not a readable image"),
    ],
)
def test_bad_images_raise(data: bytes, reason: str) -> None:
    with pytest.raises(LibraryError, match=reason):
        thumbnail(data)


def test_oversize_picture_refused_before_decoding() -> None:
    with pytest.raises(LibraryError, match="larger than 16 MiB"):
        thumbnail(b"\xff\xd8" + bytes(17 * 2**20))
