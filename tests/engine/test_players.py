"""The layer switch's inputs: one ``LayerPlayer`` per layer, the live one on its own."""

from __future__ import annotations

from grimnir.domain.layers import Layer
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine
from grimnir.engine.events import EngineEvent
from grimnir.engine.layers import LayerPlayer
from grimnir.engine.live import LIVE_HOLD_FRAMES, LivePlayer
from tests._live import ScriptedLive


def test_the_engine_has_one_player_per_layer_in_priority_order() -> None:
    engine = Engine(VirtualClock())
    players: dict[Layer, LayerPlayer] = dict(engine.players)
    assert list(players) == sorted(Layer, key=lambda layer: layer.priority)
    assert players[Layer.LIVE] is engine.live_player
    assert players[Layer.AUTOMATION] is engine.automation
    assert not any(player.active for player in players.values())
    engine.close()


def _player(events: list[EngineEvent]) -> LivePlayer:
    return LivePlayer(events.append, grace_frames=RATE, timeout_frames=5 * RATE)


def test_the_live_player_holds_the_air_while_audio_flows_and_ends_the_session() -> None:
    events: list[EngineEvent] = []
    live = _player(events)
    assert live.render(0, BLOCK) is None
    assert not live.holds_air
    feed = ScriptedLive([(0.0, 0.1)], end_s=0.2)
    live.route(feed, "/live", 0)
    held = []
    for frame in range(0, int(0.4 * RATE) + BLOCK, BLOCK):
        block = live.render(frame, BLOCK)
        assert block is not None or not live.active
        held.append(live.holds_air)
    # held through the audio and then until LIVE_HOLD_FRAMES have passed by the end
    # of a block, so the block in which they would be over already plays what is under
    holding = int(0.1 * RATE) // BLOCK + LIVE_HOLD_FRAMES // BLOCK - 1
    assert held[:holding] == [True] * holding
    assert not any(held[holding:])
    assert [(e.type, e.data) for e in events] == [("live.started", {"mount": "/live"})]
    live.route(None, "", int(0.5 * RATE))
    assert feed.closed
    assert not live.active
    assert events[-1] == EngineEvent(
        "live.ended", int(0.5 * RATE), {"mount": "/live", "reason": "routed_off"}
    )


def test_a_disconnect_after_the_grace_drops_the_source() -> None:
    events: list[EngineEvent] = []
    live = _player(events)
    feed = ScriptedLive([(0.0, 0.1)], end_s=0.1)
    live.route(feed, "/live", 0)
    frame = 0
    while live.active:
        live.render(frame, BLOCK)
        frame += BLOCK
    assert feed.closed
    assert live.source is None
    ended = events[-1]
    assert (ended.type, ended.data["reason"]) == ("live.ended", "disconnected")
    assert ended.frame == int(0.1 * RATE) + RATE - BLOCK  # the block the grace ran out in
