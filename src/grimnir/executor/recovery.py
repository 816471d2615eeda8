"""Restart safety: line the executor up with what the engine really has.

Runs every time the executor (re)subscribes to the engine's events — at start
and after the engine came back — before it sends anything:

- the engine's status says what plays and what is queued; those entries are
  the executor's again and are **never sent twice**;
- same engine (the executor restarted): queued/on-air entries the engine no
  longer has played while nobody watched, so they count as aired;
- new engine (restarted, or a fresh process with an empty queue while the
  timeline says something is on air): the DSP graph is loaded again, the item
  that was on air is resumed at the position it was cut (``cue_in`` moved by
  the time it had played), and entries that were queued go back to planned so
  the scheduler sends them again with their start times.

An engine is recognised by its clock origin (``status.time`` − ``status.frame``):
a restarted engine process starts a new clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from grimnir.domain import EndReason, EntryKind, EntryStatus, ExecutorState, Priority
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.client import StatusReport
from grimnir.executor._timeline import (
    load_pending,
    open_asrun_start,
    play_request,
    set_status,
)
from grimnir.executor.priority import HoldKey

if TYPE_CHECKING:
    from grimnir.executor.station import StationExecutor

log = logging.getLogger("grimnir.executor.recovery")

SAME_ENGINE_S = 0.5
"""Clock origins closer than this belong to the same engine process."""
CUT_SHORT = timedelta(seconds=1)
"""An item the engine died under this long before its planned end ended in error."""


def engine_origin(status: StatusReport) -> datetime | None:
    """When the engine's frame 0 aired (identifies an engine process)."""
    if status.time is None:
        return None
    return status.time - timedelta(seconds=status.frame / SAMPLE_RATE)


def is_new_engine(known: datetime | None, origin: datetime | None) -> bool:
    """True when ``origin`` belongs to another engine process than ``known``."""
    return (
        known is not None
        and origin is not None
        and abs((origin - known).total_seconds()) > SAME_ENGINE_S
    )


async def resync(ex: StationExecutor) -> None:
    """Rebuild the executor's view of the engine from its status and the timeline."""
    status = await ex.client.status()
    now = ex.clock()
    origin = engine_origin(status)
    current_id = None if status.current is None else status.current.item_id or None
    queued = set(status.queue)
    engine_ids = queued | ({current_id} if current_id else set())
    restarted = ex.link.lined_up(origin)

    rows = await load_pending(ex.sessions, ex.station_uuid, now + timedelta(seconds=ex.preload_s))
    tracked = [
        row
        for row in rows
        if row.kind is not EntryKind.LIVE and row.status in (EntryStatus.QUEUED, EntryStatus.ON_AIR)
    ]
    gone = [row for row in tracked if row.item_id not in engine_ids]
    fresh = restarted or (not engine_ids and any(r.status is EntryStatus.ON_AIR for r in gone))

    ex.items.lined_up(engine_ids, current_id)
    if current_id:
        on_air = [row.id for row in tracked if row.item_id == current_id]
        await set_status(ex.sessions, on_air, EntryStatus.ON_AIR)

    if fresh:
        log.warning(
            "station %s: the engine is new (restarted or fresh); reloading graph and queue",
            ex.station_uuid,
        )
        if ex.graph is not None:
            await ex.client.load_graph(ex.graph)
        for row in gone:
            if row.status is EntryStatus.ON_AIR and row.ends_at > now:
                started = await open_asrun_start(ex.sessions, row.id) or row.starts_at
                lost_at = ex.link.lost_at
                cut = lost_at if lost_at is not None and lost_at > started else now
                offset = max(1, round((cut - started) / timedelta(milliseconds=1)))
                request = play_request(row, offset_ms=offset)
                if request is not None:
                    await ex.client.play(request)
                    ex.items.resumed_at(row.item_id, offset)
                    log.warning(
                        "station %s: resumed entry %s at %.1f s",
                        ex.station_uuid,
                        row.item_id,
                        offset / 1000,
                    )
                    continue
            if row.status is EntryStatus.ON_AIR:
                # NOTE: its slot is over: its as-run row ends where the engine died
                lost_at = ex.link.lost_at
                cut = lost_at if lost_at is not None and lost_at < now else now
                early = row.ends_at - cut > CUT_SHORT
                reason = EndReason.ERROR if early else EndReason.FINISHED
                await ex.asrun.cut(row.item_id, row.id, cut, reason)
                await set_status(ex.sessions, [row.id], EntryStatus.AIRED)
        await set_status(
            ex.sessions,
            [r.id for r in gone if r.status is EntryStatus.QUEUED],
            EntryStatus.PLANNED,
            only_from=(EntryStatus.QUEUED,),
        )
    else:
        # NOTE: the same engine no longer has them: they played while we were away.
        await set_status(ex.sessions, [r.id for r in gone], EntryStatus.AIRED)
    ex.link.recovered()

    layer = status.on_air
    if layer == "emergency":
        await ex.priority.hold(HoldKey.emergency(None), Priority.EMERGENCY, now)
    elif layer == "live" and (status.live or status.harbor is None):
        # NOTE: an engine without a harbor (a bare ``LocalControl``) names no live mount
        mount = status.live or ""
        await ex.priority.hold(HoldKey.live(mount), ex.priority.priority_of("live"), now)
    await ex.priority.layer_changed(layer, now)
    if layer == "emergency":
        target = ExecutorState.EMERGENCY
    elif layer == "live":
        target = ExecutorState.LIVE
    elif ex.items.playing:
        target = ExecutorState.PLAYING
    elif ex.items.in_engine:
        target = ExecutorState.PRELOADING
    else:
        target = ExecutorState.IDLE
    ex.force_state(target)
