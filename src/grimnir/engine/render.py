"""Offline rendering: a timeline or a playlist through the real engine, to a file.

``grimnir render`` drives the very same ``Engine`` as on air, under a
``VirtualClock``: an hour renders in seconds, and the same inputs give the
same bytes (WAV, FLAC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from grimnir.config import ConfigModel, NonEmptyStr
from grimnir.config.documents import load_document
from grimnir.config.station import StationConfig
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import ConfigError
from grimnir.domain.fades import CuePoints, FadeCurve, Timing
from grimnir.domain.units import Millis
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions, seconds_to_frames
from grimnir.engine.events import EngineEvent
from grimnir.engine.fallback import AUDIO_EXTENSIONS
from grimnir.engine.mixing.automation import PlayItem

FORMATS_BY_EXTENSION = {
    ".wav": AudioFormat.WAV,
    ".flac": AudioFormat.FLAC,
    ".mp3": AudioFormat.MP3,
    ".aac": AudioFormat.AAC,
    ".opus": AudioFormat.OPUS,
    ".ogg": AudioFormat.VORBIS,
}


RENDER_PROCESS_BLOCKS = 10
"""DSP and encoding run on 200 ms chunks offline (same value as a realtime
engine with 10-block bursts, so a render sounds like the station)."""


RENDER_SPAN_BLOCKS = 50
"""Blocks asked of ``Engine.advance`` at a time (it stops earlier at each event)."""


class TimelineItem(ConfigModel):
    """One entry of a render timeline file. Times are in seconds."""

    path: NonEmptyStr = Field(description="Audio file (relative paths: to the timeline file).")
    at: float | None = Field(default=None, ge=0, description="Start, from the timeline start.")
    timing: Timing = Field(
        default=Timing.SOFT,
        description="hard: exactly at `at`; soft: "
        "at the previous item's segue point, not before `at`.",
    )
    layer: Literal["automation", "emergency"] = "automation"
    fade_in: float = Field(default=0, ge=0, le=60)
    fade_out: float = Field(default=0, ge=0, le=60)
    curve: FadeCurve = FadeCurve.LINEAR
    cue_in: float = Field(default=0, ge=0)
    cue_out: float | None = Field(default=None, gt=0)
    intro_end: float | None = Field(default=None, ge=0)
    segue: float | None = Field(default=None, ge=0)
    gain_db: float = Field(default=0, ge=-60, le=24)
    analyze: bool = Field(default=False, description="Measure loudness and cue points first.")
    title: str = ""
    artist: str = ""

    @model_validator(mode="after")
    def _hard_needs_time(self) -> Self:
        if self.timing is Timing.HARD and self.at is None:
            raise ValueError("a hard item needs `at` (its start time in seconds)")
        return self


class RenderTimeline(ConfigModel):
    """A render timeline file: ``items:`` in the order they were planned."""

    items: list[TimelineItem] = Field(min_length=1)


def _ms(seconds: float | None) -> Millis | None:
    return None if seconds is None else Millis(round(seconds * 1000))


def load_timeline(path: Path) -> list[tuple[str, PlayItem]]:
    """(layer, item) pairs from a timeline file, with clear errors for bad entries."""
    timeline = load_document(path, RenderTimeline, what="render timeline", keys="`items:`")
    base = path.parent
    result: list[tuple[str, PlayItem]] = []
    for index, entry in enumerate(timeline.items):
        try:
            cue = CuePoints(
                cue_in=Millis(round(entry.cue_in * 1000)),
                cue_out=_ms(entry.cue_out),
                intro_end=_ms(entry.intro_end),
                segue=_ms(entry.segue),
            )
        except ValueError as exc:
            raise ConfigError(f"{path}: items[{index}]: {exc}") from None
        file = Path(entry.path)
        item = PlayItem(
            item_id=f"item-{index}",
            path=str(file if file.is_absolute() else base / file),
            start_at=None if entry.at is None else seconds_to_frames(entry.at),
            timing=entry.timing,
            cue=cue,
            gain_db=entry.gain_db,
            fade_in_ms=round(entry.fade_in * 1000),
            fade_out_ms=round(entry.fade_out * 1000),
            curve=entry.curve,
            title=entry.title or file.stem,
            artist=entry.artist,
            analyze=entry.analyze,
        )
        result.append((entry.layer, item))
    return result


def playlist_files(path: Path) -> list[Path]:
    """Audio files of a folder (sorted, recursive) or of an M3U playlist (in order)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    elif path.suffix.lower() in {".m3u", ".m3u8"}:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read playlist ({exc.strerror})") from None
        files = []
        for line in lines:
            entry = line.strip()
            if entry and not entry.startswith("#"):
                file = Path(entry)
                files.append(file if file.is_absolute() else path.parent / file)
    else:
        raise ConfigError(f"{path}: give a folder of audio files or an .m3u/.m3u8 playlist")
    if not files:
        raise ConfigError(f"{path}: no audio files found ({', '.join(sorted(AUDIO_EXTENSIONS))})")
    return files


@dataclass
class PlaylistFeeder:
    """Keeps the engine's queue topped up from a playlist, looping when a duration asks."""

    files: list[Path]
    crossfade_s: float
    curve: FadeCurve
    loop: bool
    analyze: bool = True
    """Measure each file's loudness and cue points before it first plays."""
    _next: int = 0
    _count: int = 0

    def top_up(self, engine: Engine) -> None:
        while len(engine.automation.queue) < 2:
            if self._next >= len(self.files):
                if not self.loop:
                    return
                self._next = 0
            file = self.files[self._next]
            self._next += 1
            self._count += 1
            fade = round(self.crossfade_s * 1000)
            engine.automation.enqueue(
                PlayItem(
                    item_id=f"item-{self._count}",
                    path=str(file),
                    fade_in_ms=fade,
                    fade_out_ms=fade,
                    curve=self.curve,
                    title=file.stem,
                    analyze=self.analyze,
                )
            )


@dataclass
class RenderResult:
    """What a render produced."""

    frames: int
    events: list[EngineEvent] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.frames / RATE


def output_format(out: Path) -> AudioFormat:
    fmt = FORMATS_BY_EXTENSION.get(out.suffix.lower())
    if fmt is None:
        valid = ", ".join(FORMATS_BY_EXTENSION)
        raise ConfigError(f"{out}: cannot tell the format from the extension; use one of {valid}")
    return fmt


def render(
    out: Path,
    *,
    station: StationConfig | None = None,
    timeline: list[tuple[str, PlayItem]] | None = None,
    playlist: PlaylistFeeder | None = None,
    duration_s: float | None = None,
    bitrate_kbps: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Render to ``out``; stops at ``duration_s`` or when everything has played."""
    if timeline is None and playlist is None:
        raise ConfigError("nothing to render: give a timeline or a playlist")
    fmt = output_format(out)
    options = EngineOptions(realtime=False, process_blocks=RENDER_PROCESS_BLOCKS)
    if station is not None:
        options.dsp_graph = station.dsp_graph
        options.failover = station.failover
    result = RenderResult(frames=0)
    engine = Engine(VirtualClock(), options, on_event=result.events.append)
    engine.add_file_output(out, fmt, bitrate_kbps, synchronous=True)
    for layer, item in timeline or []:
        (engine.emergency if layer == "emergency" else engine.automation).enqueue(item)
    limit = None if duration_s is None else seconds_to_frames(duration_s)
    try:
        while engine.clock.wait():
            frame = engine.clock.frame
            if limit is not None and frame >= limit:
                break
            if playlist is not None:
                playlist.top_up(engine)
            if limit is None and engine.idle and frame > 0:
                break
            # NOTE: the queue and "idle" change only at item events, and the span
            # stops right after one: topping up here is what it was before every block.
            blocks = RENDER_SPAN_BLOCKS
            if limit is not None:
                blocks = min(blocks, -(-(limit - frame) // BLOCK))
            engine.advance(blocks, until_event=True)
            result.frames = engine.clock.frame + BLOCK
            if progress is not None:
                progress(result.frames)
    finally:
        engine.close()
    if limit is not None:
        result.frames = min(result.frames, limit)
    return result
