"""UTC time ↔ engine frame for a control object, whatever implements it.

The control plane speaks UTC; the engine counts 48 kHz frames from its
clock's origin (a ``RealtimeClock`` re-anchors the origin when it starts, so
the mapping is looked up each time, never cached).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from grimnir.domain.errors import EngineError
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.v1.status import StatusReport


class _ClockLike(Protocol):
    def frame_at(self, when: datetime) -> int: ...

    def time_at(self, frame: int) -> datetime: ...


class Timebase:
    """Converts between UTC and engine frames for ``control``.

    Uses, in order: the control's own ``frame_at``/``time_at``, the clock of
    its ``engine`` (``LocalControl``), or the ``frame`` and ``time`` that its
    ``status()`` reports for one instant.
    """

    def __init__(self, control: Any) -> None:
        self._control = control

    def _clock(self) -> _ClockLike | None:
        control = self._control
        if callable(getattr(control, "frame_at", None)) and callable(
            getattr(control, "time_at", None)
        ):
            clock: _ClockLike = control
            return clock
        engine_clock: Any = getattr(getattr(control, "engine", None), "clock", None)
        if callable(getattr(engine_clock, "frame_at", None)):
            found: _ClockLike = engine_clock
            return found
        return None

    def _anchor(self) -> tuple[int, datetime]:
        status: StatusReport = self._control.status()
        if status.time is None:
            raise EngineError("engine status lacks a frame and time to convert times")
        return status.frame, status.time

    def frame_at(self, when: datetime) -> int:
        clock = self._clock()
        if clock is not None:
            return clock.frame_at(when)
        frame, at = self._anchor()
        return frame + round((when - at) / timedelta(microseconds=1) * SAMPLE_RATE / 1_000_000)

    def time_at(self, frame: int) -> datetime:
        clock = self._clock()
        if clock is not None:
            return clock.time_at(frame)
        anchor_frame, at = self._anchor()
        return at + timedelta(microseconds=(frame - anchor_frame) * 1_000_000 / SAMPLE_RATE)
