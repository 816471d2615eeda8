import math
from itertools import pairwise

import pytest

from grimnir.domain import (
    BLOCK_FRAMES,
    BLOCK_MILLIS,
    CuePoints,
    ExecutorState,
    FadeCurve,
    Frames,
    InvalidTransitionError,
    Millis,
    Priority,
    blocks_in,
    frames_to_millis,
    mask_url,
    millis_to_frames,
)


def test_priority_ladder_order_and_keys() -> None:
    assert [p.value for p in Priority] == [0, 1, 2, 3, 4]
    assert Priority.EMERGENCY.preempts(Priority.LIVE_OVERRIDE)
    assert Priority.LIVE_SCHEDULED.preempts(Priority.AUTOMATION)
    assert not Priority.FALLBACK.preempts(Priority.AUTOMATION)
    assert not Priority.AUTOMATION.preempts(Priority.AUTOMATION)
    assert Priority.from_key("live_override") is Priority.LIVE_OVERRIDE
    assert Priority.LIVE_SCHEDULED.key == "live_scheduled"


def test_priority_unknown_key_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid: emergency, live_override"):
        Priority.from_key("live")


@pytest.mark.parametrize(
    ("start", "target", "ok"),
    [
        (ExecutorState.IDLE, ExecutorState.PRELOADING, True),
        (ExecutorState.PRELOADING, ExecutorState.PLAYING, True),
        (ExecutorState.PLAYING, ExecutorState.FADING, True),
        (ExecutorState.FADING, ExecutorState.PLAYING, True),
        (ExecutorState.PLAYING, ExecutorState.LIVE, True),
        (ExecutorState.LIVE, ExecutorState.EMERGENCY, True),
        (ExecutorState.EMERGENCY, ExecutorState.PLAYING, True),
        (ExecutorState.IDLE, ExecutorState.FADING, False),
        (ExecutorState.PRELOADING, ExecutorState.FADING, False),
        (ExecutorState.LIVE, ExecutorState.FADING, False),
        (ExecutorState.EMERGENCY, ExecutorState.FADING, False),
        (ExecutorState.PLAYING, ExecutorState.PLAYING, False),
    ],
)
def test_executor_transitions(start: ExecutorState, target: ExecutorState, ok: bool) -> None:
    assert start.can_become(target) is ok
    if ok:
        assert start.transition(target) is target
    else:
        with pytest.raises(InvalidTransitionError, match=f"from {start.value} to {target.value}"):
            start.transition(target)


def test_every_state_can_reach_emergency_or_is_emergency() -> None:
    for state in ExecutorState:
        assert state is ExecutorState.EMERGENCY or state.can_become(ExecutorState.EMERGENCY)


@pytest.mark.parametrize("curve", list(FadeCurve))
def test_fade_curves_run_from_zero_to_one_monotonically(curve: FadeCurve) -> None:
    points = [curve.gain(i / 100) for i in range(101)]
    assert points[0] == pytest.approx(0.0, abs=1e-12)
    assert points[-1] == pytest.approx(1.0, abs=1e-12)
    assert all(b >= a for a, b in pairwise(points))
    assert curve.gain(-1.0) == points[0]
    assert curve.gain(2.0) == points[-1]


def test_fade_curve_formulas_at_midpoint() -> None:
    assert FadeCurve.LINEAR.gain(0.5) == 0.5
    assert FadeCurve.LOGARITHMIC.gain(0.5) == pytest.approx(math.log10(5.5))
    assert FadeCurve.EXPONENTIAL.gain(0.5) == pytest.approx((math.sqrt(10) - 1) / 9)
    assert FadeCurve.S_CURVE.gain(0.5) == pytest.approx(0.5)
    assert FadeCurve.S_CURVE.gain(0.25) == pytest.approx((1 - math.cos(math.pi / 4)) / 2)


def test_cue_points_validate() -> None:
    cues = CuePoints(
        cue_in=Millis(500), cue_out=Millis(180_000), intro_end=Millis(12_000), segue=Millis(175_000)
    )
    assert cues.playable(Millis(200_000)) == 179_500
    assert cues.playable(Millis(100_000)) == 99_500
    assert CuePoints().playable(Millis(1234)) == 1234
    with pytest.raises(ValueError, match=r"cue_out .* must be after cue_in"):
        CuePoints(cue_in=Millis(1000), cue_out=Millis(1000))
    with pytest.raises(ValueError, match=r"segue .* must lie between"):
        CuePoints(cue_in=Millis(1000), cue_out=Millis(5000), segue=Millis(6000))
    with pytest.raises(ValueError, match="cue_in must be ≥ 0"):
        CuePoints(cue_in=Millis(-1))


def test_units_are_exact_at_48k() -> None:
    assert BLOCK_FRAMES == 960
    assert millis_to_frames(BLOCK_MILLIS) == BLOCK_FRAMES
    assert all(frames_to_millis(millis_to_frames(Millis(ms))) == ms for ms in range(0, 5000, 7))
    assert millis_to_frames(Millis(1)) == 48
    assert blocks_in(Frames(0)) == 0
    assert blocks_in(Frames(1)) == 1
    assert blocks_in(Frames(960)) == 1
    assert blocks_in(Frames(961)) == 2


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("postgresql://grim:s3cret@db.example:5432/radio") == (
        "postgresql://grim:***@db.example:5432/radio"
    )
    assert (
        mask_url("icecast://source:hackme@[::1]:8000/live")
        == "icecast://source:***@[::1]:8000/live"
    )
    assert mask_url("sqlite+aiosqlite:///tmp/x.db") == "sqlite+aiosqlite:///tmp/x.db"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
