"""The automation player under a virtual clock, checked sample by sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from grimnir.domain.fades import CuePoints, FadeCurve, Timing
from grimnir.domain.units import Millis
from grimnir.engine.audio import BLOCK, silence
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import AutomationPlayer, PlayItem
from grimnir.engine.mixing.fades import Ramp
from grimnir.engine.sources import FileSource, Source

RATE = 48_000


def file_source(item: PlayItem) -> Source:
    return FileSource(
        item.path,
        cue_in_ms=int(item.cue.cue_in),
        cue_out_ms=None if item.cue.cue_out is None else int(item.cue.cue_out),
        gain_db=item.gain_db,
        blocking=True,
    )


def decode(path: Path) -> npt.NDArray[np.float32]:
    """The whole file as the engine's sources deliver it."""
    source = FileSource(path, blocking=True)
    chunks = []
    while not source.finished:
        block, real = source.read(BLOCK)
        chunks.append(block[:, :real])
    source.close()
    return np.concatenate(chunks, axis=1)


class Rig:
    """An automation player, its events, and everything it rendered."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []
        self.player = AutomationPlayer(file_source, self.events.append)
        self.frame = 0
        self.blocks: list[npt.NDArray[np.float32]] = []

    def run(self, seconds: float) -> npt.NDArray[np.float32]:
        for _ in range(round(seconds * RATE / BLOCK)):
            block = self.player.render(self.frame, BLOCK)
            self.blocks.append(silence(BLOCK) if block is None else block)
            self.frame += BLOCK
        return self.audio

    @property
    def audio(self) -> npt.NDArray[np.float32]:
        return np.concatenate(self.blocks, axis=1)

    def of(self, kind: str) -> list[EngineEvent]:
        return [e for e in self.events if e.type == kind]


MakeMedia = Callable[..., Path]


@pytest.fixture
def two_tones(make_media: MakeMedia) -> tuple[Path, Path]:
    a = make_media("a.wav", seconds=1.013, freq_hz=440, level_db=-6, rate=RATE)
    b = make_media("b.wav", seconds=0.777, freq_hz=660, level_db=-9, rate=RATE)
    return a, b


def test_zero_length_transition_is_gapless(two_tones: tuple[Path, Path]) -> None:
    a, b = two_tones
    rig = Rig()
    rig.player.enqueue(PlayItem("a", str(a)))
    rig.player.enqueue(PlayItem("b", str(b)))
    out = rig.run(2.0)
    want = np.concatenate([decode(a), decode(b)], axis=1)
    n = want.shape[1]
    # Sample for sample: b's first sample follows a's last, mid-block, nothing added.
    np.testing.assert_array_equal(out[:, :n], want)
    assert not out[:, n:].any()
    started = rig.of("item.started")
    assert [e.frame for e in started] == [0, decode(a).shape[1]]
    ended = rig.of("item.ended")
    assert [(e.data["item_id"], e.data["reason"]) for e in ended] == [
        ("a", "finished"),
        ("b", "finished"),
    ]
    assert ended[0].frame == started[1].frame


@pytest.mark.parametrize("curve", [c for c in FadeCurve if c is not FadeCurve.SMART])
def test_crossfade_follows_the_curve_formula(
    curve: FadeCurve, two_tones: tuple[Path, Path]
) -> None:
    a, b = two_tones
    rig = Rig()
    rig.player.enqueue(PlayItem("a", str(a), fade_out_ms=300, curve=curve))
    rig.player.enqueue(PlayItem("b", str(b), fade_in_ms=300, curve=curve))
    out = rig.run(2.0)
    da, db = decode(a), decode(b)
    fade = round(0.3 * RATE)
    segue = da.shape[1] - fade
    k = np.arange(fade) / fade
    gain_out = np.array([curve.gain(1 - t) for t in k], dtype=np.float32)
    gain_in = np.array([curve.gain(t) for t in k], dtype=np.float32)
    want = np.zeros((2, segue + db.shape[1]), dtype=np.float32)
    want[:, :segue] = da[:, :segue]
    want[:, segue : segue + fade] = da[:, segue:] * gain_out + db[:, :fade] * gain_in
    want[:, segue + fade :] = db[:, fade:]
    np.testing.assert_allclose(out[:, : want.shape[1]], want, atol=2e-6)
    assert rig.of("item.started")[1].frame == segue


def test_hard_item_starts_on_its_exact_frame_while_current_runs_long(
    make_media: MakeMedia,
) -> None:
    long = make_media("long.wav", seconds=5.0, freq_hz=220, rate=RATE)
    news = make_media("news.wav", seconds=1.0, freq_hz=880, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("song", str(long)))
    at = 2 * RATE + 480  # mid-block, on purpose
    rig.player.enqueue(PlayItem("news", str(news), start_at=at, timing=Timing.HARD))
    out = rig.run(4.0)
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert started["news"] == at
    ended = {e.data["item_id"]: e for e in rig.of("item.ended")}
    assert ended["song"].data["reason"] == "preempted"
    declick = round(0.020 * RATE)
    assert ended["song"].frame == at + declick
    # From the hard start on, the news is there at full level (no fade-in asked).
    dn = decode(news)
    np.testing.assert_allclose(out[:, at + declick : at + dn.shape[1]], dn[:, declick:], atol=1e-6)


def test_an_item_ending_exactly_at_a_hard_start_finishes_rather_than_being_cut(
    make_media: MakeMedia,
) -> None:
    """The planner trims the last song to end on the hour; the hard item must not fade it."""
    song = make_media("song.wav", seconds=2.0, freq_hz=220, rate=RATE)
    news = make_media("news.wav", seconds=1.0, freq_hz=880, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("song", str(song)))
    rig.player.enqueue(PlayItem("news", str(news), start_at=2 * RATE, timing=Timing.HARD))
    rig.run(3.5)
    ended = {e.data["item_id"]: e for e in rig.of("item.ended")}
    assert ended["song"].data["reason"] == "finished"
    assert ended["song"].frame == 2 * RATE
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert started["news"] == 2 * RATE


def test_soft_item_waits_for_the_segue_point(make_media: MakeMedia) -> None:
    song = make_media("song.wav", seconds=3.0, freq_hz=330, rate=RATE)
    nxt = make_media("next.wav", seconds=1.0, freq_hz=550, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("song", str(song), cue=CuePoints(segue=Millis(2500))))
    # Asked for at 1 s, but soft: it must wait for the song's segue point at 2.5 s.
    rig.player.enqueue(PlayItem("next", str(nxt), start_at=RATE, timing=Timing.SOFT))
    rig.run(4.0)
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert started["next"] == round(2.5 * RATE)


def test_soft_item_waits_for_its_time_when_the_layer_is_idle(make_media: MakeMedia) -> None:
    jingle = make_media("jingle.wav", seconds=0.5, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("jingle", str(jingle), start_at=RATE + 123))
    out = rig.run(2.0)
    assert not out[:, : RATE + 123].any()
    assert rig.of("item.started")[0].frame == RATE + 123


def test_soft_item_after_a_short_item_does_not_wait_for_its_time(make_media: MakeMedia) -> None:
    # A file shorter than planned: the next soft item follows at once (the schedule
    # moves earlier), never a hole until its planned start.
    short = make_media("short.wav", seconds=0.5, rate=RATE)
    nxt = make_media("next.wav", seconds=0.5, freq_hz=550, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("short", str(short), start_at=0))
    rig.player.enqueue(PlayItem("next", str(nxt), start_at=2 * RATE, timing=Timing.SOFT))
    rig.run(1.5)
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert started["next"] == RATE // 2


def test_skip_starts_the_next_soft_item_under_the_fade(make_media: MakeMedia) -> None:
    song = make_media("song.wav", seconds=3.0, freq_hz=330, rate=RATE)
    nxt = make_media("next.wav", seconds=1.0, freq_hz=550, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("song", str(song), start_at=0))
    # planned after the whole song: a skip at 1 s must not leave 2 s of silence
    rig.player.enqueue(PlayItem("next", str(nxt), start_at=3 * RATE, timing=Timing.SOFT))
    rig.run(1.0)
    rig.player.skip(RATE, fade_ms=200)
    rig.run(1.0)
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    ended = {e.data["item_id"]: e for e in rig.of("item.ended")}
    assert ended["song"].data["reason"] == "skipped"
    assert ended["song"].frame == RATE + round(0.2 * RATE)
    assert started["next"] == RATE  # the skipped song fades out over it


def test_corrupt_file_mid_playlist_errors_and_next_item_follows_within_a_block(
    two_tones: tuple[Path, Path], make_corrupt_media: Callable[[str], Path]
) -> None:
    a, b = two_tones
    broken = make_corrupt_media("random")
    rig = Rig()
    rig.player.enqueue(PlayItem("a", str(a)))
    rig.player.enqueue(PlayItem("broken", str(broken)))
    rig.player.enqueue(PlayItem("b", str(b)))
    out = rig.run(2.5)
    errors = rig.of("source.error")
    assert [e.data["item_id"] for e in errors] == ["broken"]
    assert str(broken) in errors[0].data["error"]
    ended = {e.data["item_id"]: e for e in rig.of("item.ended")}
    assert ended["broken"].data["reason"] == "error"
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert "broken" not in started  # it never went on air
    end_a = decode(a).shape[1]
    assert started["b"] - end_a < BLOCK
    np.testing.assert_array_equal(out[:, started["b"] : started["b"] + 100], decode(b)[:, :100])


def test_missing_file_errors_without_raising(make_media: MakeMedia, tmp_path: Path) -> None:
    ok = make_media("ok.wav", seconds=0.5, rate=RATE)
    rig = Rig()
    rig.player.enqueue(PlayItem("gone", str(tmp_path / "gone.mp3")))
    rig.player.enqueue(PlayItem("ok", str(ok)))
    rig.run(1.0)
    assert [e.data["item_id"] for e in rig.of("source.error")] == ["gone"]
    assert rig.of("item.started")[0].frame < BLOCK


def test_skip_fades_out_and_next_starts(two_tones: tuple[Path, Path]) -> None:
    a, b = two_tones
    rig = Rig()
    rig.player.enqueue(PlayItem("a", str(a)))
    rig.player.enqueue(PlayItem("b", str(b)))
    rig.run(0.2)
    skip_at = rig.frame
    rig.player.skip(skip_at, fade_ms=40)
    rig.run(0.5)
    ended = {e.data["item_id"]: e for e in rig.of("item.ended")}
    assert ended["a"].data["reason"] == "skipped"
    assert ended["a"].frame == skip_at + round(0.04 * RATE)
    started = {e.data["item_id"]: e.frame for e in rig.of("item.started")}
    assert started["b"] == skip_at


def test_ramp_gains_are_applied_per_item_gain(make_media: MakeMedia) -> None:
    tone = make_media("t.wav", seconds=0.5, rate=RATE)
    rig = Rig()
    rig.player.enqueue(
        PlayItem("t", str(tone), gain_db=-6.0, fade_in_ms=100, curve=FadeCurve.LINEAR)
    )
    out = rig.run(0.6)
    plain = decode(tone) * np.float32(10 ** (-6 / 20))
    ramp = Ramp(0, round(0.1 * RATE), FadeCurve.LINEAR, True).gains(0, plain.shape[1])
    assert ramp is not None
    np.testing.assert_allclose(out[:, : plain.shape[1]], plain * ramp, atol=2e-6)
