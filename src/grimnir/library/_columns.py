"""Tags read from a file, fitted to the columns of ``MediaItem``.

Files carry whatever their taggers wrote: a 300-character title, a year
written "2019-05-01", a BPM of "120.5 bpm". The database would refuse text
longer than its column (PostgreSQL does; SQLite silently would not), so text
is cut to fit here, and numbers that do not parse are left empty (tags.py
does the same; this is the last guard before the database).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String

from grimnir.store.models import MediaItem

MAX_TAG_BYTES = 64 * 1024
"""Longest custom tag value kept."""
MAX_CUSTOM_BYTES = 256 * 1024
"""Most text kept in custom tags in all."""

_COLUMNS = MediaItem.__table__.columns
TAG_FIELDS: tuple[str, ...] = (
    "title",
    "artist",
    "album",
    "album_artist",
    "genre",
    "mood",
    "year",
    "bpm",
    "isrc",
    "label",
    "composer",
    "language",
    "track_number",
    "disc_number",
    "explicit",
    "comment",
    "replaygain_track_gain_db",
    "replaygain_track_peak",
    "replaygain_album_gain_db",
    "replaygain_album_peak",
)
"""The tag columns of ``MediaItem``, in the order people read them."""
_TAG_COLUMNS = frozenset(TAG_FIELDS)


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(k) + _size(v) for k, v in value.items())
    return 8


def _fit(name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _COLUMNS[name].type
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Integer):
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return number if -(2**31) <= number < 2**31 else None
    if isinstance(kind, Float):
        try:
            real = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return real if math.isfinite(real) else None
    text = str(value).replace("\x00", "").strip()
    if isinstance(kind, String) and kind.length is not None:
        text = text[: kind.length]
    return text or None


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").replace("\x00", "")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def apply_tags(item: MediaItem, columns: dict[str, Any], custom: dict[str, Any]) -> None:
    """Set the item's tag columns from ``columns`` (cut to fit) and its custom tags.

    Every tag column is set, so tags removed from the file disappear from the
    item too. Custom tags keep only what JSON and the size limit allow.
    """
    for name in _TAG_COLUMNS:
        value = _fit(name, columns.get(name))
        if name == "explicit":
            value = bool(value)
        setattr(item, name, value)
    kept: dict[str, Any] = {}
    budget = MAX_CUSTOM_BYTES
    for key, value in custom.items():
        clean = _jsonable(value)
        size = _size(str(key)) + _size(clean)
        if size > budget or size > MAX_TAG_BYTES:
            continue
        budget -= size
        kept[str(key).replace("\x00", "")[:255]] = clean
    item.custom_tags = kept
