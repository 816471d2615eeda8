"""The fallback layer: a list of files and folders, looped, gapless.

It only advances while audible (the mixer asks for it after dead air), so a
station that never needs it never spends CPU decoding it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grimnir.engine.audio import Block, silence
from grimnir.engine.automation import AutomationPlayer, PlayItem, SourceFactory
from grimnir.engine.events import EngineEvent

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".aac", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".wav", ".aif", ".aiff"}
)
_RETRY_BLOCKS = 500  # 10 s before trying a list that produced no audio at all again


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files in the given order; a folder contributes its audio files sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            files.append(path)
    return files


class FallbackPlayer:
    """Loops its files on its own automation player."""

    def __init__(
        self, paths: list[Path], factory: SourceFactory, emit: Callable[[EngineEvent], None]
    ) -> None:
        self._paths = paths
        self._files: list[Path] | None = None
        self._index = 0
        self._player = AutomationPlayer(factory, self._on_event, "fallback")
        self._emit = emit
        self._audio_this_cycle = False
        self._pause_blocks = 0
        self._counter = 0

    def _on_event(self, event: EngineEvent) -> None:
        if event.type == "item.started":
            self._audio_this_cycle = True
        self._emit(event)

    def render(self, frame0: int, n: int) -> Block:
        if self._files is None:
            self._files = expand_paths(self._paths)
        if not self._files:
            return silence(n)
        if self._pause_blocks > 0:
            self._pause_blocks -= 1
            return silence(n)
        if not self._player.queue and len(self._player.voices) <= 1:
            self._enqueue_next()
        block = self._player.render(frame0, n)
        return silence(n) if block is None else block

    def _enqueue_next(self) -> None:
        files = self._files or []
        if self._index >= len(files):
            self._index = 0
            if not self._audio_this_cycle:
                # NOTE: every file failed: don't spin on errors, try again later.
                self._pause_blocks = _RETRY_BLOCKS
                return
            self._audio_this_cycle = False
        path = files[self._index]
        self._index += 1
        self._counter += 1
        self._player.enqueue(
            PlayItem(item_id=f"fallback-{self._counter}", path=str(path), title=path.stem)
        )

    @property
    def active(self) -> bool:
        return self._player.active

    def close(self) -> None:
        self._player.close()
