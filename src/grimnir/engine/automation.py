"""The automation player: a queue of timed items played on overlapping voices.

Items are scheduled by engine frame. A **hard** item starts exactly at its
``start_at`` frame, fading out whatever plays; a **soft** item starts at the
current item's segue point (or when it ends), never before its ``start_at``.
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
from grimnir.engine.audio import Block, rms_db, silence
from grimnir.engine.events import EngineEvent
from grimnir.engine.fades import Ramp
from grimnir.engine.smart import TransitionPlan, plan_smart_transition
from grimnir.engine.sources import Source
from grimnir.engine.voice import DECLICK_MS, PlayItem, SourceFactory, Voice

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
    ) -> None:
        self._factory = source_factory
        self._emit = emit
        self.layer = layer
        self._queue: list[tuple[int, int, PlayItem]] = []
        self._seq = itertools.count()
        self.voices: list[Voice] = []
        self._quiet_from = 0
        self._preloaded: dict[int, tuple[PlayItem, Source]] = {}
        """Frame from which nothing plays (the end of the last item that ended)."""

    # -- control ------------------------------------------------------------------

    def enqueue(self, item: PlayItem) -> None:
        """Add an item in start-time order; an item without ``start_at`` follows the
        item queued before it (arrival order)."""
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
    def current(self) -> Voice | None:
        """The newest voice that is not leaving (what now-playing shows)."""
        for voice in reversed(self.voices):
            if voice.stop_at is None:
                return voice
        return self.voices[-1] if self.voices else None

    # -- the block ---------------------------------------------------------------

    def render(self, frame0: int, n: int) -> Block | None:
        """Audio of this layer for frames ``[frame0, frame0 + n)``; None when idle."""
        if not self.voices and not self._queue and not self._preloaded:
            return None
        out = silence(n)
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
                voice.render(frame0, out)
                rendered.add(id(voice))
                failed_at_once = voice.end == voice.start and voice.source.error is not None
                if not voice.started_event_sent and not failed_at_once:
                    self._send_started(voice)
            self._start_soft_after_ends(frame0, end)
            self._retire_finished(end)
            self._start_soft_at_segues(frame0, end)
        self._quiet_from = frame0
        return out

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
                natural = voice.natural_end()
                if natural is not None and natural <= at:
                    continue  # it ends by itself by the hard start: finished, not pre-empted
                voice.fade_out_at(at, length, item.curve, EndReason.PREEMPTED)
            self._start(item, at)

    def _next_soft(self, at: int) -> PlayItem | None:
        if not self._queue:
            return None
        _, _, item = self._queue[0]
        if item.timing is Timing.HARD:
            return None
        if item.start_at is not None and item.start_at > at:
            return None
        return item

    def _start_soft_at_segues(self, frame0: int, end: int) -> None:
        """Start the next soft item where the current one reaches its segue point."""
        current = self._leading_voice()
        if current is None:
            # Nothing plays: a soft item starts at its start time (or now).
            if not self._queue:
                return
            _, _, item = self._queue[0]
            if item.timing is Timing.HARD:
                return
            # NOTE: never before the last item of this block ended (no overlap, no gap).
            at = max(frame0, self._quiet_from)
            if item.start_at is not None:
                at = max(at, item.start_at)
            if at < end:
                self._queue.pop(0)
                self._start(item, at)
            return
        segue = current.segue_frame()
        if segue is None or segue >= end or current.successor_started:
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
