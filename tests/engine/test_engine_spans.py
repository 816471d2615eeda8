"""Offline rendering in multi-block spans gives what stepping block by block gives.

``Engine.advance``/``step(blocks=k)`` mix the stretches between events in one
call each. The same programme (crossfades, a hard start mid-item, a skip at a
given frame, an emergency item and back: two layer changes) is rendered block
by block and in spans of several sizes, through the example station's DSP
chain to a WAV and an MP3 file: master bus, file bytes and events must match.
So is a programme with a gap and a silent item, where fallback takes the air.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from grimnir.config.station import Failover, load_station_config
from grimnir.domain import CuePoints, Millis
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.domain.fades import FadeCurve, Timing
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import RealtimeClock, VirtualClock
from grimnir.engine.engine import Engine, EngineOptions, seconds_to_frames
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.mixing.voice import Voice
from grimnir.engine.sources import FileSource
from tests._live import RelayEngine, ScriptedLive

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
MakeMedia = Callable[..., Path]
TOTAL_BLOCKS = round(34.0 * 48_000 / BLOCK)
Action = Callable[[Engine], None]


@dataclass
class Run:
    master: npt.NDArray[np.float32]
    events: list[EngineEvent]
    files: dict[str, bytes]
    quiet: list[int] = field(default_factory=list)
    """Sizes of the stretches mixed in one call."""


def watch_quiet(
    engine: Engine, events: list[EngineEvent], on_air: list[str | None] | None = None
) -> list[int]:
    """The sizes of the stretches ``engine`` mixes in one call, each checked to hold no
    event (and in ``on_air``, the layer on air in each)."""
    sizes: list[int] = []
    mix_quiet = engine._mix_quiet

    def counted(frame0: int, count: int) -> npt.NDArray[np.float32]:
        sizes.append(count)
        if on_air is not None:
            on_air.append(None if engine.mixer.on_air is None else engine.mixer.on_air.value)
        before = len(events)
        master = mix_quiet(frame0, count)
        # A stretch mixed in one call holds no event (``until_event`` relies on it).
        raised = [(e.type, e.frame, e.data.get("item_id")) for e in events[before:]]
        assert {kind for kind, _, _ in raised} <= {"telemetry"}, (frame0, count, raised)
        return master

    engine._mix_quiet = counted  # type: ignore[method-assign]
    return sizes


def programme(make_media: MakeMedia) -> tuple[list[PlayItem], dict[int, Action]]:
    """Queued items, and commands to give before given blocks."""
    a = make_media("a", seconds=6.0, signal="noise", seed=1, level_db=-10, rate=48_000)
    b = make_media("b", seconds=5.2, signal="noise", seed=2, level_db=-20, fmt="mp3")
    c = make_media("c", seconds=9.0, freq_hz=330, level_db=-8, rate=48_000)
    d = make_media("d", seconds=7.0, signal="noise", seed=4, level_db=-14, fmt="flac")
    e = make_media("e", seconds=12.0, freq_hz=550, level_db=-12, rate=44_100)
    x = make_media("x", seconds=2.5, freq_hz=880, level_db=-6, rate=48_000)
    items = [
        PlayItem("a", str(a), fade_out_ms=1000, curve=FadeCurve.LINEAR),
        # Smart transitions in and out of b: they compare levels kept block by block.
        PlayItem(
            "b", str(b), fade_in_ms=1000, fade_out_ms=1500, curve=FadeCurve.SMART, gain_db=3.0
        ),
        # Planned later than b's segue: a soft item follows its predecessor anyway.
        PlayItem(
            "c",
            str(c),
            start_at=seconds_to_frames(12.0),
            fade_in_ms=1500,
            curve=FadeCurve.LOGARITHMIC,
        ),
        # A hard start in the middle of c (and of a block).
        PlayItem(
            "d",
            str(d),
            start_at=seconds_to_frames(13.37) + 123,
            timing=Timing.HARD,
            fade_in_ms=500,
        ),
        PlayItem("e", str(e), fade_in_ms=700, curve=FadeCurve.EXPONENTIAL),
    ]
    skip_block = round(16.1 * 48_000 / BLOCK)
    emergency_block = round(21.0 * 48_000 / BLOCK)
    actions: dict[int, Action] = {
        skip_block: lambda engine: engine.skip(800),
        emergency_block: lambda engine: engine.insert_emergency(PlayItem("x", str(x))),
    }
    return items, actions


def render(
    make_media: MakeMedia,
    folder: Path,
    span: int | None,
    *,
    until_event: bool = False,
    process_blocks: int = 3,
) -> Run:
    """Render the programme block by block (``span`` None) or in steps of ``span`` blocks."""
    station = load_station_config(EXAMPLE)
    options = EngineOptions(
        dsp_graph=station.dsp_graph,
        failover=station.failover.model_copy(update={"layer_fade_ms": 300}),
        process_blocks=process_blocks,
    )
    events: list[EngineEvent] = []
    engine = Engine(VirtualClock(), options, on_event=events.append)
    folder.mkdir()
    engine.add_file_output(folder / "out.wav", AudioFormat.WAV, synchronous=True)
    engine.add_file_output(folder / "out.mp3", AudioFormat.MP3, 128, synchronous=True)
    items, actions = programme(make_media)
    for item in items:
        engine.play(item)
    run = Run(np.zeros((2, 0), dtype=np.float32), events, {}, watch_quiet(engine, events))
    parts = []
    clock = engine.clock
    try:
        clock.wait()
        while clock.block < TOTAL_BLOCKS:
            block = clock.block
            if block in actions:
                actions[block](engine)
            if span is None:
                parts.append(engine.step())
            else:
                upcoming = [b for b in actions if b > block] + [TOTAL_BLOCKS]
                blocks = min(span, min(upcoming) - block)
                master = engine.step(blocks, until_event=until_event)
                assert master.shape[1] % BLOCK == 0
                assert clock.block == block + master.shape[1] // BLOCK - 1
                parts.append(master)
            clock.wait()
    finally:
        engine.close()
    run.master = np.concatenate(parts, axis=1)
    run.files = {name: (folder / name).read_bytes() for name in ("out.wav", "out.mp3")}
    return run


def test_spans_render_the_very_samples_and_events_of_blocks(
    make_media: MakeMedia, tmp_path: Path
) -> None:
    reference = render(make_media, tmp_path / "blocks", None)
    assert reference.master.shape[1] == TOTAL_BLOCKS * BLOCK
    kinds = [e.type for e in reference.events]
    # The programme has what the test means to cover.
    assert kinds.count("item.started") == 6
    assert [e.data["reason"] for e in reference.events if e.type == "item.ended"][:4] == [
        "finished",
        "finished",
        "preempted",
        "skipped",
    ]
    assert kinds.count("layer.changed") >= 3  # automation, emergency, automation again
    assert kinds.count("telemetry") == 34
    assert reference.quiet == []  # block by block never mixes several at once

    for name, span, until_event in (
        ("span7", 7, False),
        ("span50", 50, True),
        ("span1000", 1000, False),
    ):
        spans = render(make_media, tmp_path / name, span, until_event=until_event)
        np.testing.assert_array_equal(spans.master, reference.master, err_msg=name)
        assert spans.files["out.wav"] == reference.files["out.wav"], name
        assert spans.files["out.mp3"] == reference.files["out.mp3"], name
        assert [(e.type, e.frame, e.data.get("item_id")) for e in spans.events] == [
            (e.type, e.frame, e.data.get("item_id")) for e in reference.events
        ], name
        # Most of the programme was mixed many blocks at a time.
        assert sum(spans.quiet) > 0.8 * TOTAL_BLOCKS, name
        assert len(spans.quiet) < TOTAL_BLOCKS / 5, name


def render_fallback(make_media: MakeMedia, folder: Path, span: int | None) -> Run:
    """A gap in the programme (fallback at once) and a silent item (fallback by ear)."""
    folder.mkdir()
    music = folder / "fallback"
    music.mkdir()
    make_media(str(music / "f1"), seconds=3.3, freq_hz=220, level_db=-9, rate=48_000)
    make_media(str(music / "f2"), seconds=2.1, signal="noise", seed=9, rate=44_100)
    a = make_media("fa", seconds=4.1, freq_hz=440, rate=48_000)
    quiet = make_media("fq", seconds=5.0, freq_hz=440, level_db=-80, rate=48_000)
    c = make_media("fc", seconds=6.0, signal="noise", seed=3, rate=48_000)
    failover = {"layer_fade_ms": 300, "silence_duration_sec": 2, "fallback_paths": [str(music)]}
    events: list[EngineEvent] = []
    options = EngineOptions(
        failover=load_station_config(EXAMPLE).failover.model_copy(update=failover)
    )
    engine = Engine(VirtualClock(), options, on_event=events.append)
    quiet_sizes = watch_quiet(engine, events)
    engine.add_file_output(folder / "out.wav", AudioFormat.WAV, synchronous=True)
    for item in (
        # Soft, planned after the start: the idle layer waits for its time.
        PlayItem("f0", str(a), start_at=seconds_to_frames(1.5) + 3),
        PlayItem("fa", str(a), fade_out_ms=300),
        PlayItem("fq", str(quiet), start_at=seconds_to_frames(9.5) + 7, timing=Timing.HARD),
        PlayItem("fc", str(c), fade_in_ms=200),
    ):
        engine.play(item)
    total = round(28.0 * 48_000 / BLOCK)
    parts = []
    try:
        engine.clock.wait()
        while engine.clock.block < total:
            if span is None:
                parts.append(engine.step())
            else:
                parts.append(engine.step(min(span, total - engine.clock.block)))
            engine.clock.wait()
    finally:
        engine.close()
    files = {"out.wav": (folder / "out.wav").read_bytes()}
    return Run(np.concatenate(parts, axis=1), events, files, quiet_sizes)


def test_spans_match_blocks_through_fallback(make_media: MakeMedia, tmp_path: Path) -> None:
    reference = render_fallback(make_media, tmp_path / "blocks", None)
    kinds = [e.type for e in reference.events]
    assert "fallback.started" in kinds  # the gap before the hard item
    assert "silence.detected" in kinds  # the silent item
    for span in (9, 64):
        spans = render_fallback(make_media, tmp_path / f"span{span}", span)
        np.testing.assert_array_equal(spans.master, reference.master)
        assert spans.files == reference.files
        assert [(e.type, e.frame, e.data.get("item_id")) for e in spans.events] == [
            (e.type, e.frame, e.data.get("item_id")) for e in reference.events
        ]
        assert sum(spans.quiet) > 0.5 * reference.master.shape[1] / BLOCK


def test_a_voice_in_one_call_keeps_the_level_blocks_keep(make_media: MakeMedia) -> None:
    """A smart crossfade compares levels kept per 20 ms block; a span must keep the same."""
    path = make_media("level", seconds=3.0, signal="noise", seed=7, rate=48_000)
    item = PlayItem("v", str(path), fade_in_ms=700, curve=FadeCurve.S_CURVE)
    start = 5 * BLOCK + 311  # mid-block, as an item starting at a segue does
    levels, outputs = [], []
    for span in (1, 7, 120):
        voice = Voice(item, FileSource(path, blocking=True), start)
        out = np.zeros((2, 130 * BLOCK), dtype=np.float32)
        for first in range(0, 130, span):
            count = min(span, 130 - first)
            part = out[:, first * BLOCK : (first + count) * BLOCK]
            voice.render(first * BLOCK, part)
        voice.close()
        levels.append(voice.level_db)
        outputs.append(out)
    assert levels[0] is not None
    assert levels[1] == levels[0]
    assert levels[2] == levels[0]
    np.testing.assert_array_equal(outputs[1], outputs[0])
    np.testing.assert_array_equal(outputs[2], outputs[0])


def test_until_event_stops_after_the_block_that_raised_one(make_media: MakeMedia) -> None:
    a = make_media("short", seconds=1.013, freq_hz=440, rate=48_000)
    events: list[EngineEvent] = []
    engine = Engine(VirtualClock(), on_event=events.append)
    engine.play(PlayItem("a", str(a)))
    engine.clock.wait()
    try:
        assert engine.advance(500, until_event=True) == 1  # item.started at frame 0
        engine.clock.wait()
        rendered = engine.advance(500, until_event=True)
        end = round(1.013 * 48_000)
        # It stopped in the block where a ended, on the clock's last block.
        assert engine.clock.block == 1 + rendered - 1 == end // BLOCK
        assert [(e.type, e.frame) for e in events if e.type != "telemetry"] == [
            ("item.started", 0),
            ("layer.changed", 0),
            ("item.ended", end),
        ]
        engine.clock.wait()
        assert engine.advance(500) == 500
        assert engine.clock.block == end // BLOCK + 500
    finally:
        engine.close()


def test_several_blocks_need_a_virtual_clock() -> None:
    engine = Engine(RealtimeClock())
    try:
        with pytest.raises(EngineError, match="VirtualClock"):
            engine.advance(2)
        with pytest.raises(ValueError, match="at least 1"):
            engine.advance(0)
    finally:
        engine.close()


def render_relay(make_media: MakeMedia, span: int | None) -> tuple[Run, list[int], int]:
    """A relayed stream (a 20 s slot) that stalls 0.5 s, then 3 s, then dies, over a
    fallback bed. Also: its underruns in each telemetry record (one a second), and
    how many blocks were mixed in stretches with fallback on the air."""
    bed = make_media("bed", seconds=7.0, freq_hz=330, rate=48_000)
    after = make_media("after", seconds=4.0, signal="noise", seed=5, rate=48_000)
    events: list[EngineEvent] = []
    engine = RelayEngine(
        VirtualClock(),
        EngineOptions(failover=Failover(layer_fade_ms=300)),
        on_event=events.append,
    )
    engine.relay_windows = ((0, 4.0), (4.5, 8.0), (11.0, 15.0))
    on_air: list[str | None] = []
    quiet_sizes = watch_quiet(engine, events, on_air)
    engine.set_fallback([PlayItem("bed", str(bed))])
    engine.play(PlayItem("relay", "http://relay.test/live", cue=CuePoints(cue_out=Millis(20_000))))
    engine.play(PlayItem("after", str(after)))
    total = round(25.0 * 48_000 / BLOCK)
    parts = []
    try:
        engine.clock.wait()
        while engine.clock.block < total:
            count = 1 if span is None else min(span, total - engine.clock.block)
            parts.append(engine.step(count))
            engine.clock.wait()
    finally:
        engine.close()
    underruns = [
        int(e.data["current"]["underruns"])
        for e in events
        if e.type == "telemetry" and e.data.get("current", {}).get("item_id") == "relay"
    ]
    on_fallback = sum(
        n for n, layer in zip(quiet_sizes, on_air, strict=True) if layer == "fallback"
    )
    return Run(np.concatenate(parts, axis=1), events, {}, quiet_sizes), underruns, on_fallback


def test_spans_match_blocks_through_a_stalling_relay(make_media: MakeMedia) -> None:
    """A source that stalls is looked at every block unless it knows how long it goes
    on as it is (``steady_frames``, as a scripted relay does): then the stretches of
    a flowing stream, and of a dead one under the fallback, mix in one call each."""
    reference, underruns, _ = render_relay(make_media, None)
    changes = [(e.frame, e.data["to"]) for e in reference.events if e.type == "layer.changed"]
    assert [to for _, to in changes] == [
        "automation",
        "fallback",  # 100 ms into the first stall
        "automation",
        "fallback",  # the second
        "automation",
        "fallback",  # dead for good, to the end of its slot
        "automation",  # the next item, which waited for the slot (no start time)
        "fallback",  # after it, nothing
    ]
    assert underruns[-1] > 0
    for span in (9, 64):
        spans, span_underruns, on_fallback = render_relay(make_media, span)
        np.testing.assert_array_equal(spans.master, reference.master)
        assert [(e.type, e.frame, e.data.get("item_id")) for e in spans.events] == [
            (e.type, e.frame, e.data.get("item_id")) for e in reference.events
        ]
        assert span_underruns == underruns
        # the 20 s slot mixed in stretches too (block by block, at most 5 s of 25 would be)
        assert sum(spans.quiet) > 0.5 * reference.master.shape[1] / BLOCK, spans.quiet
        # fallback covering the dead stream (3 s, 5 s, then 1 s after the next item)
        assert on_fallback > 0.6 * 9 * RATE / BLOCK, on_fallback


def render_dj(make_media: MakeMedia, span: int | None) -> tuple[Run, int]:
    """A DJ over automation: routed 0.5 s in, a 0.3 s dropout, a 2 s one (within the
    grace), then gone at 16 s; automation underneath all along. Also: how many blocks
    were mixed in stretches with the DJ on the air."""
    music = make_media("under", seconds=30.0, signal="noise", seed=7, rate=44_100)
    events: list[EngineEvent] = []
    engine = Engine(
        VirtualClock(),
        EngineOptions(failover=Failover(layer_fade_ms=300, live_grace_sec=3)),
        on_event=events.append,
    )
    on_air: list[str | None] = []
    quiet_sizes = watch_quiet(engine, events, on_air)
    engine.play(PlayItem("under", str(music)))
    total = round(24.0 * 48_000 / BLOCK)
    parts = []
    try:
        engine.clock.wait()
        while engine.clock.block < total:
            if engine.clock.block == round(0.5 * 48_000 / BLOCK):
                engine.set_live(ScriptedLive.with_drops(16.0, [(4.0, 0.3), (9.0, 2.0)]), "/live")
            count = 1 if span is None else min(span, total - engine.clock.block)
            if span is not None and engine.clock.block < round(0.5 * 48_000 / BLOCK):
                count = min(count, round(0.5 * 48_000 / BLOCK) - engine.clock.block)
            parts.append(engine.step(count))
            engine.clock.wait()
    finally:
        engine.close()
    on_live = sum(n for n, layer in zip(quiet_sizes, on_air, strict=True) if layer == "live")
    return Run(np.concatenate(parts, axis=1), events, {}, quiet_sizes), on_live


def test_spans_match_blocks_while_a_dj_is_on_air(make_media: MakeMedia) -> None:
    """A DJ's feed that knows its script (``steady_frames``) is mixed in stretches
    while it flows; dropouts and the hand-back go block by block, on the same frames."""
    reference, _ = render_dj(make_media, None)
    kinds = [e.type for e in reference.events if e.type != "telemetry"]
    assert kinds.count("layer.changed") >= 6, kinds  # on, two dropouts and back, off
    assert "live.ended" in kinds
    for span in (9, 64):
        spans, on_live = render_dj(make_media, span)
        np.testing.assert_array_equal(spans.master, reference.master)
        assert [(e.type, e.frame, e.data.get("item_id")) for e in spans.events] == [
            (e.type, e.frame, e.data.get("item_id")) for e in reference.events
        ]
        assert on_live > 0.6 * 13 * RATE / BLOCK, on_live
