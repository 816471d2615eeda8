"""Pieces every part of the station schema shares.

The base model forbids unknown keys (so a typo is an error, not a silently
ignored setting) and freezes instances (a loaded config is a value).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

DUPLICATE_ID_ERROR = "duplicate_id"
"""Pydantic error type for repeated ids; its ``ctx`` says which items clash."""

AT_KEY_ERROR = "at_key"
"""Pydantic error type of a model-level check that blames one key, named in ``ctx["at_key"]``."""

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class ConfigModel(BaseModel):
    """Base of every station-config model: unknown keys are errors, values are frozen.

    ``allow_inf_nan=False`` because YAML reads ``.inf`` and ``.nan`` as
    floats, and no level, time or ratio of ours means anything there.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (a likely typo of it), or None."""
    options = list(choices)
    by_lower = {choice.lower(): choice for choice in options}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            "must be a short id of lowercase letters, digits and '-', starting with a letter "
            f"or digit, at most 63 characters, like 'wgmr-fm' (got {value!r})"
        )
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
"""A short id usable in URLs, file names and metric labels: ``^[a-z0-9][a-z0-9-]{0,62}$``."""


def _check_nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonEmptyStr = Annotated[str, AfterValidator(_check_nonblank)]
"""Text that has at least one non-space character."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be a web address like https://example.org/ (got {value!r})")
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
"""An ``http://`` or ``https://`` address with a host, kept as the text written."""


def check_unique_ids(items: Sequence[Any], kind: str) -> None:
    """Raise a ``duplicate_id`` error when two items share an ``id``.

    Items whose ``id`` is None are skipped. The error's ``ctx["duplicates"]``
    lists ``(index, first_index, id)`` for every repeat, so the file loader can
    point at each repeat's line and at the first use; the message alone still
    makes sense for a config built in code.
    """
    first: dict[str, int] = {}
    duplicates: list[tuple[int, int, str]] = []
    for index, item in enumerate(items):
        item_id = getattr(item, "id", None)
        if item_id is None:
            continue
        if item_id in first:
            duplicates.append((index, first[item_id], item_id))
        else:
            first[item_id] = index
    if duplicates:
        names = ", ".join(repr(dup[2]) for dup in duplicates)
        raise PydanticCustomError(
            DUPLICATE_ID_ERROR,
            "duplicate {kind} id(s): {names}; each {kind} needs its own id",
            {"kind": kind, "names": names, "duplicates": duplicates},
        )
