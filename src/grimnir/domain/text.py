"""Case folding that every database and the planner agree on.

``fold`` maps each character to its simple lower case, one character to one
character. That is what PostgreSQL's and MariaDB's ``lower()`` do, so a rule
selects the same tracks in SQL and in memory. (Python's ``str.lower`` differs:
it turns a final "Σ" into "ς" and "İ" into two characters.) SQLite's own
``lower()`` folds ASCII only; the store registers ``fold`` as SQLite's
``lower()`` on every connection (``register_sqlite_functions``).
"""

from __future__ import annotations

from functools import cache
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
