"""The engine as it stood at a block boundary, for threads other than its own.

The block loop owns the engine's state (ARCHITECTURE.md, "State has one
owner"): gRPC threads, the harbor and the control plane never walk its
players, mixer or outputs while it changes them. The loop takes an
``EngineSnapshot`` after every block (and right after it applied commands)
and swaps it in whole; ``Engine.snapshot()`` hands out the latest one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grimnir.engine.audio import RATE
from grimnir.engine.v1.status import CurrentItem, OutputStatus, StatusReport

if TYPE_CHECKING:
    from grimnir.engine.engine import Engine


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """The automation item on air and how far into it the engine is."""

    item_id: str
    title: str
    artist: str
    position_ms: int


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """What ``status()`` reports, read at one block boundary (never changed afterwards)."""

    frame: int
    """The engine frame it was taken at (first frame of the block mixed last)."""
    origin: datetime
    """When frame 0 aired (a ``RealtimeClock`` anchors it at its first block)."""
    on_air: str | None
    current: NowPlaying | None
    queue: tuple[str, ...]
    """Item ids queued on automation, in play order."""
    outputs: tuple[OutputStatus, ...]
    """Every output: name, state, reconnects, last error."""
    late_blocks: int
    fallback: Mapping[str, Any]
    """``FallbackPlayer.status()``, read-only."""
    live_label: str
    """The harbor mount on the live layer ("" when none)."""
    live_holding: bool = False
    """A live source is routed to the live layer and has not ended."""

    @property
    def time(self) -> datetime:
        """When ``frame`` aired (UTC)."""
        return self.origin + timedelta(microseconds=self.frame * 1_000_000 / RATE)

    def as_status(self, station_id: str, pid: int) -> StatusReport:
        """The engine's part of ``EngineControl.status()`` (its fallback in a new dict)."""
        current = self.current
        return StatusReport(
            station_id=station_id,
            pid=pid,
            frame=self.frame,
            time=self.time,
            on_air=self.on_air,
            current=None
            if current is None
            else CurrentItem(current.item_id, current.title, current.artist, current.position_ms),
            queue=self.queue,
            outputs=self.outputs,
            late_blocks=self.late_blocks,
            fallback=dict(self.fallback),
        )


def take_snapshot(engine: Engine) -> EngineSnapshot:
    """Read ``engine`` now: only on the thread that steps it, between blocks."""
    clock = engine.clock
    on_air = engine.mixer.on_air
    voice = engine.automation.current
    current = None
    if voice is not None:
        item = voice.item
        position = voice.source.position_frames * 1000 // RATE
        current = NowPlaying(item.item_id, item.title, item.artist, position)
    return EngineSnapshot(
        frame=clock.frame,
        origin=clock.origin,
        on_air=None if on_air is None else on_air.value,
        current=current,
        queue=tuple(item.item_id for item in engine.automation.queue),
        outputs=tuple(
            OutputStatus(
                b.output.name,
                b.output.state.value,
                max(0, b.output.connects - 1),
                b.output.last_error,
            )
            for b, _ in engine.outputs
        ),
        late_blocks=clock.late_blocks,
        fallback=MappingProxyType(engine.fallback.status()),
        live_label=engine.live_label,
        live_holding=engine.live is not None and not engine.live.finished,
    )
