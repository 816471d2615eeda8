"""Live takeover, ducking, smart transitions and telemetry through the whole engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from grimnir.config._dsp import DspGraph
from grimnir.config.station import Failover
from grimnir.domain.fades import FadeCurve
from grimnir.engine.audio import BLOCK
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.sources import FileSource
from tests.engine._signals import run_engine

RATE = 48_000
MakeMedia = Callable[..., Path]


def tone_level_db(audio: npt.NDArray[np.float32], freq: float) -> float:
    """Level of one sine component (dBFS of its amplitude), by projection."""
    t = np.arange(audio.shape[1]) / RATE
    left = audio[0].astype(np.float64)
    c = np.dot(left, np.cos(2 * np.pi * freq * t)) * 2 / len(t)
    s = np.dot(left, np.sin(2 * np.pi * freq * t)) * 2 / len(t)
    return float(20 * np.log10(max(np.hypot(c, s), 1e-12)))


def test_live_takes_over_with_a_fade_and_automation_returns(make_media: MakeMedia) -> None:
    music = make_media("music.wav", seconds=6.0, freq_hz=300, level_db=-10, rate=RATE)
    dj = make_media("dj.wav", seconds=2.0, freq_hz=1500, level_db=-10, rate=RATE)
    events: list[EngineEvent] = []
    engine = Engine(
        VirtualClock(),
        EngineOptions(failover=Failover(layer_fade_ms=200, live_grace_sec=0)),
        on_event=events.append,
    )
    engine.play(PlayItem("music", str(music)))
    run_engine(engine, 1.0)
    engine.set_live(FileSource(dj, blocking=True))
    audio = run_engine(engine, 3.0)
    engine.close()
    changes = [(e.data["from"], e.data["to"], e.frame) for e in events if e.type == "layer.changed"]
    assert [(a, b) for a, b, _ in changes] == [
        (None, "automation"),
        ("automation", "live"),
        ("live", "automation"),
    ]
    assert changes[1][2] == RATE
    # 200 ms fade: halfway through it both are audible; after it only the DJ.
    during = audio[:, RATE // 2 : RATE // 2 + 9600]  # 0.5–0.7 s after the switch
    assert tone_level_db(during, 1500) > -11
    assert tone_level_db(during, 300) < -60
    halfway = audio[:, 4800 - 480 : 4800 + 480]
    assert -20 < tone_level_db(halfway, 300) < -11
    back = audio[:, int(2.5 * RATE) :]
    assert tone_level_db(back, 300) > -11


def test_voice_over_music_ducks_it_by_the_amount(make_media: MakeMedia) -> None:
    music = make_media("bed.wav", seconds=8.0, freq_hz=200, level_db=-10, rate=RATE)
    voice = make_media("voice.wav", seconds=3.0, freq_hz=1000, level_db=-12, rate=RATE)
    graph = DspGraph.model_validate(
        {
            "nodes": [
                {"type": "mix", "inputs": ["live", "automation"]},
                {
                    "type": "duck",
                    "amount_db": 12,
                    "attack_ms": 50,
                    "release_ms": 300,
                    "threshold_db": -40,
                },
            ]
        }
    )
    engine = Engine(VirtualClock(), EngineOptions(dsp_graph=graph))
    engine.play(PlayItem("bed", str(music)))
    before = run_engine(engine, 1.0)
    engine.set_live(FileSource(voice, blocking=True))
    ducked = run_engine(engine, 3.0)
    after = run_engine(engine, 2.0)
    engine.close()
    bed = tone_level_db(before, 200)
    assert abs(bed + 10) < 0.3
    # Both layers sound together; under the voice the bed sits 12 dB lower.
    assert abs(tone_level_db(ducked[:, RATE:], 1000) + 12) < 0.5
    assert abs(tone_level_db(ducked[:, RATE:], 200) - (bed - 12)) < 0.5
    # Attack: within 0.3 s the bed is most of the way down; release brings it back.
    assert tone_level_db(ducked[:, 14400 : 14400 + 4800], 200) < bed - 9
    assert abs(tone_level_db(after[:, RATE:], 200) - bed) < 0.5


def test_smart_crossfade_decides_from_levels(make_media: MakeMedia) -> None:
    loud = make_media("loud.wav", seconds=3.0, freq_hz=400, level_db=-3, rate=RATE)
    quiet = make_media("quiet.wav", seconds=3.0, freq_hz=700, level_db=-30, rate=RATE)
    engine = Engine(VirtualClock())
    engine.play(PlayItem("loud", str(loud), fade_out_ms=1000, curve=FadeCurve.SMART))
    engine.play(PlayItem("quiet", str(quiet), fade_in_ms=1000, curve=FadeCurve.SMART))
    audio = run_engine(engine, 5.0)
    engine.close()
    # Old much louder → the new one fades in under it, the old one is not faded:
    # just before it ends, the loud track is still at full level.
    tail = audio[:, int(2.8 * RATE) : int(2.95 * RATE)]
    assert abs(tone_level_db(tail, 400) + 3) < 0.3
    assert tone_level_db(tail, 700) < -30


def test_telemetry_every_second_with_levels_and_item(make_media: MakeMedia) -> None:
    song = make_media("song.wav", seconds=4.0, freq_hz=500, level_db=-6, rate=RATE)
    events: list[EngineEvent] = []
    graph = DspGraph.model_validate({"nodes": [{"type": "level_meter"}]})
    engine = Engine(VirtualClock(), EngineOptions(dsp_graph=graph), on_event=events.append)
    engine.play(PlayItem("song", str(song), title="Song", artist="Band"))
    run_engine(engine, 3.0)
    engine.close()
    telemetry = [e for e in events if e.type == "telemetry"]
    assert [e.frame for e in telemetry] == [RATE - BLOCK, 2 * RATE - BLOCK, 3 * RATE - BLOCK]
    last = telemetry[-1].data
    assert abs(last["peak_db"][0] + 6) < 0.1
    assert abs(last["rms_db"][0] + 9.03) < 0.1  # a sine's RMS is 3 dB under its peak
    assert last["current"]["title"] == "Song"
    assert abs(last["current"]["position_ms"] - 3000) <= 20
    assert last["current"]["duration_ms"] == 4000
    assert last["current"]["buffered_ms"] >= 0
    assert last["late_blocks"] == 0
    assert last["on_air"] == "automation"
    assert -20 < last["lufs_momentary"] < 0
    assert last["true_peak_dbtp"] <= -5.9
