"""The executor's state, in small objects that own it (ARCHITECTURE: state has owners).

- ``OnAirItems``: what the engine holds on the automation layer, as the executor
  knows it (queued, playing, the current item, which items play unheard under a
  higher layer, which the executor took off air, web stream URLs);
- ``EngineLink``: whether the engine is reachable, which engine process it is
  and how far its event journal has been dealt with;
- ``LiveWindow``: the scheduled live show whose window is open and whether a DJ
  is (or was) on air in it.

Each changes only through its own methods; everything else reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime, timedelta

from grimnir.engine.client import EngineEventRecord
from grimnir.executor import _timeline as tl
from grimnir.executor.recovery import is_new_engine


class OnAirItems:
    """The automation layer's items in the engine, and what aired of them."""

    def __init__(self) -> None:
        self._in_engine: set[str] = set()
        self._playing: set[str] = set()
        self._current: str | None = None
        self._current_started: datetime | None = None
        self._started: dict[str, EngineEventRecord] = {}
        self._covered: set[str] = set()
        self._interrupted: dict[str, bool] = {}
        self._stream_urls: dict[str, str] = {}
        self._resumed: list[tuple[str, int]] = []
        self._offsets: dict[str, int] = {}

    @property
    def in_engine(self) -> Set[str]:
        """Engine item ids queued or playing on the automation layer."""
        return self._in_engine

    @property
    def playing(self) -> Set[str]:
        """Automation items the engine plays now."""
        return self._playing

    @property
    def current(self) -> str | None:
        """The automation item that started last and still plays."""
        return self._current

    @property
    def covered(self) -> Set[str]:
        """Automation items playing under a higher layer: no open as-run row."""
        return self._covered

    @property
    def stream_urls(self) -> Mapping[str, str]:
        """Web stream items on air → the URL their chain plays now (after a failover)."""
        return self._stream_urls

    @property
    def resumed(self) -> Sequence[tuple[str, int]]:
        """(entry id, offset ms) of every item resumed after an engine restart."""
        return self._resumed

    def started_record(self, item_id: str) -> EngineEventRecord | None:
        """The ``item.started`` record of an automation item that plays."""
        return self._started.get(item_id)

    def offset_ms(self, item_id: str) -> int:
        """How far into its entry (after its cue-in) ``item_id`` was sent to start."""
        return self._offsets.get(item_id, 0)

    def position_ms(self, now: datetime) -> int:
        """How far into the current item the station is (0 when nothing plays)."""
        if self._current is None or self._current_started is None:
            return 0
        return max(0, round((now - self._current_started) / timedelta(milliseconds=1)))

    # -- changes ------------------------------------------------------------------------

    def sent(self, item_id: str, offset_ms: int = 0) -> None:
        """The engine was given ``item_id`` for the automation layer (``offset_ms`` > 0:
        joined that far into its entry)."""
        self._in_engine.add(item_id)
        if offset_ms > 0:
            self._offsets[item_id] = offset_ms

    def taken_back(self, item_ids: Iterable[str]) -> None:
        """The engine's queue no longer has ``item_ids`` (unqueued)."""
        gone = set(item_ids)
        self._in_engine -= gone
        for item_id in gone:
            self._offsets.pop(item_id, None)

    def lined_up(self, engine_ids: Iterable[str], current_id: str | None) -> None:
        """The engine's status says it holds ``engine_ids`` and plays ``current_id``."""
        self._in_engine = set(engine_ids)
        self._playing = {current_id} if current_id else set()
        if current_id:
            self._current = current_id

    def resumed_at(self, item_id: str, offset_ms: int) -> None:
        """An item cut by an engine restart was sent again from ``offset_ms``."""
        self.sent(item_id, offset_ms)
        self._resumed.append((item_id, offset_ms))

    def stream_switched(self, item_id: str, url: str) -> None:
        """A web stream item's chain plays ``url`` now."""
        self._stream_urls[item_id] = url

    def automation_started(self, item_id: str, record: EngineEventRecord) -> None:
        """An automation item started playing (``record`` is its ``item.started``)."""
        self._started[item_id] = record
        self._playing.add(item_id)
        self._current = item_id
        self._current_started = record.time

    def cover(self, item_id: str) -> None:
        """``item_id`` plays under a higher layer: not heard."""
        self._covered.add(item_id)

    def uncover(self, item_id: str) -> None:
        """``item_id`` is heard again (automation is back on air)."""
        self._covered.discard(item_id)

    def ended(self, item_id: str, layer: str) -> tuple[bool, bool, bool]:
        """An item on ``layer`` ended: forget it. Returns (whether the executor took it
        off air, whether that counts as pre-empted, whether it played unheard)."""
        interrupted = item_id in self._interrupted
        preempted = self._interrupted.pop(item_id, False)
        self._stream_urls.pop(item_id, None)
        if layer == "automation":
            self._offsets.pop(item_id, None)
            self._in_engine.discard(item_id)
            self._playing.discard(item_id)
            if self._current == item_id:
                self._current = None
        covered = layer == "automation" and item_id in self._covered
        self._covered.discard(item_id)
        self._started.pop(item_id, None)
        return interrupted, preempted, covered

    def cut(self, item_id: str) -> None:
        """The executor takes ``item_id`` off air under an emergency (pre-empted)."""
        self._interrupted[item_id] = True

    def interrupt(self, *, preempted: bool) -> set[str]:
        """The executor takes automation off air: the items playing will end as
        interrupted (pre-empted or not). Returns the ones only queued."""
        self._interrupted.update(dict.fromkeys(self._playing, preempted))
        return self._in_engine - self._playing

    def only_playing(self) -> None:
        """The engine's automation queue was emptied: it holds what plays, no more."""
        self._in_engine = set(self._playing)


class EngineLink:
    """Whether the engine is reached, which process it is, where its journal stands."""

    def __init__(self) -> None:
        self._up = False
        self._lost_at: datetime | None = None
        self._origin: datetime | None = None
        self._said_down = False
        self._handled: tuple[int, int] | None = None

    @property
    def up(self) -> bool:
        """The executor follows the engine's events now."""
        return self._up

    @property
    def lost_at(self) -> datetime | None:
        """When the engine was lost (None: not lost since the last line-up)."""
        return self._lost_at

    @property
    def origin(self) -> datetime | None:
        """The clock origin of the engine process last lined up with."""
        return self._origin

    @property
    def handled(self) -> tuple[int, int] | None:
        """(frame, how many events at that frame) of the last engine event dealt with."""
        return self._handled

    def lost(self, at: datetime) -> None:
        """The engine that was up cannot be reached (``output.down`` is said)."""
        self._up = False
        self._lost_at = at
        self._said_down = True

    def reached(self) -> bool:
        """The engine is followed again. True when ``output.down`` was said (say ``output.up``)."""
        self._up = True
        said, self._said_down = self._said_down, False
        return said

    def lined_up(self, origin: datetime | None) -> bool:
        """The engine's status showed clock ``origin``. True for another engine process."""
        restarted = is_new_engine(self._origin, origin)
        self._origin = origin
        return restarted

    def recovered(self) -> None:
        """What the loss cut has been dealt with."""
        self._lost_at = None

    def mark(self, frame: int) -> None:
        """An engine event at ``frame`` was dealt with (or passed over)."""
        last, count = self._handled or (-1, 0)
        self._handled = (frame, count + 1 if frame == last else 1)

    def mark_before(self, frame: int) -> None:
        """Nothing before ``frame`` is left to deal with (none at it yet)."""
        self._handled = (frame - 1, 0)

    def forget_marks(self) -> None:
        """A new engine process: its frames start again from 0."""
        self._handled = None


class LiveWindow:
    """The scheduled live show whose window is open, and the DJ on air."""

    def __init__(self) -> None:
        self._entry: tl.Planned | None = None
        self._heard = False
        self._on_air = False

    @property
    def entry(self) -> tl.Planned | None:
        """The live show whose window is open now."""
        return self._entry

    @property
    def heard(self) -> bool:
        """A DJ was on air during the open window (the show aired)."""
        return self._heard

    @property
    def on_air(self) -> bool:
        """A DJ's audio is on air now."""
        return self._on_air

    def open(self, entry: tl.Planned) -> None:
        self._entry = entry
        self._heard = self._on_air

    def close(self) -> None:
        self._entry = None

    def dj_on_air(self) -> tl.Planned | None:
        """A DJ went on air; returns the show whose window is open (it aired)."""
        self._on_air = True
        if self._entry is not None:
            self._heard = True
        return self._entry

    def dj_off_air(self) -> None:
        self._on_air = False
