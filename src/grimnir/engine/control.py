"""What the control plane may ask of a running engine, whoever carries the request.

``EngineControl`` is the one surface the gRPC server exposes; ``LocalControl``
implements it over a bare ``Engine`` (tests, ``grimnir render``), and the
station runtime (``grimnir engine``) implements it with harbor, web streams
and listener outputs on top. Every method is thread-safe: audio changes are
queued and applied at the next block boundary, and ``status`` reads the
snapshot the block loop took at its last one.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from grimnir.config import DspGraph
from grimnir.domain.errors import EngineError, NotFoundError
from grimnir.domain.fades import FadeCurve, Timing
from grimnir.engine.audio import BLOCK
from grimnir.engine.engine import Engine
from grimnir.engine.events import EngineEvent
from grimnir.engine.mixing.automation import AutomationPlayer, PlayItem
from grimnir.engine.snapshot import EngineSnapshot
from grimnir.engine.sources import (
    AnalysisRequest,
    AnalysisResult,
    Analyzer,
    FileSource,
    is_feed,
)
from grimnir.engine.v1.status import StatusReport

EventCallback = Callable[[EngineEvent], None]
Unsubscribe = Callable[[], None]
JOURNAL_EVENTS = 20_000
"""Events (telemetry left out) an engine keeps for a control plane that comes back:
days of a station's item, layer and live events."""


@dataclass(frozen=True, slots=True)
class Metadata:
    """Now-playing text pushed to outputs (Icecast admin metadata, ICY StreamTitle)."""

    title: str = ""
    artist: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def stream_title(self) -> str:
        """``Artist - Title`` as listeners' players show it."""
        if self.artist and self.title:
            return f"{self.artist} - {self.title}"
        return self.title or self.artist


class EngineControl(Protocol):
    """The control contract (see ``proto/grimnir/engine/v1/engine.proto``)."""

    @property
    def station_id(self) -> str: ...

    def frame_at(self, when: datetime) -> int:
        """The engine frame that airs at ``when`` (UTC)."""

    def time_at(self, frame: int) -> datetime:
        """When engine frame ``frame`` airs (UTC)."""

    def load_graph(self, graph: DspGraph) -> None: ...

    def play(self, item: PlayItem) -> None: ...

    def stop(self, layer: str, fade_ms: int, clear_queue: bool) -> None: ...

    def skip(self, layer: str, fade_ms: int) -> None: ...

    def fade(self, layer: str, duration_ms: int, curve: FadeCurve) -> None: ...

    def insert_emergency(self, item: PlayItem) -> None: ...

    def set_fallback(self, items: Sequence[PlayItem]) -> None:
        """Replace the fallback rotation: played in order, looped, whenever the programme
        has nothing (before the station's ``fallback_paths`` and emergency audio).

        It takes over at the next fallback item boundary; an empty list clears
        it. Items have no ``start_at`` and are soft (``EngineError`` otherwise); a
        file that cannot be played is skipped when its turn comes.
        """

    def unqueue(self, layer: str, item_ids: Sequence[str]) -> None:
        """Drop queued items of ``layer`` that have not started (others are ignored)."""

    def route_live(self, mount: str | None) -> None:
        """Put the harbor source on ``mount`` on the live layer (None: take live off air)."""

    def kick_live(self, mount: str) -> None:
        """Disconnect the live source on harbor ``mount`` (NotFoundError if none)."""

    def set_metadata(self, metadata: Metadata) -> None: ...

    def status(self) -> StatusReport: ...

    def subscribe(self, callback: EventCallback, since_frame: int | None = None) -> Unsubscribe:
        """Call ``callback`` with every engine event (telemetry included) until unsubscribed.

        Runs on the engine thread: the callback must only hand the event on. With
        ``since_frame``, the events of the journal (``JOURNAL_EVENTS``, telemetry
        left out) from that frame on are handed over first, in their order: a
        control plane that was away learns what aired meanwhile.
        """

    def analyze_media(self, path: str, target_lufs: float) -> AnalysisResult: ...

    def generate_waveform(self, path: str, points: int) -> list[tuple[float, float]]: ...


class LocalControl:
    """``EngineControl`` over a bare ``Engine`` (no harbor, no listener server)."""

    def __init__(self, engine: Engine, station_id: str) -> None:
        self.engine = engine
        self._station_id = station_id
        self._lock = threading.Lock()
        self._callbacks: list[EventCallback] = []
        self._journal: deque[EngineEvent] = deque(maxlen=JOURNAL_EVENTS)
        self.metadata = Metadata()
        engine.subscribe(self._fan_out)

    @property
    def station_id(self) -> str:
        return self._station_id

    def _fan_out(self, event: EngineEvent) -> None:
        # NOTE: journal and subscribers change under one lock: a subscriber replaying
        # the journal sees each event once, either from the journal or live.
        with self._lock:
            if event.type != "telemetry":
                self._journal.append(event)
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(event)

    def _player(self, layer: str) -> AutomationPlayer:
        if layer == "automation":
            return self.engine.automation
        if layer == "emergency":
            return self.engine.emergency
        raise EngineError(f"unknown layer {layer!r}: use automation or emergency")

    def frame_at(self, when: datetime) -> int:
        return self.engine.clock.frame_at(when)

    def time_at(self, frame: int) -> datetime:
        return self.engine.clock.time_at(frame)

    def load_graph(self, graph: DspGraph) -> None:
        self.engine.load_graph(graph)

    def play(self, item: PlayItem) -> None:
        _check_playable(item)
        self.engine.play(item)

    def stop(self, layer: str, fade_ms: int, clear_queue: bool) -> None:
        if layer == "live":
            self.route_live(None)
            return
        player = self._player(layer)

        def apply() -> None:
            if clear_queue:
                player.clear()
            player.skip(self.engine.clock.frame, fade_ms)

        self.engine.submit(apply)

    def unqueue(self, layer: str, item_ids: Sequence[str]) -> None:
        player = self._player(layer)
        ids = list(item_ids)

        def apply() -> None:
            for item_id in ids:
                player.remove(item_id)

        self.engine.submit(apply)

    def skip(self, layer: str, fade_ms: int) -> None:
        player = self._player(layer)
        self.engine.submit(lambda: player.skip(self.engine.clock.frame, fade_ms))

    def fade(self, layer: str, duration_ms: int, curve: FadeCurve) -> None:
        # NOTE: a fade ends the current item like a skip, but over the fade's
        # length and curve; what is queued follows once it has faded out.
        player = self._player(layer)
        self.engine.submit(lambda: player.fade_current(self.engine.clock.frame, duration_ms, curve))

    def insert_emergency(self, item: PlayItem) -> None:
        _check_playable(item)
        self.engine.insert_emergency(item)

    def set_fallback(self, items: Sequence[PlayItem]) -> None:
        for item in items:
            if item.start_at is not None or item.timing is not Timing.SOFT:
                raise EngineError(
                    f"fallback item {item.item_id!r} has a start time or hard timing: "
                    "fallback items play in rotation order whenever the programme has nothing"
                )
        self.engine.set_fallback(list(items))

    def route_live(self, mount: str | None) -> None:
        if mount is not None:
            raise NotFoundError(f"no harbor mount {mount!r}: this engine has no harbor")
        self.engine.set_live(None)

    def kick_live(self, mount: str) -> None:
        raise NotFoundError(f"no live source on {mount!r}: this engine has no harbor")

    def set_metadata(self, metadata: Metadata) -> None:
        self.metadata = metadata

    def status(self) -> StatusReport:
        return self._status(self.engine.snapshot())

    def _status(self, snapshot: EngineSnapshot) -> StatusReport:
        # NOTE: from a snapshot the block loop took at a block boundary: the calling
        # thread (gRPC, the in-process client) never walks the engine's structures.
        return snapshot.as_status(self._station_id, os.getpid())

    def subscribe(self, callback: EventCallback, since_frame: int | None = None) -> Unsubscribe:
        with self._lock:
            if since_frame is not None:
                for event in self._journal:
                    if event.frame >= since_frame:
                        callback(event)
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def analyze_media(self, path: str, target_lufs: float) -> AnalysisResult:
        return analyze_file(path, target_lufs)

    def generate_waveform(self, path: str, points: int) -> list[tuple[float, float]]:
        return waveform(path, points)


def _check_playable(item: PlayItem) -> None:
    if is_feed(item.path):
        return  # a relayed stream: reachability is the failover chain's business
    if not Path(item.path).is_file():
        raise NotFoundError(f"media file not found: {item.path}")


def analyze_file(path: str, target_lufs: float = -16.0) -> AnalysisResult:
    """Measure loudness and cue points of a whole file (blocking; off the block loop)."""
    if not Path(path).is_file():
        raise NotFoundError(f"media file not found: {path}")
    analyzer = Analyzer(AnalysisRequest(target_lufs=target_lufs))
    with FileSource(path, blocking=True) as source:
        while not source.finished:
            block, real = source.read(BLOCK * 50)
            if real:
                analyzer.feed(block[:, :real])
        if source.error:
            raise EngineError(source.error)
    return analyzer.result()


def waveform(path: str, points: int) -> list[tuple[float, float]]:
    """``points`` (min, max) pairs over the whole file, mono-summed, for drawing."""
    if not 1 <= points <= 100_000:
        raise EngineError(f"waveform points must be between 1 and 100000 (got {points})")
    if not Path(path).is_file():
        raise NotFoundError(f"media file not found: {path}")
    chunks: list[np.ndarray] = []
    with FileSource(path, blocking=True) as source:
        while not source.finished:
            block, real = source.read(BLOCK * 50)
            if real:
                chunks.append(block[:, :real].mean(axis=0))
        if source.error:
            raise EngineError(source.error)
    mono = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if mono.size == 0:
        return [(0.0, 0.0)] * points
    edges = np.linspace(0, mono.size, points + 1).astype(np.int64)
    out: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(edges):
        part = mono[a : max(b, a + 1)] if a < mono.size else mono[-1:]
        out.append((float(part.min()), float(part.max())))
    return out
