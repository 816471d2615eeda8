"""Pictures of the public face: a station's image and a track's cover.

A station has no uploaded image yet, so it gets one made from its name: its
initials on a colour drawn from its short name (an SVG, the same bytes every
time). A track's cover is the JPEG thumbnail the library made from the picture
embedded in its media file at ingest (``MediaItem.artwork_path``).

Both are served with a strong ``ETag`` (a hash of the bytes) and
``Cache-Control``, and answer ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
from html import escape

from starlette.requests import Request
from starlette.responses import Response

SVG = "image/svg+xml"
JPEG = "image/jpeg"
MAX_AGE_S = 86_400
"""Pictures change rarely, and their ETags make a stale copy cheap to check."""


def initials(name: str) -> str:
    """Up to two letters or digits naming the station (``WGMR FM`` → ``WF``)."""
    words = [w for w in name.split() if any(c.isalnum() for c in w)]
    letters = [next(c for c in w if c.isalnum()) for w in words[:2]]
    return "".join(letters).upper() or "?"


def station_svg(name: str, short_name: str) -> bytes:
    """A square picture of the station: its initials on its own colour."""
    digest = hashlib.sha256(short_name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
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


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def picture(request: Request, body: bytes, media_type: str) -> Response:
    """``body`` with its ETag and caching headers, or 304 when the caller has it."""
    tag = etag(body)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={MAX_AGE_S}"}
    wanted = request.headers.get("if-none-match", "")
    if tag in (t.strip() for t in wanted.split(",")) or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
