"""On air, an item to play at once (a resume after an engine restart) is heard on the
first block it plays: its decoder starts when the request comes, not at that block."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from grimnir.domain.fades import CuePoints
from grimnir.domain.units import Millis
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.mixing.automation import PlayItem

MakeMedia = Callable[..., Path]


def test_an_item_to_play_at_once_is_heard_on_its_first_block(make_media: MakeMedia) -> None:
    tone = make_media("cut", seconds=10.0, rate=48_000)
    # NOTE: a realtime engine (decoders never waited for) stepped by hand, so the test
    # decides when the block loop wakes up after the request
    engine = Engine(VirtualClock(), EngineOptions(realtime=True))
    try:
        engine.play(PlayItem("resumed", str(tone), cue=CuePoints(cue_in=Millis(4000))))
        time.sleep(1.0)  # a generous wait: the loop wakes up to 200 ms later on air
        engine.clock.wait()
        first = engine.step()
        current = engine.automation.current
    finally:
        engine.close()
    assert current is not None
    assert current.item.item_id == "resumed"
    assert float(np.abs(first).max()) > 0.01  # a decoder started at the block gives zeros
