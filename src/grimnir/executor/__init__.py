"""The executor: carries each station's timeline out on air.

``StationExecutor`` (one per station) sends planned entries to the engine
ahead of time, follows the engine's events, writes the as-run log
(``asrun``), keeps the priority ladder (``priority``) and survives restarts of
itself and of the engine (``recovery``). ``ShowEndKicker`` (``show_end``) takes
the DJ off the harbor when their live show ends.
"""

from grimnir.executor.asrun import AsRunLog, export_rows, from_csv, to_csv, to_json
from grimnir.executor.priority import HoldKey, PriorityService
from grimnir.executor.show_end import ShowEndKicker, live_mount
from grimnir.executor.station import StationExecutor

__all__ = [
    "AsRunLog",
    "HoldKey",
    "PriorityService",
    "ShowEndKicker",
    "StationExecutor",
    "export_rows",
    "from_csv",
    "live_mount",
    "to_csv",
    "to_json",
]
