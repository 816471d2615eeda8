"""The automation player: a queue of timed items played on overlapping voices.

Items are scheduled by engine frame. A **hard** item starts exactly at its
``start_at`` frame, fading out whatever plays; a **soft** item starts at the
current item's segue point (or when it ends, or is skipped): after an item
its ``start_at`` is not waited for, so an early end (a skip, a failed file,
a short file) moves the schedule instead of leaving silence. Only an idle
layer waits for a soft item's ``start_at``.
A layer that ``yields_to`` another (automation to emergency) starts no soft
item while that one plays or has items queued: the programme waits for an
alert to end, and the control plane resumes what the alert cut where it was
heard last (hard items keep their frame and start all the same).
Two voices overlap during a crossfade (the "two decks"); a transition with no
fades is a butt splice on the exact frame, with no sample of silence added.

The same class plays the emergency layer's queue.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from grimnir.domain.catalog import EndReason
from grimnir.domain.fades import FadeCurve, Timing
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import Block, BlockBuffer, rms_db, silence
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.fades import Ramp
from grimnir.engine.mixing.smart import TransitionPlan, plan_smart_transition
from grimnir.engine.mixing.voice import DECLICK_MS, PlayItem, SourceFactory, Voice
from grimnir.engine.sources import Source

PRELOAD_ITEMS = 2
"""Queued items whose sources decode ahead before they air."""
PRELOAD_FRAMES = 30 * 48_000
"""Hard items due within this many frames decode ahead wherever they are queued."""

__all__ = ["DECLICK_MS", "AutomationPlayer", "PlayItem", "SourceFactory", "Voice"]


class AutomationPlayer:
    """Plays a time-ordered queue of items on voices; emits item events."""

    def __init__(
        self,
        source_factory: SourceFactory,
        emit: Callable[[EngineEvent], None],
        layer: str = "automation",
        *,
        yields_to: AutomationPlayer | None = None,
    ) -> None:
        self._factory = source_factory
        self._emit = emit
        self.layer = layer
        self._yields_to = yields_to
        """While that layer plays (or has items queued), no soft item starts on this one."""
        self._queue: list[tuple[int, int, PlayItem]] = []
        self._seq = itertools.count()
        self.voices: list[Voice] = []
        self._quiet_from = 0
        self._preloaded: dict[int, tuple[PlayItem, Source]] = {}
        """Frame from which nothing plays (the end of the last item that ended)."""
        self._scratch = BlockBuffer()

    # -- control ------------------------------------------------------------------

    def enqueue(self, item: PlayItem, source: Source | None = None) -> None:
        """Add an item in start-time order; an item without ``start_at`` follows the
        item queued before it (arrival order). ``source``: the item's source, already
        decoding (it plays from there, as a preloaded one does)."""
        if source is not None:
            self._preloaded[id(item)] = (item, source)
        if item.start_at is not None:
            key = item.start_at
        else:
            key = self._queue[-1][0] if self._queue else -1
        index = len(self._queue)
        while index > 0 and self._queue[index - 1][0] > key:
            index -= 1
        self._queue.insert(index, (key, next(self._seq), item))

    @property
    def queue(self) -> list[PlayItem]:
        return [item for _, _, item in self._queue]

    def remove(self, item_id: str) -> bool:
        """Drop a queued (not yet playing) item."""
        before = len(self._queue)
        self._queue = [e for e in self._queue if e[2].item_id != item_id]
        return len(self._queue) != before

    def clear(self) -> None:
        self._queue.clear()

    def skip(self, frame: int, fade_ms: int = DECLICK_MS) -> None:
        """Fade out what plays now; the next item starts as if it had ended."""
        length = int(millis_to_frames(Millis(max(fade_ms, 1))))
        for voice in self.voices:
            if voice.stop_at is None:
                voice.fade_out_at(frame, length, FadeCurve.LINEAR, EndReason.SKIPPED)

    def fade_current(self, frame: int, fade_ms: int, curve: FadeCurve) -> None:
        """Fade out what plays now over ``fade_ms`` on ``curve``; the queue follows."""
        length = int(millis_to_frames(Millis(max(fade_ms, 1))))
        for voice in self.voices:
            if voice.stop_at is None:
                voice.fade_out_at(frame, length, curve, EndReason.SKIPPED)

    def stop(self, frame: int, fade_ms: int = DECLICK_MS) -> None:
        """Fade out everything and empty the queue."""
        self.clear()
        self.skip(frame, fade_ms)

    @property
    def active(self) -> bool:
        """True while any voice plays."""
        return bool(self.voices)

    @property
    def holds_air(self) -> bool:
        """True while a voice plays whose audio flows: a relay that stalled (or whose
        URLs all failed) keeps its slot but not the air (``Voice.holds_air``)."""
        return any(voice.holds_air for voice in self.voices)

    @property
    def current(self) -> Voice | None:
        """The newest voice that is not leaving (what now-playing shows)."""
        for voice in reversed(self.voices):
            if voice.stop_at is None:
                return voice
        return self.voices[-1] if self.voices else None

    # -- the block ---------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing plays, is queued or decodes ahead: ``render`` returns None."""
        return not self.voices and not self._queue and not self._preloaded

    def render(self, frame0: int, n: int, out: Block | None = None) -> Block | None:
        """Audio of this layer for frames ``[frame0, frame0 + n)``; None when idle.

        Renders into ``out`` (shape (2, n), overwritten) when given, else into
        a new block. ``n`` may span many blocks; with no event inside them (see
        ``next_event_frame``) the audio is the same as block by block.
        """
        if self.idle:
            return None
        if out is None:
            out = silence(n)
        else:
            out.fill(0.0)
        end = frame0 + n
        if self._queue:
            self._preload(frame0)
        elif self._preloaded:
            self._preload(frame0)  # closes what was dropped from the queue
        self._start_due_hard(frame0, end)
        self._start_soft_at_segues(frame0, end)
        rendered: set[int] = set()
        while True:
            fresh = [v for v in self.voices if id(v) not in rendered]
            if not fresh:
                break
            for voice in fresh:
                voice.render(frame0, out, self._scratch)
                rendered.add(id(voice))
                failed_at_once = voice.end == voice.start and voice.source.error is not None
                if not voice.started_event_sent and not failed_at_once:
                    self._send_started(voice)
            self._start_soft_after_ends(frame0, end)
            self._retire_finished(end)
            self._start_soft_at_segues(frame0, end)
        self._quiet_from = frame0
        return out

    def settle(self, until: int) -> None:
        """Offline: wait for the decoders until every item's end before ``until`` is certain."""
        for voice in self.voices:
            voice.settle(until)

    def next_event_frame(self, frame0: int) -> int | None:
        """The earliest frame, from ``frame0`` on, where an item may start, end or segue.

        Conservative (the true event may come later, never earlier), and
        certain by what the decoders have delivered (call ``settle`` first to
        look further): blocks that end by this frame render the same in one
        ``render`` call as block by block. None: nothing will happen unless
        the queue changes.
        """
        # NOTE: this follows the rules of ``_start_due_hard`` and the soft starts
        # (``_start_soft_at_segues``, ``_start_soft_after_ends``): change them together.
        found: list[int] = []
        head = self._queue[0][2] if self._queue else None
        for _, _, item in self._queue:
            if item.timing is Timing.HARD and item.start_at is not None:
                found.append(item.start_at)
        leading = self._leading_voice()
        if head is not None and head.timing is not Timing.HARD:
            if leading is None:
                # Nothing plays: an idle layer waits for the item's time, one whose
                # last item is still fading out hands over at once.
                idle = not self.voices and head.start_at is not None
                found.append(head.start_at if idle and head.start_at is not None else frame0)
            elif not leading.successor_started:
                # NOTE: a soft item follows its predecessor's segue, whatever its time.
                segue = _earliest_segue(leading)
                found.append(frame0 if segue is None else segue)
        for voice in self.voices:
            if voice.source.stalls:
                # NOTE: it may run dry (or flow again) in any block, unless it knows better
                found.append(frame0 + voice.source.steady_frames)
            if voice.start >= frame0:
                found.append(voice.start)
            if voice.stop_at is not None:
                # NOTE: a voice ends in the block that reaches ``stop_at``, even when
                # that is the block's last frame.
                found.append(voice.stop_at - 1)
            end = voice.earliest_end()
            found.append(frame0 if end is None else end)
        return min(found) if found else None

    # -- starting items ------------------------------------------------------------

    def _start(self, item: PlayItem, at: int) -> Voice:
        preloaded = self._preloaded.pop(id(item), None)
        if preloaded is not None and preloaded[0] is item:
            source = preloaded[1]
        else:
            source = self._factory(item)
            source.start()
        voice = Voice(item, source, at)
        self.voices.append(voice)
        return voice

    def _preload(self, frame0: int) -> None:
        """Start decoding the next items (and hard items due soon) before they air."""
        for position, (_, _, item) in enumerate(self._queue):
            soon = item.start_at is not None and item.start_at - frame0 <= PRELOAD_FRAMES
            if position >= PRELOAD_ITEMS and not (item.timing is Timing.HARD and soon):
                continue
            if id(item) not in self._preloaded:
                source = self._factory(item)
                source.start()
                self._preloaded[id(item)] = (item, source)
        if len(self._preloaded) > len(self._queue):
            queued = {id(item) for _, _, item in self._queue}
            for key in [k for k in self._preloaded if k not in queued]:
                self._preloaded.pop(key)[1].close()

    def _start_due_hard(self, frame0: int, end: int) -> None:
        """Start every hard item due in this block; what was queued before it is dropped."""
        while True:
            due = next(
                (
                    index
                    for index, (_, _, item) in enumerate(self._queue)
                    if item.timing is Timing.HARD
                    and item.start_at is not None
                    and item.start_at < end
                ),
                None,
            )
            if due is None:
                return
            _, _, item = self._queue[due]
            at = max(item.start_at or 0, frame0)
            for _, _, dropped in self._queue[:due]:
                # NOTE: planned before the hard item but never reached: it did not air.
                self._emit(
                    EngineEvent(
                        "item.ended",
                        at,
                        {
                            "item_id": dropped.item_id,
                            "layer": self.layer,
                            "reason": EndReason.SKIPPED.value,
                            "aired": False,
                        },
                    )
                )
            del self._queue[: due + 1]
            fade = item.fade_in_ms or DECLICK_MS
            length = int(millis_to_frames(Millis(fade)))
            for voice in self.voices:
                voice.successor_started = True
                voice.settle(at)
                natural = voice.natural_end()
                if natural is not None and natural <= at:
                    continue  # it ends by itself by the hard start: finished, not pre-empted
                voice.fade_out_at(at, length, item.curve, EndReason.PREEMPTED)
            self._start(item, at)

    @property
    def _held(self) -> bool:
        """The layer this one yields to plays or has items queued: soft items wait."""
        above = self._yields_to
        return above is not None and (above.active or bool(above.queue))

    def _next_soft(self, at: int) -> PlayItem | None:
        if not self._queue or self._held:
            return None
        _, _, item = self._queue[0]
        if item.timing is Timing.HARD:
            return None
        # NOTE: a soft item never waits for its planned start: when the item before it
        # ended early (skipped, failed, a short file) the schedule moves, not the silence.
        return item

    def _start_soft_at_segues(self, frame0: int, end: int) -> None:
        """Start the next soft item where the current one reaches its segue point."""
        current = self._leading_voice()
        if current is None:
            # Nothing plays: a soft item starts at its start time (or now).
            if not self._queue:
                return
            _, _, item = self._queue[0]
            if item.timing is Timing.HARD or self._held:
                return
            # NOTE: never before the last item of this block ended (no overlap, no gap).
            # An idle layer waits for the item's time (fallback covers the wait); a
            # skipped item still fading out hands over at once.
            at = max(frame0, self._quiet_from)
            if item.start_at is not None and not self.voices:
                at = max(at, item.start_at)
            if at < end:
                self._queue.pop(0)
                self._start(item, at)
            return
        if current.successor_started:
            return
        current.settle(end)
        segue = current.segue_frame()
        if segue is None or segue >= end:
            return
        at = max(segue, frame0)
        incoming = self._next_soft(at)
        if incoming is None:
            return
        self._queue.pop(0)
        current.successor_started = True
        self._crossfade(current, incoming, at)

    def _start_soft_after_ends(self, frame0: int, end: int) -> None:
        """An item that ended inside this block hands over on that very frame."""
        for voice in list(self.voices):
            if voice.end is None or voice.successor_started or voice.end >= end:
                continue
            if any(v is not voice and v.stop_at is None and v.end is None for v in self.voices):
                voice.successor_started = True
                continue
            item = self._next_soft(voice.end)
            voice.successor_started = True
            if item is not None:
                self._queue.pop(0)
                self._start(item, max(voice.end, frame0))

    def _crossfade(self, current: Voice, item: PlayItem, at: int) -> None:
        """Start ``item`` at ``at`` over ``current``, shaping both sides' fades."""
        incoming = self._start(item, at)
        smart = FadeCurve.SMART in (current.item.curve, item.curve)
        out_len = int(millis_to_frames(Millis(current.item.fade_out_ms)))
        plan = TransitionPlan(
            fade_out=out_len > 0, fade_in=incoming.fade_in is not None, overlap=True
        )
        if smart:
            new_head = incoming.peek(int(millis_to_frames(Millis(1000))))
            plan = plan_smart_transition(current.level_db, rms_db(new_head))
        if plan.fade_out and out_len > 0:
            current.fade_out_at(at, out_len, current.item.curve, EndReason.FINISHED)
        elif not plan.overlap:
            # Sequence: the new item waits for the old one to end.
            incoming.start = current.natural_end() or at
        if not plan.fade_in:
            incoming.fade_in = None
        elif incoming.fade_in is not None and incoming.fade_in.start != incoming.start:
            incoming.fade_in = Ramp(
                incoming.start, incoming.fade_in.length, incoming.fade_in.curve, True
            )

    def _leading_voice(self) -> Voice | None:
        for voice in reversed(self.voices):
            if voice.stop_at is None and voice.end is None:
                return voice
        return None

    # -- ending items ----------------------------------------------------------------

    def _retire_finished(self, end: int) -> None:
        for voice in list(self.voices):
            if voice.end is None or voice.end > end:
                continue
            self.voices.remove(voice)
            self._quiet_from = max(self._quiet_from, voice.end)
            voice.close()
            reason = voice.end_reason or EndReason.FINISHED
            data: dict[str, Any] = {
                "item_id": voice.item.item_id,
                "layer": self.layer,
                "reason": reason.value,
                "start_frame": voice.start,
            }
            if voice.source.error:
                data["error"] = voice.source.error
                self._emit(
                    EngineEvent(
                        "source.error",
                        voice.end,
                        {
                            "item_id": voice.item.item_id,
                            "path": voice.item.path,
                            "error": voice.source.error,
                        },
                    )
                )
            self._emit(EngineEvent("item.ended", voice.end, data))

    def _send_started(self, voice: Voice) -> None:
        voice.started_event_sent = True
        self._emit(
            EngineEvent(
                "item.started",
                voice.start,
                {
                    "item_id": voice.item.item_id,
                    "layer": self.layer,
                    "title": voice.item.title,
                    "artist": voice.item.artist,
                    "path": voice.item.path,
                    **voice.item.meta,
                },
            )
        )

    def close(self) -> None:
        for voice in self.voices:
            voice.close()
        self.voices.clear()
        for _, source in self._preloaded.values():
            source.close()
        self._preloaded.clear()


def _earliest_segue(voice: Voice) -> int | None:
    """The earliest frame ``voice`` may reach its segue point, by what is certain now."""
    cue = voice.item.cue
    if cue.segue is not None:
        return voice.segue_frame()
    end = voice.earliest_end()
    if end is None:
        return None
    return end - int(millis_to_frames(Millis(voice.item.fade_out_ms)))
