"""The live layer's rules: grace for dropouts and reconnects, timeout for stalls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grimnir.config.station import Failover
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from tests._live import ScriptedLive


def run(engine: Engine, seconds: float) -> None:
    for _ in range(int(seconds * RATE) // BLOCK):
        engine.clock.wait()
        engine.step()


def layer_changes(events: list[EngineEvent]) -> list[tuple[str | None, float]]:
    return [(e.data["to"], e.frame / RATE) for e in events if e.type == "layer.changed"]


@pytest.fixture
def make_engine(make_media: Callable[..., Path]) -> Callable[..., Engine]:
    """An engine with 30 s of music on automation, to which the air falls back."""
    music = make_media("music.wav", seconds=30.0, freq_hz=300, level_db=-10, rate=RATE)

    def make(events: list[EngineEvent], grace: float, timeout: float) -> Engine:
        failover = Failover(live_grace_sec=grace, live_timeout_sec=timeout, layer_fade_ms=100)
        engine = Engine(VirtualClock(), EngineOptions(failover=failover), on_event=events.append)
        engine.play(PlayItem("music", str(music)))
        return engine

    return make


HOLD_S = 0.1
"""The live layer holds the air this long after its audio last arrived (network jitter)."""


def test_a_dropout_gives_the_air_to_automation_and_the_dj_takes_it_back(
    make_engine: Callable[..., Engine],
) -> None:
    events: list[EngineEvent] = []
    engine = make_engine(events, grace=2.0, timeout=10.0)
    engine.set_live(ScriptedLive([(0, 3), (4.5, 8)], end_s=None), "/live")
    run(engine, 8.0)
    engine.close()
    changes = layer_changes(events)
    assert [to for to, _ in changes] == ["live", "automation", "live"]
    assert changes[1][1] == 3.0 + HOLD_S - BLOCK / RATE  # no silence waiting for the DJ
    assert changes[2][1] == 4.5
    # one session: the dropout did not end the show
    assert [e.type for e in events if e.type.startswith("live.")] == ["live.started"]


def test_a_longer_dropout_gives_the_air_back_until_audio_returns(
    make_engine: Callable[..., Engine],
) -> None:
    events: list[EngineEvent] = []
    engine = make_engine(events, grace=1.0, timeout=10.0)
    engine.set_live(ScriptedLive([(0, 2), (5, 8)], end_s=None), "/live")
    run(engine, 8.0)
    engine.close()
    changes = layer_changes(events)
    assert [to for to, _ in changes] == ["live", "automation", "live"]
    assert changes[1][1] == 2.0 + HOLD_S - BLOCK / RATE
    assert changes[2][1] == 5.0


def test_a_stall_as_long_as_the_timeout_drops_the_source(
    make_engine: Callable[..., Engine],
) -> None:
    events: list[EngineEvent] = []
    engine = make_engine(events, grace=1.0, timeout=3.0)
    feed = ScriptedLive([(0, 2), (6, 9)], end_s=None)
    engine.set_live(feed, "/live")
    run(engine, 8.0)
    engine.close()
    ended = [e for e in events if e.type == "live.ended"]
    assert len(ended) == 1
    assert ended[0].data == {"mount": "/live", "reason": "timeout"}
    assert ended[0].frame / RATE == 5.0 - BLOCK / RATE  # the block where the gap reached 3 s
    assert feed.closed
    assert engine.live is None


def test_a_disconnect_gives_the_air_back_and_a_reconnect_within_grace_continues(
    make_engine: Callable[..., Engine],
) -> None:
    events: list[EngineEvent] = []
    engine = make_engine(events, grace=2.0, timeout=30.0)
    engine.set_live(ScriptedLive([(0, 3)], end_s=3), "/live")
    run(engine, 4.0)
    engine.set_live(ScriptedLive([(0, 3)], end_s=3), "/live")  # back after 1 s
    run(engine, 6.0)
    engine.close()
    changes = layer_changes(events)
    assert [to for to, _ in changes] == ["live", "automation", "live", "automation"]
    assert [at for _, at in changes][1:] == [
        3.0 + HOLD_S - BLOCK / RATE,
        4.0,
        7.0 + HOLD_S - BLOCK / RATE,
    ]
    ended = [e for e in events if e.type == "live.ended"]
    started = [e for e in events if e.type == "live.started"]
    assert len(started) == 1  # the reconnect continued the session
    assert [e.data["reason"] for e in ended] == ["disconnected"]
    # Second feed ran from 4 s to 7 s; the session is kept 2 s more for the DJ, then ends.
    assert ended[0].frame / RATE == 9.0 - BLOCK / RATE
