"""The level-aware ("smart") crossfade decision.

From the outgoing item's level near its end and the incoming item's level at
its start, choose one of four transitions (the rules Liquidsoap's classic
smart crossfade made familiar): both quiet and close → full crossfade; the
new one much louder → fade out the old only; the old one much louder → fade in
the new only; otherwise → play them in sequence, no overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGH_DB = -15.0
MEDIUM_DB = -32.0
MARGIN_DB = 4.0


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    """Which sides fade, and whether the two items overlap at all."""

    fade_out: bool
    fade_in: bool
    overlap: bool

    @property
    def kind(self) -> str:
        if not self.overlap:
            return "sequence"
        if self.fade_out and self.fade_in:
            return "crossfade"
        return "fade_out_only" if self.fade_out else "fade_in_only"


def plan_smart_transition(old_db: float | None, new_db: float | None) -> TransitionPlan:
    """The transition for an outgoing level ``old_db`` and incoming ``new_db`` (dBFS RMS)."""
    if old_db is None or new_db is None:
        return TransitionPlan(fade_out=True, fade_in=True, overlap=True)
    if old_db <= MEDIUM_DB and new_db <= MEDIUM_DB and abs(old_db - new_db) <= MARGIN_DB:
        return TransitionPlan(fade_out=True, fade_in=True, overlap=True)
    if new_db >= old_db + MARGIN_DB:
        return TransitionPlan(fade_out=True, fade_in=False, overlap=True)
    if old_db >= new_db + MARGIN_DB:
        return TransitionPlan(fade_out=False, fade_in=True, overlap=True)
    if old_db <= HIGH_DB and new_db <= HIGH_DB:
        return TransitionPlan(fade_out=True, fade_in=True, overlap=True)
    return TransitionPlan(fade_out=False, fade_in=False, overlap=False)
