"""Fade ramps match the domain formulas sample by sample; clocks count blocks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import grimnir.engine.clock as clock_module
from grimnir.domain.fades import FadeCurve
from grimnir.engine.clock import RealtimeClock, VirtualClock
from grimnir.engine.mixing.fades import Ramp
from grimnir.engine.mixing.smart import plan_smart_transition


@pytest.mark.parametrize("curve", [c for c in FadeCurve if c is not FadeCurve.SMART])
@pytest.mark.parametrize("fade_in", [True, False])
def test_ramp_matches_formula_at_every_sample(curve: FadeCurve, fade_in: bool) -> None:
    ramp = Ramp(start=1000, length=4800, curve=curve, fade_in=fade_in)
    # Evaluate in odd-sized chunks that straddle the ramp's edges.
    frames = np.arange(0, 7000)
    pieces = []
    for first in range(0, 7000, 777):
        n = min(777, 7000 - first)
        g = ramp.gains(first, n)
        pieces.append(np.ones(n, dtype=np.float32) if g is None else g)
    got = np.concatenate(pieces)
    progress = np.clip((frames - 1000) / 4800, 0.0, 1.0)
    if fade_in:
        want = np.array([curve.gain(p) for p in progress])
    else:
        want = np.array([curve.gain(1.0 - p) for p in progress])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert got[999] == (0.0 if fade_in else 1.0)
    assert got[5800] == (1.0 if fade_in else 0.0)


def test_zero_length_ramp_is_a_cut() -> None:
    cut = Ramp(start=10, length=0, curve=FadeCurve.LINEAR, fade_in=False)
    g = cut.gains(0, 20)
    assert g is not None
    assert g[:10].tolist() == [1.0] * 10
    assert g[10:].tolist() == [0.0] * 10
    assert cut.gains(0, 10) is None


def test_virtual_clock_counts_blocks_and_maps_time() -> None:
    origin = datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)
    clock = VirtualClock(origin)
    for _ in range(50 * 3600):  # one hour of blocks
        assert clock.wait()
    assert clock.frame == (50 * 3600 - 1) * 960
    assert clock.time_at(48_000) == origin + timedelta(seconds=1)
    assert clock.frame_at(origin + timedelta(minutes=1)) == 60 * 48_000
    clock.stop()
    assert not clock.wait()
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


class ManualTime:
    """The monotonic clock ``RealtimeClock`` reads, moved by the test and by its sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now


class ManualSleep(threading.Event):
    """A clock's stop event whose timed ``wait`` sleeps on ``ManualTime`` (at once)."""

    def __init__(self, time_: ManualTime) -> None:
        super().__init__()
        self.time = time_

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None and not self.is_set():
            self.time.sleeps.append(timeout)
            self.time.now += timeout
        return self.is_set()


def manual_clock(
    monkeypatch: pytest.MonkeyPatch, burst: int = 1
) -> tuple[RealtimeClock, ManualTime]:
    """A ``RealtimeClock`` on a monotonic clock only the test moves: how it paces is then
    exact, whatever the machine is doing."""
    manual = ManualTime()
    monkeypatch.setattr(clock_module, "time", manual)
    clock = RealtimeClock(burst=burst)
    clock._stop = ManualSleep(manual)
    return clock, manual


def test_realtime_clock_paces_and_counts_late_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, manual = manual_clock(monkeypatch)
    assert clock.wait()
    for _ in range(5):
        assert clock.wait()
    assert manual.sleeps == pytest.approx([0.020] * 5)  # paced, not free-running
    manual.now += 0.1  # a stall of five blocks
    for _ in range(3):
        assert clock.wait()
    assert len(manual.sleeps) == 5  # caught up without sleeping …
    assert clock.late_blocks == 3  # … and each block more than one late counted
    clock.stop()
    assert not clock.wait()


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (-40.0, -38.0, "crossfade"),  # both quiet and close
        (-30.0, -12.0, "fade_out_only"),  # new much louder
        (-10.0, -30.0, "fade_in_only"),  # old much louder
        (-12.0, -13.0, "sequence"),  # both loud, close: no overlap
        (-20.0, -18.0, "crossfade"),  # both below "high", close
    ],
)
def test_smart_transition_rules(old: float, new: float, kind: str) -> None:
    assert plan_smart_transition(old, new).kind == kind


def test_realtime_clock_in_bursts_renders_ahead_but_keeps_pace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, manual = manual_clock(monkeypatch, burst=5)
    for _ in range(5):  # blocks 0–4: the first burst, rendered at once
        assert clock.wait()
    assert manual.sleeps == []  # the first burst did not wait for its own blocks
    for _ in range(10):  # blocks 5–14: two more bursts, due at 100 ms and 200 ms
        assert clock.wait()
    assert manual.sleeps == pytest.approx([0.1, 0.1])  # one wake-up per burst, on time
    assert clock.late_blocks == 0
    assert clock.frame == 14 * 960
    clock.stop()
    with pytest.raises(ValueError, match="at least 1"):
        RealtimeClock(burst=0)
