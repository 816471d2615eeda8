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
from functools import lru_cache

from grimnir.domain.text import fold, fold_or_none, register_sqlite_functions

__all__ = ["fold", "fold_or_none", "register_sqlite_functions"]


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
