"""Fill one slot instance with concrete entries.

Timing rules, as a station engineer sees them on air:

- A hard slot starts exactly at its boundary. Whatever plays before it is
  planned to end there: the last track gets ``cue_out``/``fade_out`` so it
  fades to the boundary, and tracks that would start after it are dropped.
- A soft slot never cuts a track: it starts when the previous item ends (up
  to ``EARLY`` before its nominal start, to absorb a short under-fill), and
  its last track may run past its end into the next soft slot.
- Entries do not overlap: crossfades are the executor's business (it starts
  the next item at the current one's segue point).
- A slot its own content cannot fill is topped up with jingles that fit and
  then the default rotation, so there is no dead air; the shortfall is
  reported as under-fill. Only when nothing at all can fill it (an empty
  library) is the time reported as a gap.
- A rebuild that resumes inside a slot (where the kept timeline ends) starts
  exactly there, soft, and does not play again what the slot already played.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from grimnir.domain import EntryKind, FadeCurve, SlotKind, Timing
from grimnir.planner._content import Content, Picked
from grimnir.planner._slots import is_rotation
from grimnir.planner.clocks import SlotInstance
from grimnir.planner.history import PlayHistory
from grimnir.planner.reports import Gap, PlannedEntry, Relaxation, UnderFill
from grimnir.planner.tracks import Track

FADE_MS = 3_000
"""Fade-out given to a track cut at a hard boundary (shorter if it plays less)."""
EARLY = timedelta(seconds=60)
"""How far a soft slot may start before its nominal start to close a small gap."""
_MS = timedelta(milliseconds=1)


def seed_of(station_id: uuid.UUID, inst: SlotInstance) -> str:
    """sha256 of (station, slot, slot start): the same slot always draws the same."""
    text = f"{station_id}|{inst.key}|{inst.start.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _ms(delta: timedelta) -> int:
    return delta // _MS


@dataclass(slots=True)
class Findings:
    """What the slots reported while being filled."""

    gaps: list[Gap] = field(default_factory=list)
    underfilled: list[UnderFill] = field(default_factory=list)
    relaxations: list[Relaxation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def mark(self) -> tuple[int, int, int, int]:
        """Where each list stands, for ``rewind``."""
        return len(self.gaps), len(self.underfilled), len(self.relaxations), len(self.warnings)

    def rewind(self, mark: tuple[int, int, int, int]) -> None:
        """Forget what was found since ``mark`` (slots that are filled again)."""
        gaps, underfilled, relaxations, warnings = mark
        del self.gaps[gaps:], self.underfilled[underfilled:]
        del self.relaxations[relaxations:], self.warnings[warnings:]


class SlotFiller:
    """Fills slot instances in time order, carrying the play history along."""

    def __init__(
        self, station_id: uuid.UUID, content: Content, history: PlayHistory, found: Findings
    ) -> None:
        self.station_id = station_id
        self.content = content
        self.history = history
        self.found = found

    def run(
        self,
        inst: SlotInstance,
        cursor: datetime,
        limit: datetime | None,
        played: Sequence[PlannedEntry] | None = None,
    ) -> tuple[list[PlannedEntry], datetime]:
        """Entries of ``inst`` starting at ``cursor`` (the end of what plays before);
        nothing may run past ``limit`` (the next hard boundary). Returns them and
        the new cursor.

        ``played`` resumes the slot: the kept timeline ends at ``cursor`` inside
        it and ``played`` are its entries there; the rest of the slot starts
        exactly at ``cursor``.
        """
        resume = played is not None and cursor > inst.start
        first_timing = Timing.SOFT if resume else inst.slot.timing
        if inst.hard and not resume:
            start = inst.start
        elif inst.start - cursor <= EARLY:
            start = cursor
        else:
            start = inst.start
        if start >= inst.end:
            self.found.warnings.append(
                f"slot {inst.slot.label} at {inst.start.isoformat()} skipped: what played "
                "before it ran past its end"
            )
            return [], cursor
        seed = seed_of(self.station_id, inst)
        rng = random.Random(int(seed, 16))  # noqa: S311 — programming choices, not secrets
        base: dict[str, Any] = {
            "seed": seed,
            "show_id": inst.show_id,
            "meta": {"slot": inst.slot.label, "slot_start": inst.start.isoformat()},
        }
        hard_end = inst.end if limit is None else min(inst.end, limit)
        kind = inst.slot.kind
        if kind in (SlotKind.LIVE, SlotKind.WEBSTREAM):
            entry = PlannedEntry(
                starts_at=start,
                ends_at=max(hard_end, start + _MS),
                kind=EntryKind.LIVE if kind == SlotKind.LIVE else EntryKind.WEBSTREAM,
                timing=first_timing,
                webstream_id=inst.slot.webstream_id,
                title=self.content.webstream_name(inst.slot.webstream_id) or inst.slot.name,
                **base,
            )
            return [entry], entry.ends_at
        target = _ms(inst.end - start)
        picked = self.content.pick(inst, start, target, rng, self.history)
        if resume and played:
            _drop_played(picked, played, once=kind == SlotKind.HARD_ITEM)
        if picked.relaxations:
            self.found.relaxations.append(
                Relaxation(inst.slot.label, inst.start, tuple(picked.relaxations))
            )
        entries = self._lay(picked, start, limit, base, first_timing=first_timing)
        end = entries[-1].ends_at if entries else start
        content_ms = _ms(end - start)
        # NOTE: a soft slot absorbs a small gap before it (it starts early); a hard
        # boundary or a long gap must be topped up.
        short = end < inst.end and (inst.end - end > EARLY or limit == inst.end)
        extra: list[PlannedEntry] = []
        if short:
            extra = self._top_up(inst, end, inst.end, limit, rng, base)
            entries.extend(extra)
            end = extra[-1].ends_at if extra else end
        if picked.shortfall_ms > 0 or extra:
            self.found.underfilled.append(
                UnderFill(
                    inst.slot.label,
                    inst.start,
                    target,
                    content_ms,
                    sum(e.duration_ms for e in extra),
                    tuple(picked.notes),
                )
            )
        elif picked.notes and not is_rotation(inst.slot):
            self.found.warnings.extend(picked.notes)
        if end < inst.end and (inst.end - end > EARLY or limit == inst.end):
            self.found.gaps.append(
                Gap(end, inst.end, f"nothing could fill slot {inst.slot.label}; add music")
            )
        return entries, max(end, start)

    def _lay(
        self,
        picked: Picked,
        start: datetime,
        limit: datetime | None,
        base: dict[str, Any],
        *,
        first_timing: Timing = Timing.SOFT,
    ) -> list[PlannedEntry]:
        """Tracks back to back from ``start``; the one crossing ``limit`` fades to it."""
        out: list[PlannedEntry] = []
        at = start
        for i, track in enumerate(picked.tracks):
            if limit is not None and at >= limit:
                break
            entry = self._entry(track, at, picked, base, i, first_timing)
            last = i == len(picked.tracks) - 1
            if last and picked.trim_last_to_ms is not None:
                trim_at = at + timedelta(milliseconds=max(1, picked.trim_last_to_ms))
                if trim_at < entry.ends_at:
                    entry = cut(entry, trim_at)
            if limit is not None and entry.ends_at > limit:
                entry = cut(entry, limit)
            if not picked.recorded:  # the selection records its own picks
                self.history.add(track, at, picked.source)
            out.append(entry)
            at = entry.ends_at
        return out

    def _entry(
        self,
        track: Track,
        at: datetime,
        picked: Picked,
        base: dict[str, Any],
        index: int,
        first_timing: Timing,
    ) -> PlannedEntry:
        meta = dict(base["meta"])
        if not track.now_playing:
            meta["jingle"] = True
        if picked.block_id is not None and picked.block_id != picked.smart_block_id:
            meta["fallback_block"] = str(picked.block_id)
        return PlannedEntry(
            starts_at=at,
            ends_at=at + timedelta(milliseconds=max(1, track.duration_ms)),
            kind=(
                EntryKind.JINGLE
                if not track.now_playing and picked.entry_kind == EntryKind.TRACK
                else picked.entry_kind
            ),
            timing=first_timing if index == 0 else Timing.SOFT,
            media_id=uuid.UUID(track.id),
            playlist_id=picked.playlist_id,
            smart_block_id=picked.block_id or picked.smart_block_id,
            show_id=base["show_id"],
            cue_in_ms=track.cue_in_ms,
            cue_out_ms=track.cue_out_ms,
            fade_in_ms=track.fade_in_ms or 0,
            fade_out_ms=track.fade_out_ms or 0,
            gain_db=track.gain_db or 0.0,
            seed=base["seed"],
            title=track.title,
            artist=track.artist,
            meta=meta,
        )

    def _top_up(
        self,
        inst: SlotInstance,
        start: datetime,
        end: datetime,
        limit: datetime | None,
        rng: random.Random,
        base: dict[str, Any],
    ) -> list[PlannedEntry]:
        """Jingles that fit, then the default rotation, from ``start`` towards ``end``."""
        out: list[PlannedEntry] = []
        at = start
        jingles = self.content.jingles_fitting(_ms(end - at), rng)
        if jingles.tracks:
            out.extend(self._lay(jingles, at, limit, {**base, "meta": _filler(base, "jingles")}))
            at = out[-1].ends_at
        if end - at > EARLY or (limit is not None and end == limit and at < end):
            rotation = self.content.rotation(at, _ms(end - at), rng, self.history)
            meta = _filler(base, "default rotation")
            out.extend(self._lay(rotation, at, limit, {**base, "meta": meta}))
        return out


def _drop_played(picked: Picked, played: Sequence[PlannedEntry], *, once: bool) -> None:
    """Leave out what the slot already played: a fixed sequence (a rebroadcast)
    continues after the part on air instead of starting over; a slot that plays
    ``once`` (a hard item) has played, even if it names another item by now."""
    if once:
        picked.tracks.clear()
        return
    done = 0
    for track, entry in zip(picked.tracks, played, strict=False):
        if entry.media_id is None or track.id != str(entry.media_id):
            break
        done += 1
    del picked.tracks[:done]


def _filler(base: dict[str, Any], what: str) -> dict[str, Any]:
    return {**base["meta"], "filler": what}


def cut(entry: PlannedEntry, at: datetime) -> PlannedEntry:
    """``entry`` ending at ``at`` with a fade-out (over-fill trimmed at a hard boundary)."""
    plays = max(1, _ms(at - entry.starts_at))
    fade = min(FADE_MS, plays)
    meta = {**entry.meta, "trimmed_ms": entry.duration_ms - plays}
    return entry.moved(
        ends_at=at,
        cue_out_ms=entry.cue_in_ms + plays,
        fade_out_ms=fade,
        fade_curve=FadeCurve.S_CURVE,
        meta=meta,
    )
