"""The engine carries the station alone: fallback rotation, fallback_paths, emergency audio.

Every test steps a real engine on a ``VirtualClock`` and checks engine frames,
event order and the rendered master bus (no DSP: what a layer plays is what
comes out).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from grimnir.config.station import Failover
from grimnir.domain.fades import CuePoints, Timing
from grimnir.domain.units import Millis
from grimnir.engine.audio import BLOCK
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.fallback import EMPTY_AIR_LOOKAHEAD_FRAMES, RETRY_FRAMES
from grimnir.engine.mixing.automation import PlayItem
from tests._live import RelayEngine, ScriptedLive
from tests.engine._signals import run_engine

RATE = 48_000
FADE_MS = 200
MakeMedia = Callable[..., Path]
Audio = npt.NDArray[np.float32]


def tone(make_media: MakeMedia, name: str, seconds: float, freq: float, level: float = -12) -> Path:
    return make_media(name, seconds=seconds, freq_hz=freq, level_db=level, rate=RATE)


def block_rms_db(audio: Audio) -> npt.NDArray[np.float64]:
    n = audio.shape[1] // BLOCK
    blocks = audio[:, : n * BLOCK].reshape(2, n, BLOCK)
    ms = np.mean(np.square(blocks, dtype=np.float64), axis=(0, 2))
    return np.asarray(10 * np.log10(np.maximum(ms, 1e-15)))


def station(events: list[EngineEvent], **failover: Any) -> Engine:
    options = EngineOptions(failover=Failover(layer_fade_ms=FADE_MS, **failover))
    return Engine(VirtualClock(), options, on_event=events.append)


def of(events: list[EngineEvent], kind: str, **data: Any) -> list[EngineEvent]:
    return [
        e for e in events if e.type == kind and all(e.data.get(k) == v for k, v in data.items())
    ]


def flow(events: list[EngineEvent]) -> list[tuple[str, int, str]]:
    """(type, frame, item or layer) of the events that tell what aired, in order."""
    out: list[tuple[str, int, str]] = []
    for e in events:
        if e.type in ("item.started", "item.ended"):
            out.append((e.type, e.frame, str(e.data["item_id"])))
        elif e.type == "layer.changed":
            out.append((e.type, e.frame, f"{e.data['from']}->{e.data['to']}"))
        elif e.type in ("fallback.started", "fallback.ended", "silence.detected"):
            out.append((e.type, e.frame, ""))
    return out


def samples(read_wav: Callable[[Path], Audio], path: Path, frames: int) -> Audio:
    return read_wav(path)[:, :frames]


def test_queue_runs_dry_and_the_rotation_airs_on_the_next_frame(
    make_media: MakeMedia, read_wav: Callable[[Path], Audio]
) -> None:
    song = tone(make_media, "song", 1.01, 300)  # 48 480 frames: ends mid-block
    bed1 = tone(make_media, "bed1", 0.5, 700)
    bed2 = tone(make_media, "bed2", 0.3, 900)
    events: list[EngineEvent] = []
    engine = station(events)  # silence_duration_sec is 10 s: no waiting for it here
    engine.set_fallback(
        [
            PlayItem("r1", str(bed1), title="Bed One", artist="House", meta={"media_id": "m-1"}),
            PlayItem("r2", str(bed2), title="Bed Two"),
        ]
    )
    engine.play(PlayItem("song", str(song), title="Song"))
    audio = run_engine(engine, 3.0)
    engine.close()
    end = 48_480
    b1, b2 = 24_000, 14_400
    assert flow(events)[:6] == [
        ("item.started", 0, "song"),
        ("layer.changed", 0, "None->automation"),
        ("item.ended", end, "song"),
        ("item.started", end, "r1"),
        ("fallback.started", end, ""),
        ("layer.changed", end, "automation->fallback"),
    ]
    assert of(events, "item.ended", item_id="r1")[0].frame == end + b1
    starts = of(events, "item.started", layer="fallback")
    # The rotation loops, item after item, with no gap.
    assert [(e.data["item_id"], e.frame) for e in starts[:4]] == [
        ("r1", end),
        ("r2", end + b1),
        ("r1", end + b1 + b2),
        ("r2", end + 2 * b1 + b2),
    ]
    first = starts[0].data
    assert (first["title"], first["artist"], first["media_id"]) == ("Bed One", "House", "m-1")
    assert first["fallback"] == "rotation"
    assert of(events, "silence.detected") == []
    # The song's last frame, then the bed's first at full level: a splice, not a fade.
    np.testing.assert_allclose(audio[:, :end], samples(read_wav, song, end), atol=1e-4)
    np.testing.assert_allclose(audio[:, end : end + b1], samples(read_wav, bed1, b1), atol=1e-4)
    assert (block_rms_db(audio) > -30).all()  # not one silent block


def test_a_broken_file_in_the_rotation_is_skipped_on_the_frame_it_failed(
    make_media: MakeMedia,
    make_corrupt_media: Callable[[str], Path],
    read_wav: Callable[[Path], Audio],
) -> None:
    good1 = tone(make_media, "good1", 0.51, 700)
    good2 = tone(make_media, "good2", 0.5, 900)
    broken = make_corrupt_media("empty")
    events: list[EngineEvent] = []
    engine = station(events)
    engine.set_fallback(
        [
            PlayItem("good1", str(good1)),
            PlayItem("broken", str(broken)),
            PlayItem("good2", str(good2)),
        ]
    )
    audio = run_engine(engine, 1.5)
    status = engine.fallback.status()
    engine.close()
    # Nothing queued at all: fallback is on air from the first frame.
    assert flow(events)[:3] == [
        ("item.started", 0, "good1"),
        ("fallback.started", 0, ""),
        ("layer.changed", 0, "None->fallback"),
    ]
    g1 = 24_480
    assert of(events, "item.ended", item_id="good1")[0].frame == g1
    failed = of(events, "item.ended", item_id="broken")
    assert [(e.frame, e.data["reason"]) for e in failed] == [(g1, "error")]
    assert of(events, "item.started", item_id="broken") == []
    assert [e.data["path"] for e in of(events, "source.error")] == [str(broken)]
    assert of(events, "item.started", item_id="good2")[0].frame == g1
    np.testing.assert_allclose(audio[:, g1 : g1 + 9600], samples(read_wav, good2, 9600), atol=1e-4)
    assert (block_rms_db(audio) > -30).all()
    assert status["failed"] == 1
    assert status["rotation"] == 3


def test_a_rotation_that_cannot_play_falls_through_to_fallback_paths(
    make_media: MakeMedia, make_corrupt_media: Callable[[str], Path], tmp_path: Path
) -> None:
    folder = tmp_path / "beds"
    folder.mkdir()
    for name, freq in (("b-2", 900), ("a-1", 700)):
        (folder / f"{name}.wav").write_bytes(tone(make_media, name, 0.4, freq).read_bytes())
    events: list[EngineEvent] = []
    engine = station(events, fallback_paths=[str(folder)])
    engine.set_fallback(
        [
            PlayItem("x", str(make_corrupt_media("no_audio"))),
            PlayItem("y", str(tmp_path / "gone.mp3")),
        ]
    )
    audio = run_engine(engine, 12.0)
    engine.close()
    assert [(e.data["item_id"], e.data["reason"]) for e in of(events, "item.ended")][:2] == [
        ("x", "error"),
        ("y", "error"),
    ]
    unavailable = [(e.frame, e.data["source"]) for e in of(events, "fallback.unavailable")]
    # Tried again at the first item boundary after RETRY_FRAMES: still broken.
    retried = (RETRY_FRAMES // 19_200 + 1) * 19_200
    assert unavailable == [(0, "rotation"), (retried, "rotation")]
    starts = of(events, "item.started", layer="fallback")
    # The folder's files by name, looped, from the very first frame.
    assert [(e.data["title"], e.data["fallback"], e.frame) for e in starts[:3]] == [
        ("a-1", "paths", 0),
        ("b-2", "paths", 19_200),
        ("a-1", "paths", 38_400),
    ]
    assert (block_rms_db(audio) > -30).all()  # no silence for the broken files


def test_with_only_emergency_audio_it_airs_whenever_nothing_is_queued(
    make_media: MakeMedia,
) -> None:
    siren = tone(make_media, "siren", 0.3, 1000)
    song = tone(make_media, "song", 0.5, 300)
    events: list[EngineEvent] = []
    engine = station(events, emergency_audio_path=str(siren))
    audio = run_engine(engine, 1.0)
    engine.play(PlayItem("song", str(song)))
    audio = np.concatenate([audio, run_engine(engine, 1.5)], axis=1)
    engine.close()
    starts = of(events, "item.started", layer="fallback")
    assert [(e.frame, e.data["fallback"], e.data["title"]) for e in starts[:4]] == [
        (0, "emergency", "siren"),
        (14_400, "emergency", "siren"),
        (28_800, "emergency", "siren"),
        (43_200, "emergency", "siren"),
    ]
    changes = [e.data["to"] for e in of(events, "layer.changed")]
    assert changes == ["fallback", "automation", "fallback"]
    song_started = of(events, "item.started", item_id="song")[0].frame
    song_ended = of(events, "item.ended", item_id="song")[0].frame
    assert song_started == RATE
    later = [e.frame for e in starts if e.frame >= song_ended]
    assert later[0] == song_ended  # back on air on the frame the song ended
    assert (block_rms_db(audio) > -30).all()


def test_emergency_audio_put_there_later_is_found(make_media: MakeMedia, tmp_path: Path) -> None:
    siren = tone(make_media, "siren", 0.3, 1000)
    later = tmp_path / "emergency.wav"
    events: list[EngineEvent] = []
    engine = station(events, emergency_audio_path=str(later))
    run_engine(engine, 1.0)
    assert of(events, "layer.changed") == []  # nothing to play: no switch to a silent layer
    later.write_bytes(siren.read_bytes())
    run_engine(engine, RETRY_FRAMES / RATE)
    engine.close()
    assert [e.frame for e in of(events, "fallback.started")] == [RETRY_FRAMES]


def test_a_queued_item_takes_the_air_back_on_its_frame(
    make_media: MakeMedia, read_wav: Callable[[Path], Audio]
) -> None:
    bed = tone(make_media, "bed", 2.0, 700)
    news = tone(make_media, "news", 1.0, 300, level=-6)
    events: list[EngineEvent] = []
    engine = station(events)
    engine.set_fallback([PlayItem("bed", str(bed))])
    run_engine(engine, 0.5)
    at = RATE + 123  # mid-block
    engine.play(PlayItem("news", str(news), start_at=at, timing=Timing.HARD))
    audio = run_engine(engine, 2.0)
    status = engine.fallback.status()
    engine.close()
    base = RATE // 2
    assert [f for f in flow(events) if f[1] >= at] == [
        ("item.started", at, "news"),
        ("fallback.ended", at, ""),
        ("layer.changed", at, "fallback->automation"),
        ("item.ended", at - 123 + FADE_MS * 48, "bed"),  # faded out under the news, then ended
        ("item.ended", at + RATE, "news"),
        ("item.started", at + RATE, "bed"),  # a fresh start of the rotation, not mid-item
        ("fallback.started", at + RATE, ""),
        ("layer.changed", at + RATE, "automation->fallback"),
    ]
    assert of(events, "item.ended", item_id="bed")[0].data["reason"] == "preempted"
    # Before the news: only the bed. From the news's frame on, the news at full level;
    # once the layer fade is over, nothing but the news.
    local = at - base
    news_audio = samples(read_wav, news, RATE)
    after_fade = local - 123 + FADE_MS * 48
    np.testing.assert_allclose(
        audio[:, after_fade : local + RATE], news_audio[:, after_fade - local :], atol=1e-4
    )
    heard = audio[:, local : local + 2400] - news_audio[:, :2400]
    bed_left = np.sqrt(np.mean(np.square(heard)))
    assert 0 < bed_left < 10 ** (-12 / 20)  # the bed fading out under it
    assert status["playing"] == "rotation"


def test_an_item_due_within_the_lookahead_is_waited_for(make_media: MakeMedia) -> None:
    first = tone(make_media, "first", 1.0, 300)
    soon = tone(make_media, "soon", 0.5, 400)
    later = tone(make_media, "later", 0.5, 500)
    bed = tone(make_media, "bed", 5.0, 700)
    events: list[EngineEvent] = []
    engine = station(events)
    engine.set_fallback([PlayItem("bed", str(bed))])
    engine.play(PlayItem("first", str(first)))
    gap_ok = RATE + EMPTY_AIR_LOOKAHEAD_FRAMES - BLOCK  # within the lookahead: waited for
    engine.play(PlayItem("soon", str(soon), start_at=gap_ok, timing=Timing.HARD))
    after = gap_ok + RATE // 2
    engine.play(PlayItem("later", str(later), start_at=after + RATE, timing=Timing.HARD))
    run_engine(engine, 4.0)
    engine.close()
    changes = [(e.frame, e.data["to"]) for e in of(events, "layer.changed")]
    assert changes == [
        (0, "automation"),
        (after, "fallback"),  # "soon" ended with a second to go: fallback at once
        (after + RATE, "automation"),
        (after + RATE + RATE // 2, "fallback"),
    ]


def test_a_routed_dj_whose_audio_stopped_leaves_the_air_to_fallback(make_media: MakeMedia) -> None:
    # Nothing under the DJ (the control plane is away): when the DJ's audio stops,
    # fallback covers at once, and the DJ takes the air back on returning.
    bed = tone(make_media, "bed", 5.0, 700)
    events: list[EngineEvent] = []
    engine = station(events)
    engine.set_fallback([PlayItem("bed", str(bed))])
    engine.set_live(ScriptedLive([(0, 1), (2, 3)], end_s=None), "/live")
    run_engine(engine, 3.5)
    engine.close()
    changes = [(e.frame, e.data["to"]) for e in of(events, "layer.changed")]
    hold = 5 * BLOCK  # the live layer holds the air 100 ms after its last audio
    assert changes == [
        (0, "live"),
        (RATE + hold - BLOCK, "fallback"),  # no silence waiting for the DJ
        (2 * RATE, "live"),
        (3 * RATE + hold - BLOCK, "fallback"),
    ]


def test_a_relay_that_stops_delivering_leaves_the_air_to_fallback_until_it_flows(
    make_media: MakeMedia,
) -> None:
    # A web stream entry (4 s slot) whose remote server goes quiet from 1 s to 2 s:
    # the slot runs on, the air goes to fallback 100 ms into the stall and comes back
    # on the frame the stream delivers again; after the slot, fallback again.
    bed = tone(make_media, "bed", 5.0, 700)
    events: list[EngineEvent] = []
    engine = RelayEngine(
        VirtualClock(), EngineOptions(failover=Failover(layer_fade_ms=FADE_MS)), events.append
    )
    engine.relay_windows = ((0, 1), (2, 4))
    engine.set_fallback([PlayItem("bed", str(bed))])
    engine.play(PlayItem("relay", "http://relay.test/live", cue=CuePoints(cue_out=Millis(4000))))
    audio = run_engine(engine, 4.5)
    engine.close()
    hold = 5 * BLOCK
    assert [(e.frame, e.data["to"]) for e in of(events, "layer.changed")] == [
        (0, "automation"),
        (RATE + hold - BLOCK, "fallback"),
        (2 * RATE, "automation"),
        (4 * RATE, "fallback"),
    ]
    assert [(e.type, e.frame) for e in of(events, "item.ended", item_id="relay")] == [
        ("item.ended", 4 * RATE)
    ]
    levels = block_rms_db(audio)
    quiet = np.flatnonzero(levels < -50)
    # only the hold: the stall's first 80 ms (the fallback's first block is audible)
    assert quiet.tolist() == list(range(RATE // BLOCK, RATE // BLOCK + 4))
