"""A web stream as a timeline item: it relays for its slot, fails over, then the next item."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from grimnir.domain.fades import CuePoints
from grimnir.domain.units import Millis
from grimnir.engine.audio import RATE
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from tests._peers import Senders, wait_for

MakeMedia = Callable[..., Path]


def test_a_web_stream_item_fails_over_and_hands_over_on_time(
    senders: Senders, make_media: MakeMedia
) -> None:
    senders.start("primary", 440.0)
    senders.start("backup", 880.0)
    song = make_media("after.wav", seconds=2.0, freq_hz=300, level_db=-10, rate=RATE)
    events: list[EngineEvent] = []
    engine = Engine(
        RealtimeClock(burst=5),
        EngineOptions(realtime=True, process_blocks=5),
        on_event=events.append,
    )
    engine.play(
        PlayItem(
            "relay",
            senders.url("primary"),
            cue=CuePoints(cue_out=Millis(6000)),
            meta={"backup_urls": [senders.url("backup")], "grace_sec": 1.0},
        )
    )
    engine.play(PlayItem("song", str(song)))
    loop = threading.Thread(target=engine.run, daemon=True)
    loop.start()
    try:
        assert wait_for(lambda: engine.clock.frame > 2 * RATE, 10)
        senders.kill("primary")
        assert wait_for(lambda: any(e.type == "webstream.failover" for e in events), 5)
        assert wait_for(lambda: any(e.type == "item.ended" for e in events), 15)
        assert wait_for(
            lambda: any(e.type == "item.started" and e.data["item_id"] == "song" for e in events),
            5,
        )
    finally:
        engine.close()
        loop.join(timeout=5)
    failover = next(e for e in events if e.type == "webstream.failover")
    assert failover.data["item_id"] == "relay"
    assert failover.data["to"] == senders.url("backup")
    relay_start = next(e.frame for e in events if e.type == "item.started")
    relay_end = next(e for e in events if e.type == "item.ended" and e.data["item_id"] == "relay")
    song_start = next(
        e.frame for e in events if e.type == "item.started" and e.data["item_id"] == "song"
    )
    assert relay_end.frame - relay_start == 6 * RATE  # the slot, to the frame
    assert song_start == relay_end.frame
