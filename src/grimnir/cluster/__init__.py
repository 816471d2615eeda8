"""Several control-plane instances sharing one PostgreSQL database and one bus.

One planner leader at a time, and each station carried by exactly one
instance at a time, both through leases in the database (:class:`LeaseStore`):
a lease runs out unless its holder renews it, and every acquisition hands out
a higher fencing token. An owner's writes check their token inside their own
transaction (:func:`fenced`), so an instance that was paused past its lease
and wakes up is refused (:class:`FencingError`) instead of acting next to its
successor. Stations are spread by capacity-weighted rendezvous hashing
(:func:`place`) over the live members (:class:`Roster`); a :class:`ClusterNode`
runs one instance's part: heartbeat, renewals, placement, leadership, drain.

Built on what the databases already do well (row locks, conditional updates,
their own clock), not on a consensus protocol of our own.
"""

from grimnir.cluster._lease import (
    PLANNER,
    Clock,
    Lease,
    LeaseStore,
    database_now,
    fenced,
    station_resource,
)
from grimnir.cluster._members import Member, Roster
from grimnir.cluster._node import DEFAULT_TTL, ClusterNode, OnAcquired, OnLost, StationSource
from grimnir.cluster._placement import DEFAULT_MAX_LOAD, place, rank, score
from grimnir.domain.errors import FencingError

__all__ = [
    "DEFAULT_MAX_LOAD",
    "DEFAULT_TTL",
    "PLANNER",
    "Clock",
    "ClusterNode",
    "FencingError",
    "Lease",
    "LeaseStore",
    "Member",
    "OnAcquired",
    "OnLost",
    "Roster",
    "StationSource",
    "database_now",
    "fenced",
    "place",
    "rank",
    "score",
    "station_resource",
]
