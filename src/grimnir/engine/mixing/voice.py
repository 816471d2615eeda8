"""An item on air: the request (``PlayItem``) and its voice (source + fades).

A voice places a source at an engine frame and applies its fade ramps; it
knows where its item will hand over to the next one (the segue point) and
where it ended, to the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grimnir.domain.catalog import EndReason
from grimnir.domain.fades import CuePoints, FadeCurve, Timing
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, HOLD_FRAMES, Block, BlockBuffer
from grimnir.engine.mixing.fades import Ramp
from grimnir.engine.sources import Source

DECLICK_MS = 20
"""Shortest fade used when an item is cut (hard start, skip, stop)."""


@dataclass(frozen=True, slots=True)
class PlayItem:
    """One item to play, as the executor (or ``grimnir render``) sends it."""

    item_id: str
    path: str
    start_at: int | None = None
    """Engine frame to start at; None = as soon as the queue reaches it."""
    timing: Timing = Timing.SOFT
    cue: CuePoints = field(default_factory=CuePoints)
    gain_db: float = 0.0
    fade_in_ms: int = 0
    fade_out_ms: int = 0
    curve: FadeCurve = FadeCurve.LINEAR
    title: str = ""
    artist: str = ""
    analyze: bool = False
    """Measure loudness and cue points before playing (files with no known gain)."""
    meta: dict[str, Any] = field(default_factory=dict)


SourceFactory = Callable[[PlayItem], Source]


class Voice:
    """One item on air: its source placed at an engine frame, with fades."""

    def __init__(self, item: PlayItem, source: Source, start: int) -> None:
        self.item = item
        self.source = source
        self.start = start
        self.fade_in: Ramp | None = None
        self.fade_out: Ramp | None = None
        self.end: int | None = None
        """Engine frame after the last sample, once known."""
        self.end_reason: EndReason | None = None
        self.stop_at: int | None = None
        self.lag = 0
        """Frames the source could not deliver in time (realtime underruns): the
        item's audio, and so its end, comes that much later than planned."""
        self.successor_started = False
        self.started_event_sent = False
        self._pending: Block | None = None
        self._mean_square: float | None = None
        if item.fade_in_ms > 0:
            self.fade_in = Ramp(
                start, int(millis_to_frames(Millis(item.fade_in_ms))), item.curve, True
            )

    # -- where the item will end / hand over ---------------------------------

    def natural_end(self) -> int | None:
        """Engine frame where the audio ends, when the source knows its length.

        While the source's length is an estimate, the audio already decoded
        bounds it from below: the end is never put before that.
        """
        if self.end is not None:
            return self.end
        source = self.source
        length = source.duration_frames
        if length is None:
            return None
        if not source.length_final:
            length = max(length, source.position_frames + source.buffered_frames)
        return self.start + length + self.lag

    def earliest_end(self) -> int | None:
        """The earliest engine frame the audio may end at, by what is certain now.

        The exact end once the length is final; before that, the end of what
        is decoded (the estimate may still move either way). None: unknown
        (a source that may end at any moment).
        """
        if self.end is not None:
            return self.end
        source = self.source
        if source.length_final:
            return self.natural_end()
        return self.start + source.position_frames + source.buffered_frames + self.lag

    def settle(self, before: int) -> None:
        """Offline: make sure whether this item ends or segues before frame ``before`` is known.

        Waits for the decoder until either the exact length is known or enough
        is decoded to rule both out, so an offline render takes the same
        decision on every run (and however its blocks are grouped). Real-time
        sources never wait.
        """
        if self.end is not None:
            return
        fade = int(millis_to_frames(Millis(self.item.fade_out_ms)))
        played = self.start + self.lag + self.source.position_frames
        # NOTE: one frame more than the segue test needs: "ends by ``before``" is decided too.
        self.source.settle(before + fade + 1 - played)

    def segue_frame(self) -> int | None:
        """Engine frame where the next soft item may start (None: at the end)."""
        cue = self.item.cue
        if cue.segue is not None:
            return self.start + int(millis_to_frames(Millis(cue.segue - cue.cue_in)))
        end = self.natural_end()
        if end is None:
            return None
        return end - int(millis_to_frames(Millis(self.item.fade_out_ms)))

    def fade_out_at(self, frame: int, length: int, curve: FadeCurve, reason: EndReason) -> None:
        """Fade out from ``frame`` over ``length`` frames, then stop."""
        if self.fade_out is not None and self.fade_out.end <= frame + length:
            return  # already leaving at least as soon
        self.fade_out = Ramp(frame, length, curve, False)
        self.stop_at = frame + length
        self.end_reason = reason

    @property
    def holds_air(self) -> bool:
        """False while a source fed from outside has delivered nothing for
        ``HOLD_FRAMES``: what plays underneath, or the fallback, covers until it flows."""
        return self.source.dry_frames < HOLD_FRAMES

    # -- audio ------------------------------------------------------------------

    def peek(self, frames: int) -> Block:
        """The first ``frames`` of the item without consuming them (for smart fades)."""
        if self._pending is None:
            block, real = self.source.read(frames)
            self._pending = block[:, :real]
        return self._pending

    def _read_into(self, buf: Block) -> int:
        pending = self._pending
        if pending is None or pending.shape[1] == 0:
            return self.source.read_into(buf)
        frames = int(buf.shape[1])
        take = min(frames, int(pending.shape[1]))
        buf[:, :take] = pending[:, :take]
        self._pending = pending[:, take:]
        if take == frames:
            return take
        return take + self.source.read_into(buf[:, take:])

    def render(self, frame0: int, out: Block, scratch: BlockBuffer | None = None) -> None:
        """Add this voice's audio for frames ``[frame0, frame0 + n)`` into ``out``.

        ``n`` may span many blocks: the result is the same as block by block
        (fades are per frame, the level below is kept per 20 ms engine block).
        ``scratch`` is a work area to reuse (one per player).
        """
        n = out.shape[1]
        begin = max(frame0, self.start)
        stop = frame0 + n
        if self.stop_at is not None:
            stop = min(stop, self.stop_at)
        if begin >= stop:
            if self.stop_at is not None and frame0 + n >= self.stop_at and self.end is None:
                self.end = self.stop_at
            return
        want = stop - begin
        buf = (scratch or BlockBuffer(want)).view(want)
        real = self._read_into(buf)
        if real < want and self.source.finished:
            self.end = begin + real
            if self.end_reason is None:
                self.end_reason = EndReason.ERROR if self.source.error else EndReason.FINISHED
        elif self.stop_at is not None and stop >= self.stop_at:
            self.end = self.stop_at
        elif real < want:
            self.lag += want - real
        if real == 0:
            return
        audio = buf[:, :real]
        for ramp in (self.fade_in, self.fade_out):
            if ramp is not None:
                g = ramp.gains(begin, real)
                if g is not None:
                    audio *= g
        a = begin - frame0
        out[:, a : a + real] += audio
        self._track_level(audio[0], begin)

    def _track_level(self, left: Block, frame: int) -> None:
        # NOTE: ~0.4 s exponential average of the left channel's power: the level a
        # smart crossfade compares. One step per engine block (BLOCK-aligned), so a
        # span rendered in one call tracks exactly what blocks one by one would.
        prev = self._mean_square
        pos, total = 0, left.shape[0]
        while pos < total:
            take = min(total - pos, BLOCK - (frame + pos) % BLOCK)
            piece = left[pos : pos + take]
            ms = float(np.dot(piece, piece)) / take
            prev = ms if prev is None else 0.95 * prev + 0.05 * ms
            pos += take
        self._mean_square = prev

    @property
    def level_db(self) -> float | None:
        """Recent RMS level of what this voice played (None before any audio)."""
        if self._mean_square is None:
            return None
        return 10.0 * float(np.log10(max(self._mean_square, 1e-15)))

    def close(self) -> None:
        self.source.close()
