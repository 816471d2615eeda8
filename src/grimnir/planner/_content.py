"""Where a slot's tracks come from: smart blocks, playlists, hard items, jingles,
rebroadcasts and the default rotation.

This is the one place the builder calls the selection code (``smartblock.fill``,
``playlists.playlist_fill``); it turns each answer into a :class:`Picked`.
"""

from __future__ import annotations

import random
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from grimnir.domain import EntryKind, SlotKind
from grimnir.planner._result import Fill
from grimnir.planner.clocks import SlotInstance
from grimnir.planner.history import PlayHistory
from grimnir.planner.playlists import playlist_fill
from grimnir.planner.reports import PlannedEntry
from grimnir.planner.smartblock import SmartBlockSpec, fill
from grimnir.planner.tracks import Track, TrackLibrary

if TYPE_CHECKING:
    from grimnir.planner._load import Context

ROTATION_RULES: dict[str, Any] = {
    "separation": {"artist": 60, "title": 120, "album": 0},
    "overflow": "allow_overflow",
}
"""The default rotation: every READY track, no artist twice within an hour; its
last track may run over (soft), a hard boundary fades it."""
ROTATION_ID = "default-rotation"
_MAX_JINGLES = 2  # per top-up: more in a row sounds like a fault
_MAX_ROUNDS = 1_000  # passes over a tiny library to fill one slot


@dataclass(slots=True)
class Picked:
    """The tracks chosen for a slot, with what the report and entries need."""

    tracks: list[Track] = field(default_factory=list)
    entry_kind: EntryKind = EntryKind.TRACK
    playlist_id: uuid.UUID | None = None
    smart_block_id: uuid.UUID | None = None
    block_id: uuid.UUID | None = None
    """The block actually used (a fallback block when the slot's own could not fill)."""
    source: str | None = None
    relaxations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shortfall_ms: int = 0
    trim_last_to_ms: int | None = None
    recorded: bool = False
    """Whether the selection already added the tracks to the play history."""


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _music_only(ctx: Context) -> TrackLibrary:
    """The library without station IDs, jingles and adverts, for the default rotation.

    Left out: items of jingle playlists, of playlists a stopset slot plays, and
    hard items of clocks. If that leaves nothing, the whole library is used
    (a station of jingles only still should not go silent).
    """
    clocks = [*ctx.clocks.values(), *([ctx.default_clock] if ctx.default_clock else [])]
    stopset_lists = {
        slot.playlist_id
        for clock in clocks
        for slot in clock.slots
        if slot.kind == SlotKind.STOPSET and slot.playlist_id is not None
    }
    excluded = {str(slot.media_id) for clock in clocks for slot in clock.slots if slot.media_id}
    for playlist_id, spec in ctx.playlists.items():
        if spec.jingle or playlist_id in stopset_lists:
            excluded.update(item.media_id for item in spec.items)
    excluded.update(track.id for track, _ in ctx.jingles)
    if not excluded:
        return ctx.library
    key = frozenset(excluded)
    cached = _MUSIC_CACHE.get(ctx.library)
    if cached is not None and cached[0] == key:
        return cached[1]
    music = [track for track in ctx.library if track.id not in excluded]
    result = TrackLibrary(music) if music else ctx.library
    # NOTE: per library object: a long-lived library (the benchmark, `grimnir up`)
    # pays for the subset once, not on every rebuild.
    _MUSIC_CACHE[ctx.library] = (key, result)
    return result


_MUSIC_CACHE: weakref.WeakKeyDictionary[TrackLibrary, tuple[frozenset[str], TrackLibrary]] = (
    weakref.WeakKeyDictionary()
)


class Content:
    """Answers "which tracks fill this slot" against one loaded context."""

    def __init__(self, ctx: Context, rebroadcasts: dict[str, list[PlannedEntry]]) -> None:
        self.ctx = ctx
        self.rebroadcasts = rebroadcasts
        self.rotation_spec = SmartBlockSpec.from_rules(
            ROTATION_ID, "default rotation", ROTATION_RULES
        )
        self._blocks = {str(k): v for k, v in ctx.blocks.items()}
        self._rotation_library: TrackLibrary | None = None

    def webstream_name(self, webstream_id: uuid.UUID | None) -> str | None:
        return self.ctx.webstreams.get(webstream_id) if webstream_id else None

    def pick(
        self,
        inst: SlotInstance,
        start: datetime,
        target_ms: int,
        rng: random.Random,
        history: PlayHistory,
    ) -> Picked:
        slot = inst.slot
        kind = EntryKind.STOPSET if slot.kind == SlotKind.STOPSET else EntryKind.TRACK
        if slot.params.get("rotation"):
            return self.rotation(start, target_ms, rng, history)
        if slot.params.get("rebroadcast_of"):
            return self._rebroadcast(str(slot.params["rebroadcast_of"]), history, start)
        if slot.kind == SlotKind.HARD_ITEM:
            return self._hard_item(slot.media_id, bool(slot.params.get("jingle")), history, start)
        if slot.playlist_id is not None:
            spec = self.ctx.playlists.get(slot.playlist_id)
            if spec is None:
                return Picked(notes=[f"slot {slot.label}: playlist {slot.playlist_id} is gone"])
            result = playlist_fill(
                spec, self.ctx.library, history, start, target_ms, rng, self.ctx.playlist_state
            )
            return self._from_fill(result, kind, playlist_id=slot.playlist_id)
        if slot.smart_block_id is not None:
            block = self.ctx.blocks.get(slot.smart_block_id)
            if block is None:
                return Picked(
                    notes=[f"slot {slot.label}: smart block {slot.smart_block_id} is gone"]
                )
            result = fill(
                block, self.ctx.library, history, start, target_ms, rng, blocks=self._blocks
            )
            return self._from_fill(result, kind, smart_block_id=slot.smart_block_id)
        return Picked(notes=[f"slot {slot.label} has nothing to play"])

    @property
    def rotation_library(self) -> TrackLibrary:
        if self._rotation_library is None:
            self._rotation_library = _music_only(self.ctx)
        return self._rotation_library

    def rotation(
        self, start: datetime, target_ms: int, rng: random.Random, history: PlayHistory
    ) -> Picked:
        """Tracks of the default rotation for ``target_ms`` from ``start``."""
        picked = Picked(recorded=True, source=ROTATION_ID)
        at, remaining = start, target_ms
        # NOTE: one fill plays each track at most once; a library shorter than the
        # slot is gone through again (separation still applies, relaxed if needed).
        for _ in range(_MAX_ROUNDS):
            if remaining <= 0 or not len(self.rotation_library):
                break
            result = fill(self.rotation_spec, self.rotation_library, history, at, remaining, rng)
            if not result.tracks:
                picked.notes.extend(result.notes)
                break
            picked.tracks.extend(result.tracks)
            picked.relaxations.extend(r for r in result.relaxations if r not in picked.relaxations)
            at += timedelta(milliseconds=result.duration_ms)
            remaining -= result.duration_ms
        picked.shortfall_ms = max(0, remaining)
        return picked

    def jingles_fitting(self, room_ms: int, rng: random.Random) -> Picked:
        """Up to two jingles (from jingle playlists) that fit in ``room_ms``."""
        candidates = [j for j in self.ctx.jingles if 0 < j[0].duration_ms <= room_ms]
        rng.shuffle(candidates)
        chosen: list[tuple[Track, uuid.UUID]] = []
        for track, playlist_id in candidates:
            if len(chosen) == _MAX_JINGLES:
                break
            if track.duration_ms <= room_ms:
                chosen.append((track, playlist_id))
                room_ms -= track.duration_ms
        if not chosen:
            return Picked()
        return Picked(
            tracks=[t for t, _ in chosen],
            entry_kind=EntryKind.JINGLE,
            playlist_id=chosen[0][1],
            source=str(chosen[0][1]),
        )

    def _from_fill(
        self,
        result: Fill,
        kind: EntryKind,
        *,
        playlist_id: uuid.UUID | None = None,
        smart_block_id: uuid.UUID | None = None,
    ) -> Picked:
        used = _uuid(result.used_block_id)
        return Picked(
            tracks=list(result.tracks),
            entry_kind=EntryKind.JINGLE if result.jingle and kind == EntryKind.TRACK else kind,
            playlist_id=playlist_id,
            smart_block_id=smart_block_id,
            block_id=used if used is not None else smart_block_id,
            source=str(playlist_id or used or smart_block_id or "") or None,
            relaxations=list(result.relaxations),
            notes=list(result.notes),
            shortfall_ms=result.shortfall_ms,
            trim_last_to_ms=result.trim_last_to_ms,
            recorded=True,
        )

    def _hard_item(
        self, media_id: uuid.UUID | None, jingle: bool, history: PlayHistory, start: datetime
    ) -> Picked:
        track = self.ctx.library.get(str(media_id)) if media_id else None
        if track is None:
            return Picked(notes=[f"hard item {media_id} is not in the library (or not READY)"])
        return Picked(tracks=[track], entry_kind=EntryKind.JINGLE if jingle else EntryKind.TRACK)

    def _rebroadcast(self, iso: str, history: PlayHistory, start: datetime) -> Picked:
        earlier = [e for e in self.rebroadcasts.get(iso, []) if e.media_id is not None]
        tracks = [self.ctx.library.get(str(e.media_id)) for e in earlier]
        found = [t for t in tracks if t is not None]
        notes = []
        if not found:
            notes.append(f"rebroadcast of {iso}: nothing was planned then; the slot is topped up")
        elif len(found) < len(earlier):
            notes.append(
                f"rebroadcast of {iso}: {len(earlier) - len(found)} item(s) left the library"
            )
        return Picked(tracks=found, notes=notes, source=f"rebroadcast:{iso}")
