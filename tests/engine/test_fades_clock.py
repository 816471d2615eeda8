"""Fade ramps match the domain formulas sample by sample; clocks count blocks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from grimnir.domain.fades import FadeCurve
from grimnir.engine.clock import RealtimeClock, VirtualClock
from grimnir.engine.fades import Ramp
from grimnir.engine.smart import plan_smart_transition


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


def test_realtime_clock_paces_and_counts_late_blocks() -> None:
    clock = RealtimeClock()
    assert clock.wait()
    t0 = time.monotonic()
    for _ in range(5):
        assert clock.wait()
    elapsed = time.monotonic() - t0
    assert elapsed >= 5 * 0.020 - 0.002  # paced, not free-running
    time.sleep(0.1)  # a stall of five blocks
    before = clock.late_blocks
    for _ in range(3):
        clock.wait()
    assert clock.late_blocks >= before + 3  # caught up without sleeping, each counted
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


def test_realtime_clock_in_bursts_renders_ahead_but_keeps_pace() -> None:
    clock = RealtimeClock(burst=5)
    t0 = time.monotonic()
    for _ in range(5):  # blocks 0–4: the first burst, rendered at once
        assert clock.wait()
    first_burst = time.monotonic() - t0
    for _ in range(10):  # blocks 5–14: two more bursts, due at 100 ms and 200 ms
        assert clock.wait()
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.2 - 0.002  # paced to wall time overall
    assert first_burst < elapsed / 2  # the first burst did not wait for its own blocks
    assert clock.frame == 14 * 960
    clock.stop()
    with pytest.raises(ValueError, match="at least 1"):
        RealtimeClock(burst=0)
