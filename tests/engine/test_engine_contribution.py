"""An SRT contribution feed as a timeline item: heard on air for its slot, then the next item."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from grimnir.domain.fades import CuePoints
from grimnir.domain.units import Millis
from grimnir.engine.audio import RATE, Block
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from tests._peers import wait_for
from tests.engine.test_live_source import dominant_hz
from tests.engine.test_network_sources import Sender, free_udp_port, sender, srt_tools  # noqa: F401 - fixtures

MakeMedia = Callable[..., Path]


class Tap:
    """Keeps the processed master bus (a PcmSink)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, Block]] = []

    def write_pcm(self, chunk: Block, frame: int) -> None:
        self.chunks.append((frame, chunk.copy()))

    def close(self) -> None:
        pass

    def between(self, start: int, end: int) -> Block:
        parts = [c for f, c in self.chunks if start <= f and f + c.shape[1] <= end]
        return np.concatenate(parts, axis=1)


@pytest.mark.usefixtures("srt_tools")
def test_an_srt_item_airs_for_its_slot(sender: Sender, make_media: MakeMedia) -> None:  # noqa: F811
    port = free_udp_port()
    song = make_media("after.wav", seconds=2.0, freq_hz=300, level_db=-10, rate=RATE)
    events: list[EngineEvent] = []
    engine = Engine(
        RealtimeClock(burst=5), EngineOptions(realtime=True, process_blocks=5), events.append
    )
    tap = Tap()
    engine.add_pcm_sink(tap)
    engine.play(PlayItem("feed", f"srt://127.0.0.1:{port}", cue=CuePoints(cue_out=Millis(5000))))
    engine.play(PlayItem("song", str(song)))
    loop = threading.Thread(target=engine.run, daemon=True)
    loop.start()
    try:
        time.sleep(0.5)  # the bridge binds its SRT port
        sender.start(440.0, "-c:a", "libmp3lame", "-f", "mpegts", f"srt://127.0.0.1:{port}")
        assert wait_for(
            lambda: any(e.type == "item.started" and e.data["item_id"] == "song" for e in events),
            15,
        )
    finally:
        engine.close()
        loop.join(timeout=5)
    feed_start = next(e.frame for e in events if e.type == "item.started")
    feed_end = next(e for e in events if e.type == "item.ended" and e.data["item_id"] == "feed")
    assert feed_end.frame - feed_start == 5 * RATE
    # The last two seconds of the slot carry the sender's tone.
    heard = tap.between(feed_end.frame - 2 * RATE, feed_end.frame)
    assert abs(dominant_hz(heard) - 440.0) < 5
