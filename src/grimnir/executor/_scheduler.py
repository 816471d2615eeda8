"""The scheduler's pass over the timeline (runs every ``poll_s`` and on demand).

Sends entries due within ``preload_s`` that the engine does not have yet,
joins an entry in progress when automation is empty and it is late (after a
stop, a late start), and opens and closes live shows' windows. Entries
planned inside a live show are its fallback programme: they play under the
DJ (unheard while the DJ's audio flows), so a DJ who never comes, or drops
out, leaves no silence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from grimnir.domain import EntryKind, EntryStatus, ExecutorState, NotFoundError, Priority
from grimnir.executor import _timeline as tl

if TYPE_CHECKING:
    from grimnir.executor.station import StationExecutor

log = logging.getLogger("grimnir.executor")

AHEAD_ENTRIES = 4
"""Entries the engine holds whatever the preload horizon: what follows an item that
ends early (a skip, a failed file) is already there."""
JOIN_LATE_MS = 1000
JOIN_LEAD = timedelta(milliseconds=200)
"""How far ahead an in-progress join is placed: the engine has the request by then."""
"""An entry this late with nothing on the automation layer joins in progress."""


async def timeline_pass(ex: StationExecutor) -> int:
    """One look at the timeline: skip what was missed, send what is due, open live windows."""
    now = ex.clock()
    until = now + timedelta(seconds=ex.preload_s)
    # NOTE: one light read per poll; the UPDATE that skips missed entries and the full
    # rows (paths, cue points, text) only when there is something to skip or to send
    pending = await tl.pending_rows(ex.sessions, ex.station_uuid, until, at_least=AHEAD_ENTRIES)
    if tl.missed(pending, now):
        await tl.skip_missed(ex.sessions, ex.station_uuid, now)
        pending = await tl.pending_rows(ex.sessions, ex.station_uuid, until, at_least=AHEAD_ENTRIES)
    await ex.state_row.save(ex, now)
    if not ex.link.up:
        return 0
    await ex.keep_rotation(now)
    if ex.held:
        return 0
    await take_back_removed(ex, pending)
    # NOTE: what the loop below passes over (on air, already in the engine, over) needs
    # no more than ``pending`` says; live entries are read whole for their windows
    wanted = [
        row.id
        for row in pending
        if row.kind is EntryKind.LIVE
        or (
            row.status is not EntryStatus.ON_AIR
            and row.item_id not in ex.items.in_engine
            and row.ends_at > now
        )
    ]
    entries = await tl.load_in_order(ex.sessions, wanted)
    windows = [e for e in entries if e.kind is EntryKind.LIVE]
    await live_windows(ex, windows, now)
    # NOTE: under a DJ or an alert automation plays on, unheard: the moment they stop,
    # the timeline is on air where it is due (no rejoin, no silence).
    queued: list[uuid.UUID] = []
    try:
        await _send(ex, entries, now, queued)
    finally:
        # NOTE: one write for everything sent in this pass (after a rebuild: the hour)
        await tl.set_status(ex.sessions, queued, EntryStatus.QUEUED)
    return len(queued)


async def _send(
    ex: StationExecutor, entries: list[tl.Planned], now: datetime, queued: list[uuid.UUID]
) -> None:
    """Send the entries the engine does not have yet; ``queued`` gets the ids sent."""
    for entry in entries:
        if (
            entry.kind is EntryKind.LIVE
            or entry.status is EntryStatus.ON_AIR
            or entry.item_id in ex.items.in_engine
            or entry.ends_at <= now
        ):
            continue
        offset = 0
        join_at: datetime | None = None
        late_ms = (now - entry.starts_at) / timedelta(milliseconds=1)
        if not ex.items.in_engine and late_ms > JOIN_LATE_MS:
            # NOTE: joined at a time a little ahead, with the offset for that time, so
            # the part that plays lines up with the plan (not with when we got here).
            join_at = now + JOIN_LEAD
            offset = round((join_at - entry.starts_at) / timedelta(milliseconds=1))
        request = tl.play_request(entry, offset_ms=offset, join_at=join_at)
        if request is None:
            log.warning("station %s: entry %s has nothing to play", ex.station_key, entry.id)
            await tl.set_status(ex.sessions, [entry.id], EntryStatus.SKIPPED)
            continue
        await ex.client.play(request)
        ex.items.sent(entry.item_id, offset)
        queued.append(entry.id)
        if ex.state is ExecutorState.IDLE:
            ex.set_state(ExecutorState.PRELOADING)


async def take_back_removed(
    ex: StationExecutor, entries: Sequence[tl.Pending | tl.Planned]
) -> None:
    """Take out of the engine's queue the timeline entries a rebuild removed (or moved
    out of what the engine should hold): they are no longer pending."""
    pending = {entry.item_id for entry in entries}
    stale = [
        item_id
        for item_id in ex.items.in_engine - ex.items.playing
        if item_id not in pending and tl.parse_uuid(item_id) is not None
    ]
    if not stale:
        return
    await ex.client.unqueue(sorted(stale))
    ex.items.taken_back(stale)
    log.info("station %s: %d replanned entries taken back", ex.station_key, len(stale))


async def live_windows(ex: StationExecutor, live: list[tl.Planned], now: datetime) -> None:
    """Open the window of the live entry due now; close it when its slot is over."""
    window = ex.live.entry
    if window is not None and now >= window.ends_at:
        aired = ex.live.heard
        await tl.set_status(
            ex.sessions, [window.id], EntryStatus.AIRED if aired else EntryStatus.SKIPPED
        )
        await ex.priority.release("live_scheduled", window.item_id)
        ex.live.close()
    for entry in live:
        if not entry.starts_at <= now < entry.ends_at or ex.live.entry is not None:
            continue
        ex.live.open(entry)
        await ex.priority.claim(
            Priority.LIVE_SCHEDULED, "live_scheduled", entry.item_id, {"mount": entry.mount}
        )
        status = EntryStatus.ON_AIR if ex.live.on_air else EntryStatus.QUEUED
        await tl.set_status(ex.sessions, [entry.id], status)
        try:
            await ex.client.route_live(entry.mount)
        except NotFoundError as exc:
            # NOTE: a bare engine has no harbor; a live source set on it still counts.
            log.info("station %s: cannot route %s: %s", ex.station_key, entry.mount, exc)
