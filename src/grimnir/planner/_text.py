"""Text folding shared by rule matching (Python and SQL) and separation keys.

``fold`` is the one case-insensitive form the planner compares: every
character mapped to its simple lower case, one character to one character.
That is what PostgreSQL's and MariaDB's ``lower()`` do, so a rule selects the
same tracks in SQL and in memory. (Python's ``str.lower`` differs: it turns a
final "Σ" into "ς" and "İ" into two characters.) SQLite's own ``lower()`` folds
ASCII only; ``register_sqlite_functions`` replaces it with ``fold``.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

# NOTE: every cased letter of Unicode sits below U+20000 (the CJK planes above have no case).
_CASED_LIMIT = 0x20000


@cache
def _lower_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for cp in range(_CASED_LIMIT):
        lowered = chr(cp).lower()
        if len(lowered) == 1 and lowered != chr(cp):
            table[cp] = ord(lowered)
    return table


def fold(text: str) -> str:
    """``text`` with each character replaced by its simple lower case."""
    if text.isascii():
        return text.lower()
    return text.translate(_lower_table())


def fold_or_none(value: Any) -> str | None:
    """``fold`` of a text value; ``None`` for anything that is not text."""
    return fold(value) if isinstance(value, str) else None


def register_sqlite_functions(dbapi_connection: Any, _record: Any = None) -> None:
    """Make SQLite's ``lower()`` fold every script like ``fold`` (a "connect" listener).

    Without it SQLite folds ASCII only, so a rule "artist is ÅSA" would miss
    "åsa" in SQL previews while the planner (which matches in memory) finds it.
    """
    dbapi_connection.create_function(
        "lower", 1, lambda v: fold(v) if isinstance(v, str) else v, deterministic=True
    )


# -- separation keys ----------------------------------------------------------
# An artist credited "The Beatles", "Beatles" or "The Beatles feat. X" is one
# artist for separation; a title "Song (Radio Edit)" is the song "Song".

_FEAT = re.compile(r"\s*(?:[(\[]\s*)?\b(?:feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_BRACKETS = re.compile(r"\s*[(\[][^)\]]*[)\]]")
_VERSION = re.compile(
    r"\s+-\s+.*\b(?:edit|mix|version|remaster(?:ed)?|live|mono|stereo|demo)\b.*$", re.I
)
_NON_WORD = re.compile(r"[^\w]+")
_THE = re.compile(r"^the\s+")


def _squash(text: str) -> str:
    return _NON_WORD.sub(" ", text).strip()


@lru_cache(maxsize=65_536)  # a library repeats its artists and albums
def artist_key(artist: str | None) -> str | None:
    """The artist for separation: folded, without "feat./ft./featuring …"
    credits, a leading "the " or punctuation. ``None`` (no separation) when unknown."""
    if not artist:
        return None
    key = _squash(_THE.sub("", fold(_FEAT.sub("", artist)).strip()))
    return key or _squash(fold(artist)) or None


@lru_cache(maxsize=65_536)
def title_key(title: str | None) -> str | None:
    """The song for separation: folded, without bracketed parts ("(Radio Edit)",
    "[Remastered]"), feat. credits or a trailing " - … Mix/Edit/Version"."""
    if not title:
        return None
    stripped = _VERSION.sub("", _BRACKETS.sub("", _FEAT.sub("", title)))
    key = _squash(fold(stripped))
    return key or _squash(fold(title)) or None


@lru_cache(maxsize=65_536)
def album_key(album: str | None) -> str | None:
    """The album for separation: folded, without bracketed parts ("(Deluxe Edition)")."""
    if not album:
        return None
    key = _squash(fold(_BRACKETS.sub("", album)))
    return key or _squash(fold(album)) or None
