"""What a subscription wants, and how that maps onto Redis channels and NATS subjects.

A subscription filters by event type (exact ``item.started``, prefix wildcard
``item.*``, or all) and optionally by station. Every event travels on the name
``<prefix>.<station token>.<type>``, where the station token is the station id
with anything but letters, digits, ``_`` and ``-`` percent-encoded (``_`` alone
means "no station"). Each subscription listens on one name pattern, the
narrowest that covers all its types, and the filter then checks every event in
Python: one pattern keeps the events of a subscription in publish order, and
the Python check makes the three buses agree exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from grimnir.bus._event import BUS_GAP, TYPE_RE, Event
from grimnir.domain.errors import ConfigError

NO_STATION: Final = "_"
_PREFIX_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
_SAFE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def check_prefix(prefix: str) -> str:
    """``prefix`` if usable as the first channel/subject token, else ConfigError."""
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
        raise ConfigError(
            f"bus prefix {prefix!r} is not valid: use letters, digits, '_' or '-' (no dots)"
        )
    return prefix


def station_token(station_id: str | None) -> str:
    """The channel/subject token of a station: safe for Redis globs and NATS subjects."""
    if station_id is None:
        return NO_STATION
    token = "".join(
        ch if ch in _SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in station_id
    )
    return "%5F" if token == NO_STATION else token


def channel(prefix: str, event: Event) -> str:
    """The Redis channel / NATS subject an event is published on."""
    return f"{prefix}.{station_token(event.station_id)}.{event.type}"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a subscription receives.

    ``exact`` and ``prefixes`` empty means every type. A prefix is stored with
    its trailing dot (``"item."``), so ``item.*`` matches ``item.started`` and
    ``item.cue.point`` but not ``items.x`` or ``item`` itself.
    """

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    station_id: str | None

    @classmethod
    def build(cls, types: Iterable[str] | None, station_id: str | None) -> EventFilter:
        """Parse subscribe() arguments; ValueError for a pattern we cannot serve."""
        if station_id is not None and (not isinstance(station_id, str) or not station_id):
            raise ValueError(f"station_id must be a non-empty string or None, not {station_id!r}")
        if types is None:
            return cls(frozenset(), (), station_id)
        if isinstance(types, str):  # a lone type, not an iterable of characters
            types = [types]
        exact: set[str] = set()
        prefixes: set[str] = set()
        for pattern in types:
            if pattern == "*":
                return cls(frozenset(), (), station_id)
            if isinstance(pattern, str) and pattern.endswith(".*"):
                stem = pattern[:-2]
                if TYPE_RE.fullmatch(stem):
                    prefixes.add(stem + ".")
                    continue
            elif isinstance(pattern, str) and TYPE_RE.fullmatch(pattern):
                exact.add(pattern)
                continue
            raise ValueError(
                f"type pattern {pattern!r} is not valid: use an exact type like "
                "'item.started', a prefix wildcard like 'item.*', or '*' for all"
            )
        if not exact and not prefixes:
            raise ValueError("types is empty: give at least one type, or None for all types")
        # Drop what a shorter prefix already covers, so the set is minimal.
        kept = sorted(prefixes, key=len)
        minimal: list[str] = []
        for p in kept:
            if not any(p.startswith(q) for q in minimal):
                minimal.append(p)
        exact = {t for t in exact if not any(t.startswith(q) for q in minimal)}
        return cls(frozenset(exact), tuple(sorted(minimal)), station_id)

    @property
    def all_types(self) -> bool:
        return not self.exact and not self.prefixes

    def matches(self, event: Event) -> bool:
        if event.type == BUS_GAP:
            return True  # NOTE: every subscriber must hear it may have missed events
        if self.station_id is not None and event.station_id != self.station_id:
            return False
        if self.all_types or event.type in self.exact:
            return True
        return any(event.type.startswith(p) for p in self.prefixes)

    def _type_scope(self) -> tuple[list[str], bool]:
        """The common leading type tokens of all filters, and whether the type is
        exactly those tokens (one exact type) rather than anything below them."""
        if len(self.exact) == 1 and not self.prefixes:
            return next(iter(self.exact)).split("."), True
        specs = [t.split(".") for t in self.exact] + [p[:-1].split(".") for p in self.prefixes]
        if not specs:
            return [], False
        common: list[str] = []
        for tokens in zip(*specs, strict=False):
            if any(tok != tokens[0] for tok in tokens):
                break
            common.append(tokens[0])
        # An exact type equal to the common stem is not "below" it: widen one level.
        if any(len(s) == len(common) for s in (t.split(".") for t in self.exact)):
            common = common[:-1]
        return common, False

    def redis_pattern(self, prefix: str) -> str:
        """A PSUBSCRIBE glob covering this filter (``*`` may span dots: the
        Python check removes what it over-matches)."""
        station = "*" if self.station_id is None else station_token(self.station_id)
        tokens, exact = self._type_scope()
        tail = ".".join(tokens) if exact else ".".join([*tokens, "*"])
        return f"{prefix}.{station}.{tail}"

    def nats_subject(self, prefix: str) -> str:
        """A NATS subject with wildcards covering this filter exactly (or wider)."""
        station = "*" if self.station_id is None else station_token(self.station_id)
        tokens, exact = self._type_scope()
        tail = ".".join(tokens) if exact else ".".join([*tokens, ">"])
        return f"{prefix}.{station}.{tail}"
