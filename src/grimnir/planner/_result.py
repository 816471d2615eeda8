"""The result of filling air time from a smart block or a playlist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from grimnir.planner.tracks import Track


@dataclass
class Fill:
    """What a fill chose.

    ``starts[i]`` is when ``tracks[i]`` begins (back to back from the fill's
    start); ``sources[i]`` the block or playlist it came from. ``shortfall_ms``
    is the gap to the target when the fill ended more than the tolerance short
    of it (0 otherwise). ``trim_last_to_ms``: under ``trim_last``, the length the
    last track should be faded out at. ``jingle``: air without now-playing data.
    """

    tracks: list[Track] = field(default_factory=list)
    duration_ms: int = 0
    relaxations: list[str] = field(default_factory=list)
    shortfall_ms: int = 0
    used_block_id: str | None = None
    notes: list[str] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    trim_last_to_ms: int | None = None
    jingle: bool = False


__all__ = ["Fill"]
