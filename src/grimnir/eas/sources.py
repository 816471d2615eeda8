"""Where alerts come in: the running parts that feed the alert service.

* :class:`AtomPoller` — an ATOM feed of CAP (IPAWS-OPEN style), conditional GET.
* :class:`NaadClient` — the NAAD System's TCP stream of CAP-CP, heartbeats, archive.
* :class:`SameMonitor` — SAME decoded from an upstream station's stream.
* :class:`RwtRunner` on an :class:`RwtSchedule` — the weekly test; :class:`RmtWindow`.

Each takes a :data:`Deliver` callback (raw CAP bytes or a decoded
:class:`~grimnir.eas.decoder.SameMessage`, and a source label), runs until
stopped (``run(stop)`` or ``async with``), reports :class:`SourceHealth`, and
never ends on bad input: it is logged with the reason and counted.
"""

from __future__ import annotations

from grimnir.eas._source_atom import AtomPoller
from grimnir.eas._source_base import AlertSource, Backoff, Deliver, SourceHealth
from grimnir.eas._source_naad import NAAD_ARCHIVES, NAAD_HOSTS, NaadClient
from grimnir.eas._source_same import MONITOR_RATE, SameMonitor
from grimnir.eas._source_schedule import Clock, RmtWindow, RwtRunner, RwtSchedule, SystemClock

__all__ = [
    "MONITOR_RATE",
    "NAAD_ARCHIVES",
    "NAAD_HOSTS",
    "AlertSource",
    "AtomPoller",
    "Backoff",
    "Clock",
    "Deliver",
    "NaadClient",
    "RmtWindow",
    "RwtRunner",
    "RwtSchedule",
    "SameMonitor",
    "SourceHealth",
    "SystemClock",
]
