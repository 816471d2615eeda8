"""Who plays what in the demo library: artists with a style each, and track titles.

Each artist has its own genre, tempo range, mode, instruments and drum feel,
so the planner's artist separation has several distinct artists to keep apart
and a listener hears six different acts, not one generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Style:
    """How one artist sounds."""

    artist: str
    album: str
    genre: str
    bpm: tuple[int, int]
    mode: str
    lead: str
    """``bell`` / ``epiano`` (FM), ``square`` / ``saw`` / ``flute`` (additive)."""
    drums: str
    """``four`` (four on the floor), ``pop``, ``lazy`` or ``boom`` (boom-bap)."""
    year: int


ARTISTS: tuple[Style, ...] = (
    Style("Aurora Vale", "Northern Glow", "Dream Pop", (84, 96), "major", "bell", "pop", 2021),
    Style(
        "The Copper Kites", "Paper Skies", "Indie Pop", (112, 124), "major", "square", "pop", 2019
    ),
    Style("Neon Fjord", "Afterhours", "Synthpop", (118, 128), "minor", "saw", "four", 2023),
    Style("Lumen & Moss", "Slow Rivers", "Chillout", (78, 90), "minor", "flute", "lazy", 2020),
    Style("Marigold Static", "Tape Summer", "Lo-Fi", (72, 86), "major", "epiano", "boom", 2024),
    Style(
        "Harbor Lights", "Evening Tide", "Easy Listening", (96, 108), "major", "flute", "lazy", 2022
    ),
)

_ADJECTIVES = [
    "Golden",
    "Velvet",
    "Silver",
    "Quiet",
    "Electric",
    "Amber",
    "Paper",
    "Crystal",
    "Summer",
    "Winter",
    "Hidden",
    "Distant",
    "Gentle",
    "Bright",
    "Midnight",
    "Morning",
    "Wandering",
    "Lucky",
    "Painted",
    "Faded",
    "Northern",
    "Open",
    "Sleepy",
    "Brave",
]
_NOUNS = [
    "Harbor",
    "Morning",
    "Lanterns",
    "Rivers",
    "Satellites",
    "Orchards",
    "Postcards",
    "Skyline",
    "Tides",
    "Meadows",
    "Signals",
    "Fireflies",
    "Avenues",
    "Horizons",
    "Balloons",
    "Echoes",
    "Islands",
    "Streetlights",
    "Clouds",
    "Letters",
    "Gardens",
    "Mirrors",
    "Comets",
    "Windows",
]


def titles(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` different two-word titles ("Amber Satellites"), drawn with ``rng``."""
    pairs = [(a, n) for a in _ADJECTIVES for n in _NOUNS]
    order = rng.permutation(len(pairs))
    chosen: list[str] = []
    used: set[str] = set()
    # NOTE: first titles whose words are all fresh ("Golden Harbor" next to "Golden
    # Rivers" would read like one song twice), then any pair not taken yet.
    for fresh_only in (True, False):
        for i in order:
            adjective, noun = pairs[int(i)]
            name = f"{adjective} {noun}"
            if name in chosen or (fresh_only and (adjective in used or noun in used)):
                continue
            chosen.append(name)
            used.update((adjective, noun))
            if len(chosen) == count:
                return chosen
    return chosen
