"""The fallback layer: what the station plays when its programme has nothing.

Three sources, tried in this order at every item boundary:

1. the **rotation** the control plane supplied (``set_rotation``), looped;
2. the station's ``fallback_paths`` (files; a folder gives its audio files by
   name), looped;
3. the station's ``emergency_audio_path``, looped.

A new rotation takes over at the next item boundary: the item on air plays
on. A file that cannot be played is skipped on the frame it failed (the next
item starts there: no silence) and counted; a source whose every file failed
in a row is passed over for ``RETRY_FRAMES`` and the next source plays.

The layer only advances while the mixer wants its audio, so a station that
never needs it never decodes it; when it leaves the air its item ends
(``release``), and it comes back with a fresh item, never mid-song.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from grimnir.domain.catalog import EndReason
from grimnir.domain.fades import Timing
from grimnir.domain.layers import Layer
from grimnir.domain.titles import names_from_filename
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, RATE, Block, silence
from grimnir.engine.events import EngineEvent
from grimnir.engine.layers import PROGRAMME_LAYERS
from grimnir.engine.mixing.automation import AutomationPlayer, PlayItem, SourceFactory, Voice
from grimnir.engine.sources import Source

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".aac", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".wav", ".aif", ".aiff"}
)
RETRY_FRAMES = 10 * RATE
"""A fallback source whose every file failed is passed over this long, then tried again
(a folder or file that was missing is looked for again then, too)."""
EMPTY_AIR_LOOKAHEAD_FRAMES = int(millis_to_frames(Millis(500)))
"""How soon the programme's next item must start for the engine to wait for it.

With nothing playing on any programme layer and nothing due within this
(500 ms), the engine knows the air is empty and puts fallback on at once,
instead of waiting ``silence_duration_sec`` for the silence detector. A shorter
gap (a controller sending items just in time) is left to the programme.
"""
_SKIPS_PER_BLOCK = 8
"""Broken files skipped within one block; more wait for the next (a folder of junk
must not stall the block loop)."""
_PROGRAMME = frozenset(layer.value for layer in PROGRAMME_LAYERS)


class FallbackSource(StrEnum):
    """Where a fallback item comes from, in the order they are tried."""

    ROTATION = "rotation"
    PATHS = "paths"
    EMERGENCY = "emergency"


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files in the given order; a folder contributes its audio files sorted by name.

    A path that is neither a file nor a folder (not there yet) gives nothing.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS))
        elif path.is_file():
            files.append(path)
    return files


def air_is_empty(
    frame: int,
    active: Mapping[Layer, bool],
    automation: AutomationPlayer,
    emergency: AutomationPlayer,
) -> bool:
    """True when no programme layer plays and nothing is due to start soon.

    ``active`` says which layers hold the air in the block starting at
    ``frame``; "soon" is ``EMPTY_AIR_LOOKAHEAD_FRAMES`` after that block. A
    routed DJ holds the air only while its audio flows (within the grace time
    after a drop-out it does not): with nothing under it the air is empty. So is
    it while a relayed stream on automation delivers nothing (``Voice.holds_air``).
    """
    if any(active.get(layer) for layer in PROGRAMME_LAYERS):
        return False
    if emergency.queue:
        return False  # emergency items play at once
    queue = automation.queue
    if not queue:
        return True
    first = queue[0]  # the queue is in start order
    if first.start_at is None:
        # It starts as soon as nothing plays; a relay that stalled keeps its slot (and
        # the item waits) without holding the air.
        return bool(automation.voices)
    if first.timing is not Timing.HARD and automation.holds_air:
        return False  # a soft item follows the item fading out at once
    # NOTE: an idle layer waits for a soft item's time (``AutomationPlayer``), as for
    # a hard one: the air is empty until then.
    return first.start_at >= frame + BLOCK + EMPTY_AIR_LOOKAHEAD_FRAMES


@dataclass(slots=True)
class _Tier:
    source: FallbackSource
    items: list[PlayItem]
    position: int = 0
    failed_in_row: int = 0
    retry_at: int = 0
    """Engine frame before which this source is passed over."""


class FallbackPlayer:
    """Plays the rotation, then ``fallback_paths``, then the emergency audio, looped."""

    def __init__(
        self,
        paths: list[Path],
        factory: SourceFactory,
        emit: Callable[[EngineEvent], None],
        emergency: Path | None = None,
    ) -> None:
        self._paths = paths
        self._emergency = emergency
        self._factory = factory
        self._emit = emit
        self._player = AutomationPlayer(self._source_for, self._on_event, Layer.FALLBACK.value)
        self._tiers = {
            FallbackSource.ROTATION: _Tier(FallbackSource.ROTATION, []),
            FallbackSource.PATHS: _Tier(FallbackSource.PATHS, []),
            FallbackSource.EMERGENCY: _Tier(FallbackSource.EMERGENCY, []),
        }
        self._loaded_at: int | None = None
        """Frame the station's paths were last looked at (None: never yet)."""
        self._station_items: dict[str, FallbackSource] = {}
        """Source of each queued or playing item made from the station's paths."""
        self._ended_at = 0
        self._programme_start = 0
        self._programme_end = 0
        self._armed: tuple[PlayItem, Source] | None = None
        self._counter = 0
        self.failed = 0
        """Fallback items that could not be played (each also raised ``source.error``)."""

    # -- control (block loop) -----------------------------------------------------------

    def set_rotation(self, items: Sequence[PlayItem]) -> None:
        """Replace the rotation; it starts at the next item boundary (empty: no rotation).

        The item on air plays on; the one queued after it is dropped, so the
        new rotation's first item follows it.
        """
        tier = self._tiers[FallbackSource.ROTATION]
        # NOTE: played as soon as their turn comes, whatever timing they were sent with.
        fresh = [replace(item, start_at=None, timing=Timing.SOFT) for item in items]
        if fresh == tier.items:
            return  # the same rotation sent again (a reconnecting controller): carry on
        tier.items = fresh
        tier.position = tier.failed_in_row = tier.retry_at = 0
        for queued in self._player.queue:
            self._station_items.pop(queued.item_id, None)
        self._player.clear()
        self._disarm()

    def ready(self, frame: int) -> bool:
        """Whether fallback has something it may try at ``frame``."""
        self._load(frame)
        return any(tier.items and frame >= tier.retry_at for tier in self._tiers.values())

    def unready_through(self, frame: int) -> bool:
        """Whether ``ready`` stays False up to ``frame`` (no tier has items, and no look
        at the station's paths falls before then)."""
        if any(tier.items for tier in self._tiers.values()) or self._loaded_at is None:
            return False
        nothing_to_find = not self._paths and self._emergency is None
        return nothing_to_find or frame - self._loaded_at < RETRY_FRAMES

    def arm(self, frame: int) -> None:
        """Start decoding the item fallback would play first (realtime: so it starts on time).

        The armed source waits, its buffer full, until fallback needs it.
        """
        if self._armed is not None or self._player.voices or self._player.queue:
            return
        item = self._next(frame)
        if item is not None:
            source = self._factory(item)
            source.start()
            self._armed = (item, source)

    def observe(self, event: EngineEvent) -> None:
        """Note where the programme's audio starts and ends (an engine event sink)."""
        layer = event.data.get("layer")
        if event.type == "item.started" and layer in _PROGRAMME:
            self._programme_start = event.frame
        elif event.type == "item.ended" and layer in _PROGRAMME and event.data.get("aired", True):
            self._programme_end = max(self._programme_end, event.frame)
        elif event.type == "live.started":
            self._programme_start = event.frame
        elif event.type == "live.ended":
            self._programme_end = max(self._programme_end, event.frame)

    def took_air_at(self, frame0: int) -> int:
        """Where fallback's audio begins in the block at ``frame0`` it went on air in."""
        return max(frame0, self._programme_end)

    def gave_air_at(self, frame0: int) -> int:
        """Where the programme's audio begins in the block at ``frame0`` it came back in."""
        return max(frame0, self._programme_start)

    def release(self, frame: int) -> None:
        """Fallback left the air at ``frame``: end what plays, drop what is queued."""
        for voice in self._player.voices:
            if voice.end is None:
                self._emit(
                    EngineEvent(
                        "item.ended",
                        frame,
                        {
                            "item_id": voice.item.item_id,
                            "layer": Layer.FALLBACK.value,
                            "reason": EndReason.PREEMPTED.value,
                            "start_frame": voice.start,
                        },
                    )
                )
        self._player.close()
        self._player.clear()
        self._station_items.clear()

    # -- the block ------------------------------------------------------------------------

    def render(self, frame0: int, n: int) -> Block:
        """Fallback audio for ``[frame0, frame0 + n)``; a fresh start begins where the
        programme's audio ended in this block, so the two join without a gap."""
        player = self._player
        if not player.voices and not player.queue:
            self._enqueue(frame0, self.took_air_at(frame0))
        elif not player.queue and len(player.voices) <= 1:
            self._enqueue(frame0, None)
        block = player.render(frame0, n)
        out = silence(n) if block is None else block
        end = frame0 + n
        for _ in range(_SKIPS_PER_BLOCK):
            # NOTE: an item that failed at once leaves the rest of the block empty:
            # the next one starts on the frame it failed.
            if player.voices or player.queue:
                break
            at = max(frame0, self._ended_at)
            if at >= end or not self._enqueue(at, at):
                break
            part = player.render(at, end - at)
            if part is not None:
                out[:, at - frame0 :] += part
        return out

    def settle(self, until: int) -> None:
        """Offline: as ``AutomationPlayer.settle``, for the item fallback plays."""
        self._player.settle(until)

    def next_event_frame(self, frame0: int) -> int:
        """Where, from ``frame0`` on, fallback may start, end or queue an item (offline
        spans): ``frame0`` unless one item plays with the next one queued."""
        player = self._player
        if len(player.voices) != 1 or not player.queue or self._armed is not None:
            return frame0
        horizon = player.next_event_frame(frame0)
        return frame0 if horizon is None else horizon

    @property
    def active(self) -> bool:
        return self._player.active

    @property
    def current(self) -> Voice | None:
        """The fallback item on air (None: nothing plays)."""
        return self._player.current

    def status(self) -> dict[str, Any]:
        """What fallback holds and plays, for the engine's status."""
        current = self._player.current
        return {
            "rotation": len(self._tiers[FallbackSource.ROTATION].items),
            "playing": None if current is None else current.item.meta.get("fallback"),
            "failed": self.failed,
        }

    def close(self) -> None:
        self._player.close()
        self._disarm()

    # -- choosing items ---------------------------------------------------------------------

    def _load(self, frame: int) -> None:
        """Look at the station's paths: at first use, and again every RETRY_FRAMES while
        one of them gives nothing that plays (a file put there later is found)."""
        paths = self._tiers[FallbackSource.PATHS]
        emergency = self._tiers[FallbackSource.EMERGENCY]
        if self._loaded_at is not None:
            if frame - self._loaded_at < RETRY_FRAMES:
                return
            paths_ok = bool(paths.items) or not self._paths
            if paths_ok and (bool(emergency.items) or self._emergency is None):
                return
        self._loaded_at = frame
        if not paths.items:
            paths.items = [_named(file) for file in expand_paths(self._paths)]
            paths.position = 0
        if not emergency.items and self._emergency is not None and self._emergency.is_file():
            file = self._emergency
            emergency.items = [_named(file)]

    def _next(self, frame: int) -> PlayItem | None:
        armed = self._armed
        if armed is not None:
            return armed[0]
        for tier in self._tiers.values():
            if not tier.items or frame < tier.retry_at:
                continue
            template = tier.items[tier.position % len(tier.items)]
            tier.position = (tier.position + 1) % len(tier.items)
            item_id = template.item_id
            if tier.source is not FallbackSource.ROTATION:
                self._counter += 1
                item_id = f"fallback-{self._counter}"
                self._station_items[item_id] = tier.source
            meta = {**template.meta, "fallback": tier.source.value}
            return replace(template, item_id=item_id, meta=meta)
        return None

    def _enqueue(self, frame: int, at: int | None) -> bool:
        """Queue the next item (on frame ``at``; None: after the one playing).

        False: nothing to play at ``frame``.
        """
        item = self._next(frame)
        if item is None:
            return False
        if at is not None:
            # NOTE: hard: placed on that very frame (a soft item starts when the player
            # sees fit); with nothing else on this player it cuts nothing.
            item = replace(item, start_at=at, timing=Timing.HARD)
        self._player.enqueue(item)
        return True

    def _source_for(self, item: PlayItem) -> Source:
        armed = self._armed
        if armed is not None and armed[0].item_id == item.item_id and armed[0].path == item.path:
            self._armed = None
            return armed[1]
        return self._factory(item)

    def _disarm(self) -> None:
        if self._armed is not None:
            item, source = self._armed
            self._station_items.pop(item.item_id, None)
            source.close()
            self._armed = None

    def _tier_of(self, item_id: str, *, ended: bool) -> _Tier | None:
        source = (self._station_items.pop if ended else self._station_items.get)(item_id, None)
        if source is not None:
            return self._tiers[source]
        rotation = self._tiers[FallbackSource.ROTATION]
        if any(item.item_id == item_id for item in rotation.items):
            return rotation
        return None  # an item of a rotation replaced since

    def _on_event(self, event: EngineEvent) -> None:
        item_id = str(event.data.get("item_id"))
        if event.type == "item.started":
            tier = self._tier_of(item_id, ended=False)
            if tier is not None:
                tier.failed_in_row = 0
        elif event.type == "item.ended":
            tier = self._tier_of(item_id, ended=True)
            self._ended_at = event.frame
            if event.data.get("reason") == EndReason.ERROR.value:
                self.failed += 1
                if tier is not None:
                    self._failed(tier, event.frame)
        self._emit(event)

    def _failed(self, tier: _Tier, frame: int) -> None:
        tier.failed_in_row += 1
        if tier.failed_in_row < len(tier.items):
            return
        tier.failed_in_row = 0
        tier.retry_at = frame + RETRY_FRAMES
        if tier.source is not FallbackSource.ROTATION:
            tier.items = []  # looked for again at the retry
            self._loaded_at = frame
        self._emit(
            EngineEvent(
                "fallback.unavailable",
                frame,
                {
                    "source": tier.source.value,
                    "retry_in_ms": RETRY_FRAMES * 1000 // RATE,
                },
            )
        )


def _named(file: Path) -> PlayItem:
    """A file of a folder as an item, called as the library would call it."""
    artist, title = names_from_filename(file.name)
    return PlayItem(item_id="", path=str(file), title=title or file.stem, artist=artist or "")
