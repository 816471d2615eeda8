"""Post-roll resume: what an emergency cut goes on again from where it was heard last.

When the engine's mixer puts the emergency layer on air over automation
(``layer.changed`` automation → emergency), the automation item audible then is
taken off air under the alert (a short fade) and remembered with its offset
into its entry: the take-over frame less the frame it started, plus the offset
it was itself sent from. When the engine reports it ended, the same entry goes
back to the engine from that offset, at the head of the automation queue. The
engine starts no soft automation item while the emergency layer plays
(``AutomationPlayer``'s ``yields_to``), so it starts on the block the alert
ends: no dead air, and no fallback in between (the engine sees it due). When it
starts, the entry's end and the soft entries after it, up to the next hard
entry, move later by the time the alert took; a hard entry keeps its frame
(what plays then is faded out or dropped by the engine, as after a skip).

The as-run log reads: the item pre-empted, the emergency item, the same item
again (a new row from the block it resumed on).

Only an emergency cuts: under a DJ automation plays on, unheard, and continues
with what is due when the DJ stops (issue 14).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from grimnir.domain import EntryStatus, Timing
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.client import EngineEventRecord
from grimnir.executor import _timeline as tl

if TYPE_CHECKING:
    from grimnir.executor.station import StationExecutor

log = logging.getLogger("grimnir.executor")

CUT_FADE_MS = 200
"""The cut item fades out this fast under the alert (the mixer's layer fade covers it)."""


@dataclass(frozen=True, slots=True)
class Cut:
    """An automation item an emergency took off air."""

    item_id: str
    entry_id: uuid.UUID
    offset_ms: int
    """Where listeners last heard it, from its entry's cue-in."""
    at: datetime
    """When the emergency took the air."""


class EmergencyResume:
    """Cuts automation under an emergency and resumes it afterwards (module docstring)."""

    def __init__(self, ex: StationExecutor) -> None:
        self._ex = ex
        self._cut: dict[str, Cut] = {}
        """Items taken off air, until the engine says they ended."""
        self._resuming: dict[str, Cut] = {}
        """Items sent again from their offset, until they start."""

    async def take_over(self, record: EngineEventRecord) -> None:
        """The emergency layer took the air from automation at ``record``'s frame."""
        ex = self._ex
        item_id = ex.items.current
        if item_id is None or item_id in self._cut:
            return
        started = ex.items.started_record(item_id)
        entry_id = tl.parse_uuid(item_id)
        if started is None or entry_id is None:
            return  # not a timeline entry (an insert): it plays on, unheard
        played_ms = max(0, (record.frame - started.frame) * 1000 // SAMPLE_RATE)
        offset = ex.items.offset_ms(item_id) + played_ms
        self._cut[item_id] = Cut(item_id, entry_id, offset, record.time)
        ex.items.cut(item_id)
        await ex.client.skip("automation", CUT_FADE_MS)
        log.info(
            "station %s: entry %s cut by an emergency at %.3f s",
            ex.station_key,
            item_id,
            offset / 1000,
        )

    async def ended(self, item_id: str) -> None:
        """An automation item ended: one that was cut goes back to the engine."""
        self._resuming.pop(item_id, None)  # NOTE: dropped unplayed (a hard entry came)
        cut = self._cut.pop(item_id, None)
        if cut is None:
            return
        ex = self._ex
        found = await tl.load_entries(ex.sessions, [cut.entry_id])
        if not found:
            return  # a rebuild removed it meanwhile
        entry = found[0]
        # NOTE: queued under its own planned start, before whatever follows it (the
        # engine's queue is in start order); soft: it starts when the alert ends
        request = tl.play_request(entry, offset_ms=cut.offset_ms, join_at=entry.starts_at)
        if request is None:
            return  # nothing of it is left to play
        await ex.client.play(replace(request, timing=Timing.SOFT))
        ex.items.sent(item_id, cut.offset_ms)
        await tl.set_status(ex.sessions, [cut.entry_id], EntryStatus.QUEUED)
        self._resuming[item_id] = cut

    async def started(self, item_id: str, record: EngineEventRecord) -> None:
        """An automation item started: a resumed one moves the timeline after it later."""
        cut = self._resuming.pop(item_id, None)
        if cut is None:
            return
        ex = self._ex
        lost = record.time - cut.at
        moved = await tl.shift_later(ex.sessions, cut.entry_id, lost)
        log.info(
            "station %s: entry %s resumed at %.3f s; %d entries moved %.1f s later",
            ex.station_key,
            item_id,
            cut.offset_ms / 1000,
            moved,
            lost.total_seconds(),
        )
