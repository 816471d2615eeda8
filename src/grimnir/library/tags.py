"""Tags of a library file, read with mutagen, cleaned up for the database.

Stations inherit files tagged by every tool of the last thirty years, so
reading is forgiving: every format's fields (ID3, MP4 atoms, Vorbis comments,
FLAC pictures, APEv2, WAV's ID3 chunk and RIFF INFO list) map onto one
:class:`TagInfo`; text is trimmed and clipped to the column sizes of
``MediaItem``; UTF-8 text that an old tagger stored as Latin-1 ("BeyoncÃ©")
and Windows-1252 punctuation in Latin-1 frames are repaired; numbers are read
leniently ("2003-05-01" → 2003, "7/12" → 7, "128.0 BPM" → 128.0); fields we
have no column for are kept in ``custom``. Tags are optional: a file whose tags
cannot be read yields an empty :class:`TagInfo` and a warning, never an error
(whether the file is usable is the audio analysis's decision).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import mutagen
from mutagen.id3 import ID3
from mutagen.mp4 import MP4Tags

from grimnir.library._tagformats import (
    MAX_ARTWORK,
    EmbeddedPicture,
    Pair,
    flac_pictures,
    id3_pairs,
    mp4_pairs,
    riff_info,
    vorbis_pairs,
)

TEXT_LIMITS = {
    "title": 255,
    "artist": 255,
    "album": 255,
    "album_artist": 255,
    "genre": 128,
    "mood": 128,
    "isrc": 16,
    "label": 255,
    "composer": 255,
    "language": 32,
    "comment": 4096,
}
"""Characters kept per field: the column sizes of ``store/models/media.py``
(``comment`` is TEXT there; 4 KiB is plenty for a note and stops a 1 MB blob)."""
MAX_CUSTOM = 100
"""Custom fields kept per file; values are clipped to ``MAX_CUSTOM_VALUE`` characters."""
MAX_CUSTOM_VALUE = 1024

_ALIASES = {
    "albumartist": "album_artist",
    "album_artist": "album_artist",
    "organization": "label",
    "publisher": "label",
    "description": "comment",
    "year": "date",
    "track": "tracknumber",
    "disc": "discnumber",
    "itunesadvisory": "explicit",
    "tempo": "bpm",
}
_FIELDS = {"title", "artist", "album", "genre", "mood", "isrc", "label", "composer"}
_FIELDS |= {"language", "comment", "date", "bpm", "tracknumber", "discnumber", "explicit"}
_FIELDS |= {f"replaygain_{w}_{m}" for w in ("track", "album") for m in ("gain", "peak")}
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_YEAR = re.compile(r"(?<!\d)([12]\d{3})(?!\d)")
_C1 = re.compile("[\x80-\x9f]")
_T = TypeVar("_T")


@dataclass
class TagInfo:
    """A file's tags in ``MediaItem`` terms; every field is optional.

    ``custom`` holds every other text field under a normalised key
    (``initial_key``, ``tenc``, ``musicbrainz_trackid`` …). ``artwork`` is the
    front cover (else the first picture) if it is at most 16 MiB.
    ``warnings`` says what was unreadable, clipped or ignored.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    genre: str | None = None
    mood: str | None = None
    year: int | None = None
    bpm: float | None = None
    isrc: str | None = None
    label: str | None = None
    composer: str | None = None
    language: str | None = None
    track_number: int | None = None
    disc_number: int | None = None
    explicit: bool = False
    comment: str | None = None
    replaygain_track_gain_db: float | None = None
    replaygain_track_peak: float | None = None
    replaygain_album_gain_db: float | None = None
    replaygain_album_peak: float | None = None
    custom: dict[str, str] = field(default_factory=dict)
    artwork: bytes | None = None
    artwork_mime: str | None = None
    warnings: list[str] = field(default_factory=list)


def read_tags(path: Path) -> TagInfo:
    """Read ``path``'s tags; never raises for bad or missing tags (see ``warnings``)."""
    info = TagInfo()
    sources: list[list[Pair]] = []
    pictures: list[EmbeddedPicture] = []
    try:
        audio = mutagen.File(path)
    except Exception as err:  # mutagen raises many types for broken files
        info.warnings.append(f"tags unreadable ({type(err).__name__}: {err}); file kept untagged")
        audio = None
    if audio is not None:
        tags = audio.tags
        if isinstance(tags, ID3):
            pairs, pics = id3_pairs(tags)
        elif isinstance(tags, MP4Tags):
            pairs, pics = mp4_pairs(tags)
        elif tags is not None and hasattr(tags, "items"):
            items = [(str(k), v) for k, v in tags.items()]
            pairs, pics = vorbis_pairs(
                [(k, str(x)) for k, v in items for x in (v if isinstance(v, list) else [v])]
            )
        else:
            pairs, pics = [], []
        sources.append(pairs)
        pictures += pics
        pictures += flac_pictures(getattr(audio, "pictures", []) or [])
    try:
        sources.append(list(riff_info(path)))
    except OSError as err:
        info.warnings.append(f"RIFF INFO unreadable: {err}")
    _fill(info, _merge(sources))
    _artwork(info, pictures)
    return info


def _merge(sources: list[list[Pair]]) -> dict[str, list[str]]:
    """Values per canonical key; a later source only fills keys the earlier ones lack."""
    merged: dict[str, list[str]] = {}
    for pairs in sources:
        found: dict[str, list[str]] = {}
        for key, raw in pairs:
            value = fix_text(raw)
            if value:
                found.setdefault(_ALIASES.get(key, key), []).append(value)
        for key, values in found.items():
            merged.setdefault(key, values)
    return merged


def _fill(info: TagInfo, values: dict[str, list[str]]) -> None:
    def text(key: str, name: str | None = None) -> str | None:
        found = values.get(key)
        if not found:
            return None
        joined = "; ".join(dict.fromkeys(found))
        return _clip(info, name or key, joined, TEXT_LIMITS[name or key])

    for name in ("title", "artist", "album", "genre", "mood", "label", "composer", "comment"):
        setattr(info, name, text(name))
    info.album_artist = text("album_artist")
    info.language = text("language")
    isrc = text("isrc")
    info.isrc = isrc.replace("-", "").upper()[:16] if isrc else None
    info.year = _first(values.get("date"), _year)
    info.bpm = _first(values.get("bpm"), lambda s: _number(s, 0.0, 1000.0))
    info.track_number = _first(values.get("tracknumber"), _index)
    info.disc_number = _first(values.get("discnumber"), _index)
    info.explicit = any(
        v.strip().lower() in {"1", "4", "true", "yes", "explicit", "e"}
        for v in values.get("explicit", [])
    )
    for which in ("track", "album"):
        gain = _first(values.get(f"replaygain_{which}_gain"), lambda s: _number(s, -60.0, 60.0))
        peak = _first(values.get(f"replaygain_{which}_peak"), lambda s: _number(s, 0.0, 100.0))
        setattr(info, f"replaygain_{which}_gain_db", gain)
        setattr(info, f"replaygain_{which}_peak", peak)
    custom = {k: v for k, v in values.items() if k not in _FIELDS and k != "album_artist"}
    if len(custom) > MAX_CUSTOM:
        info.warnings.append(f"{len(custom)} custom tags: kept the first {MAX_CUSTOM}")
    for key in list(custom)[:MAX_CUSTOM]:
        joined = "; ".join(dict.fromkeys(custom[key]))
        info.custom[key] = _clip(info, key, joined, MAX_CUSTOM_VALUE)


def _artwork(info: TagInfo, pictures: list[EmbeddedPicture]) -> None:
    for pic in pictures:
        if pic.data is None:
            info.warnings.append(
                f"embedded artwork of {pic.size / 2**20:.1f} MiB ignored "
                f"(larger than {MAX_ARTWORK // 2**20} MiB)"
            )
    usable = [p for p in pictures if p.data]
    usable.sort(key=lambda p: not p.front)  # front cover first, else file order
    if usable:
        info.artwork, info.artwork_mime = usable[0].data, usable[0].mime


def fix_text(value: str) -> str:
    """Trimmed text with NULs removed and common mis-decodings repaired.

    UTF-8 bytes read as Latin-1 or Windows-1252 ("BeyoncÃ©" → "Beyoncé") are
    decoded again as UTF-8; Windows-1252 text read as Latin-1 (C1 control
    characters where "€" or "’" belong) is decoded again as Windows-1252.
    """
    text = value.replace("\x00", "").strip()
    if text.isascii():
        return text
    for encoding in ("latin-1", "cp1252"):
        try:
            fixed = text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    if _C1.search(text):
        try:
            return text.encode("latin-1").decode("cp1252")
        except UnicodeError:
            pass
    return text


def _clip(info: TagInfo, name: str, value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    info.warnings.append(f"tag {name!r} clipped from {len(value)} to {limit} characters")
    return value[:limit].rstrip()


def _first(values: list[str] | None, parse: Callable[[str], _T | None]) -> _T | None:
    for value in values or []:
        parsed = parse(value)
        if parsed is not None:
            return parsed
    return None


def _year(value: str) -> int | None:
    found = _YEAR.search(value)
    return int(found.group(1)) if found else None


def _index(value: str) -> int | None:
    found = re.match(r"\s*(\d{1,5})", value)
    return int(found.group(1)) if found else None


def _number(value: str, low: float, high: float) -> float | None:
    found = _NUMBER.search(value)
    if not found:
        return None
    number = float(found.group(0).replace(",", "."))
    return number if low <= number <= high else None
