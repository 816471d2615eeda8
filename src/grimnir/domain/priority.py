"""The priority ladder: a lower number pre-empts a higher one."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """Who is on air. ``EMERGENCY`` beats everything, ``FALLBACK`` nothing."""

    EMERGENCY = 0
    LIVE_OVERRIDE = 1
    LIVE_SCHEDULED = 2
    AUTOMATION = 3
    FALLBACK = 4

    def preempts(self, other: Priority) -> bool:
        """True when this source takes the air from ``other``."""
        return self < other

    @property
    def key(self) -> str:
        """The name used in station config files (``live_override``, …)."""
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Priority:
        """The priority for a config key; raises ``ValueError`` naming the valid keys."""
        try:
            return cls[key.upper()]
        except KeyError:
            valid = ", ".join(p.key for p in cls)
            raise ValueError(f"unknown priority {key!r}; valid: {valid}") from None
