"""Work the ingest hands to pool workers, and what comes back.

Tags are read in a worker, not in the control plane: mutagen and the image
decoder behind the artwork thumbnail meet the same untrusted bytes as the
audio decoder, and a file that makes them hang or crash must cost a worker,
never the scan.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_THUMBNAIL_PX = 256
MAX_TAG_CHARS = 64 * 1024
"""Longest tag value accepted (lyrics fit; a 5 MB "comment" is damage or abuse)."""
# NOTE: tags.read_tags clips long values to the column sizes and says so in a
# warning; the clipped length is how we learn how long the value really was.
_CLIPPED = re.compile(r"tag '(?P<name>[^']*)' clipped from (?P<length>\d+) to \d+ characters")


@dataclass(frozen=True, slots=True)
class FileTags:
    """The tag columns of ``MediaItem`` read from a file, its custom tags and
    artwork thumbnail (JPEG), and what went wrong on the way."""

    columns: dict[str, Any]
    custom: dict[str, Any]
    thumbnail: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    oversize: str | None = None


def read_file_tags(path: str) -> FileTags:
    """Tags and artwork thumbnail of ``path`` (runs in a pool worker)."""
    from grimnir.library.tags import read_tags

    info = read_tags(Path(path))
    values = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    artwork = values.pop("artwork", None)
    values.pop("artwork_mime", None)
    custom = values.pop("custom", None) or {}
    warnings = list(values.pop("warnings", None) or [])
    thumb: bytes | None = None
    if artwork:
        try:
            from grimnir.library.artwork import thumbnail

            thumb = thumbnail(artwork, _THUMBNAIL_PX)
        except Exception as e:  # a broken picture must not sink the track
            warnings.append(f"the embedded artwork could not be read: {e}")
    return FileTags(values, dict(custom), thumb, warnings, _oversize(warnings))


def _oversize(warnings: list[str]) -> str | None:
    for warning in warnings:
        found = _CLIPPED.search(warning)
        if found and int(found["length"]) > MAX_TAG_CHARS:
            return (
                f"oversize tags: {found['name']!r} holds {int(found['length']):,} characters "
                f"(limit {MAX_TAG_CHARS:,}); the tags are damaged or stuffed: clean them with "
                "a tag editor and scan again"
            )
    return None
