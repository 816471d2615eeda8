"""What a track is called when its tags do not say: read from its file name.

The library names an untagged file so, and the engine names the files it plays
from a folder (fallback, emergency audio) the same way, so a listener's player
and the now-playing pages show the same words for the same file.
"""

from __future__ import annotations

import re
from pathlib import PurePath

_ARTIST_TITLE = re.compile(r"^\s*(?P<artist>[^-]+?)\s+-\s+(?P<title>.+?)\s*$")
_TRACK_NUMBER = re.compile(r"^\s*\d{1,3}\s*[-._)]\s*(?=\S)")
"""A leading track number: ``01 - ``, ``07. ``, ``3_``, ``12) ``."""
MAX_LENGTH = 255


def names_from_filename(filename: str, artist: str | None = None) -> tuple[str | None, str | None]:
    """``(artist, title)`` from a file name, for a file whose tags give no title.

    ``Artist - Title.mp3`` gives both unless the tags already name the ``artist``
    (then the whole name is the title); any other name gives the title. ``_``
    reads as a space and a leading track number (``01 - ``) is dropped.
    """
    stem = _TRACK_NUMBER.sub("", PurePath(filename).stem, count=1)
    stem = stem.replace("_", " ").strip()
    found = _ARTIST_TITLE.match(stem)
    if found and not artist:
        return found["artist"][:MAX_LENGTH], found["title"][:MAX_LENGTH]
    return artist, stem[:MAX_LENGTH] or None
