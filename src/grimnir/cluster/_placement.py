"""Which instance carries which station: weighted rendezvous hashing, bounded load.

Every instance computes the same answer from the same list of members, with no
coordination: each (member, station) pair gets a pseudo-random score, the
weighted rendezvous score ``-capacity / ln(u)`` with ``u`` uniform in (0, 1)
from a hash of the pair, and a station goes to its best-scoring member. A
member's expected share is its capacity over the total, and when a member
joins or leaves only the stations it wins or held change hands.

Plain rendezvous hashing is balanced only on average: with 100 stations on
four equal members the busiest one carries 1.2 times the mean typically and
1.5 times now and then. So each member's load is bounded by ``max_load`` times
its fair share; a station whose best member is full goes to its next best
("consistent hashing with bounded loads", Mirrokni, Thorup and Zadimoghaddam,
2016). Stations are taken in a fixed order (by a hash of their name), so the
answer is still the same on every instance. The bound costs a little of the
minimal movement: when a member leaves, a few stations besides its own may
move (on average under one in a hundred at ``max_load`` 1.2). ``max_load=None``
is plain rendezvous hashing.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable

from grimnir.cluster._members import Member

DEFAULT_MAX_LOAD = 1.2
"""No member carries more than this times its capacity's share of the stations
(rounded up to a whole station)."""

_SCALE = float(2**64)


def _uniform(member: uuid.UUID, station: str) -> float:
    """A number in (0, 1), the same on every machine and Python run for the pair."""
    digest = hashlib.blake2b(f"{member}\0{station}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _SCALE


def score(member: Member, station: str) -> float:
    """``member``'s weighted rendezvous score for ``station`` (higher wins)."""
    return -member.capacity / math.log(_uniform(member.id, station))


def rank(station: str, members: Iterable[Member]) -> list[Member]:
    """``members`` from the best home for ``station`` to the worst."""
    return sorted(members, key=lambda m: (score(m, station), m.id.int), reverse=True)


def place(
    stations: Iterable[str],
    members: Iterable[Member],
    *,
    max_load: float | None = DEFAULT_MAX_LOAD,
) -> dict[str, uuid.UUID]:
    """The member id that should carry each of ``stations``.

    Draining members get nothing; members that stopped beating must be left out
    by the caller (see :meth:`~grimnir.cluster.Roster.members`). Without any
    member left, nothing is placed (an empty mapping).
    """
    if max_load is not None and max_load < 1:
        raise ValueError(f"max_load below 1 cannot place every station: {max_load}")
    candidates = [m for m in members if not m.draining]
    names = sorted(set(stations), key=_order)
    if not candidates:
        return {}
    if max_load is None:
        return {station: rank(station, candidates)[0].id for station in names}
    total = sum(m.capacity for m in candidates)
    room = {m.id: math.ceil(m.capacity / total * len(names) * max_load) for m in candidates}
    placed: dict[str, uuid.UUID] = {}
    for station in names:
        for member in rank(station, candidates):
            if room[member.id] > 0:
                room[member.id] -= 1
                placed[station] = member.id
                break
    return placed


def _order(station: str) -> bytes:
    """The fixed order in which bounded placement takes stations (not by name:
    names made in a row would crowd the same members first)."""
    return hashlib.blake2b(station.encode(), digest_size=8).digest()
