"""Pictures of the public face: a station's image and a track's cover.

A station has no uploaded image yet, so it gets one made from its name: its
initials on a colour drawn from its short name (an SVG, the same bytes every
time), or for players that do not ask for SVG (apps, car radios, widgets
decoding bitmaps only) a PNG of the same colour with a broadcast sign. A
track's cover is the JPEG thumbnail the library made from the picture embedded
in its media file at ingest (``MediaItem.artwork_path``).

Both are served with a strong ``ETag`` (a hash of the bytes) and
``Cache-Control``, and answer ``If-None-Match`` with 304.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
from html import escape

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

SVG = "image/svg+xml"
PNG = "image/png"
JPEG = "image/jpeg"
PNG_SIZE = 600
MAX_AGE_S = 86_400
"""Pictures change rarely, and their ETags make a stale copy cheap to check."""


def initials(name: str) -> str:
    """Up to two letters or digits naming the station (``WGMR FM`` → ``WF``)."""
    words = [w for w in name.split() if any(c.isalnum() for c in w)]
    letters = [next(c for c in w if c.isalnum()) for w in words[:2]]
    return "".join(letters).upper() or "?"


def _hue(short_name: str) -> int:
    digest = hashlib.sha256(short_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:2], "big") % 360


def station_svg(name: str, short_name: str) -> bytes:
    """A square picture of the station: its initials on its own colour."""
    hue = _hue(short_name)
    text = escape(initials(name))
    label = escape(name)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" '
        f'viewBox="0 0 600 600" role="img" aria-label="{label}">'
        f'<rect width="600" height="600" fill="hsl({hue},45%,32%)"/>'
        '<text x="300" y="300" dy=".35em" text-anchor="middle" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-weight="bold" '
        f'font-size="{260 if len(text) < 2 else 220}" fill="#fff">{text}</text>'
        "</svg>"
    ).encode()


@functools.lru_cache(maxsize=64)
def station_png(short_name: str) -> bytes:
    """The station's colour (as in its SVG) with a white broadcast sign, ``((•))``,
    as a PNG ``PNG_SIZE`` pixels square (the same bytes every time)."""
    import av  # NOTE: here, not at import: the API answers most requests without it

    r, g, b = colorsys.hls_to_rgb(_hue(short_name) / 360, 0.32, 0.45)
    size = PNG_SIZE
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = x - size / 2, y - size / 2
    radius = np.hypot(dx, dy)
    # coverage 0..1 of each pixel, from its distance to the sign's edges (smooth edges)
    dot = np.clip(size * 0.06 - radius + 0.5, 0.0, 1.0)
    sideways = np.clip(np.abs(dx) * 0.6 - np.abs(dy) + 0.5, 0.0, 1.0)  # left and right
    arcs = np.zeros_like(radius)
    for ring in (0.17, 0.27, 0.37):
        edge = size * 0.025 - np.abs(radius - size * ring) + 0.5
        arcs = np.maximum(arcs, np.clip(edge, 0.0, 1.0) * sideways)
    white = np.maximum(dot, arcs)[..., None]
    background = np.array([r, g, b], dtype=np.float32) * 255
    pixels = (background * (1 - white) + 255 * white).round().astype(np.uint8)
    codec = av.CodecContext.create("png", "w")
    codec.width = codec.height = size
    codec.pix_fmt = "rgb24"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def picture(request: Request, body: bytes, media_type: str, *, vary: str | None = None) -> Response:
    """``body`` with its ETag and caching headers, or 304 when the caller has it."""
    tag = etag(body)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={MAX_AGE_S}"}
    if vary:
        headers["Vary"] = vary
    wanted = request.headers.get("if-none-match", "")
    if tag in (t.strip() for t in wanted.split(",")) or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def wants_svg(request: Request) -> bool:
    """Whether the caller takes SVG (browsers say so in ``Accept``; many apps do not)."""
    return SVG in request.headers.get("accept", "")
