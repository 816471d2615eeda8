"""One station's executor: carries the planned timeline out on air.

Two asyncio tasks per station:

- the **scheduler** wakes every ``poll_s``, reads the entries that start within
  ``preload_s`` (an hour: the engine carries the station alone that long) and
  sends each to the engine ahead of time with its
  ``start_at`` (hard entries start on that exact frame, soft ones at the
  previous item's segue), cue points, fades, gain and text; sent entries
  become ``queued``; queued entries a rebuild removed are taken back
  (``unqueue``);
- the **follower** reads the engine's events: it moves entries to ``on_air``
  and ``aired``/``skipped``, writes the as-run log, keeps the priority ladder
  and publishes ``item.started``, ``item.ended``, ``now_playing`` and
  ``priority.changed`` on the bus.

"Now" comes from ``clock`` (UTC; wall time on air, the engine's virtual clock
in tests), so nothing here sleeps on the schedule itself.

When a higher source takes the air (a DJ, an emergency) automation plays on
underneath, unheard: the moment the DJ's audio stops or the alert ends, the
timeline is audible where it is due (the engine's mixer decides, within the
layer fade, with or without us). The as-run log follows the ear: an
automation row closes as *pre-empted* when a higher layer takes the air and
a new row opens for the same item when automation is heard again; items that
play entirely under a DJ get no row.

A live entry opens a window: the executor routes its harbor mount to the live
layer and waits for the DJ. Entries planned inside the window are its
fallback programme and play under the DJ.

An item that starts early (the one before it was skipped, failed or ended
early) moves the following soft entries of the timeline earlier by as much,
up to the next hard entry, so the stored timeline says what will air and the
rolling rebuild continues from there.

**Lock-step** (an engine on a ``VirtualClock``: tests, simulations): on air the
executor reacts within milliseconds while the engine plays at 1×; a virtual
clock runs ~100× faster, so the executor's wall-clock reaction would show as
programme time, more the busier the machine. With ``lockstep=True`` whoever
steps the clock awaits ``settle()`` after each step; it returns once the
executor has done everything due at the current ``clock()`` (see there), and
the timeline is polled every ``poll_s`` of ``clock`` time from ``settle()``
rather than by a wall-clock timer. What the executor does then lands on the
frame it reacted to, however long it took::

    for _ in range(blocks):
        clock.wait()
        engine.step()
        await executor.settle()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from grimnir.bus import (
    ITEM_ENDED,
    ITEM_STARTED,
    NOW_PLAYING,
    OUTPUT_DOWN,
    OUTPUT_UP,
    TELEMETRY,
    Event,
    EventBus,
    Outbox,
)
from grimnir.domain import (
    EndReason,
    EntryKind,
    EntryStatus,
    ExecutorState,
    GrimnirError,
    NotFoundError,
    Priority,
    Timing,
)
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.client import (
    SUBSCRIBED,
    EngineClient,
    EngineEventRecord,
    InProcessEngineClient,
    PlayRequest,
)
from grimnir.executor import _timeline as tl
from grimnir.executor._scheduler import live_windows, timeline_pass
from grimnir.executor.asrun import AsRunLog
from grimnir.executor.priority import PriorityService
from grimnir.executor.recovery import engine_origin, is_new_engine, resync
from grimnir.executor.rotation import fingerprint, rotation
from grimnir.faults import FailureRun
from grimnir.store.models import MediaItem, TimelineEntry
from grimnir.store.types import utcnow

log = logging.getLogger("grimnir.executor")

ENGINE_START_GRACE_S = 30.0
"""How long an engine that was never reached may take to come up before a warning:
at start the supervisor launches it beside the executor (its own start timeout)."""

COVERING = ("live", "emergency")
ENGINE_OUTPUT: dict[str, Any] = {"output": "engine"}
"""``output.down`` / ``output.up`` data for the engine as a whole: every mount is off air."""
"""Layers that cover automation when on air (it plays on underneath)."""
FORWARDED = (
    "live.connected",
    "live.disconnected",
    "live.started",
    "live.ended",
    "webstream.failover",
    "webstream.recovered",
    "silence.detected",
    "source.error",
)
"""Engine events passed on to the bus as they are."""
PRELOAD_S = 3600.0
"""The engine holds this much of the timeline ahead: with the control plane down it
plays the plan this long, then the fallback rotation."""
ROTATION_CHECK_S = 300.0
"""How often (station time) the executor looks whether the library changed, to give
the engine a fresh fallback rotation."""
POISON_TRIES = 3
"""Failures of the same engine event (not an outage) before it is passed over."""
TELEMETRY_EVERY_S = 0.5
"""Telemetry goes to the bus at most this often (≤ 2 a second per station)."""


class StationExecutor:
    """Runs one station's timeline on its engine; see the module docstring."""

    def __init__(
        self,
        station_id: uuid.UUID | str,
        session_factory: tl.Sessions,
        client: EngineClient,
        bus: EventBus,
        *,
        preload_s: float = PRELOAD_S,
        clock: Callable[[], datetime] = utcnow,
        poll_s: float = 0.25,
        live_grace_s: float = 30.0,
        graph: Mapping[str, Any] | None = None,
        reconnect_s: float = 0.1,
        lockstep: bool = False,
        fallback_rotation: bool = True,
    ) -> None:
        self.station_uuid = uuid.UUID(str(station_id))
        self.station_key = str(self.station_uuid)
        self.sessions = session_factory
        self.client = client
        self.bus = bus
        self._outbox = Outbox(bus, self.station_key)
        """Events the bus could not take yet, in order (a Redis restart)."""
        self.preload_s = preload_s
        self.clock = clock
        self.poll_s = poll_s
        self.live_grace_s = live_grace_s
        self.graph = graph
        self.reconnect_s = reconnect_s
        self.lockstep = lockstep
        self.fallback_rotation = fallback_rotation
        """Keep the station's tracks loaded as the engine's fallback rotation."""
        """Driven by ``settle()`` on a virtual clock: no wall-clock polling (module docstring)."""
        self.state = ExecutorState.IDLE
        self.asrun = AsRunLog(self.station_uuid, session_factory)
        self.priority = PriorityService(self.station_uuid, session_factory, client, bus, clock)
        self.in_engine: set[str] = set()
        """Engine item ids queued or playing on the automation layer."""
        self.playing: set[str] = set()
        self.current: str | None = None
        self.engine_origin: datetime | None = None
        self.lost_at: datetime | None = None
        self._said_down = False
        """``output.down`` was published for the engine; ``output.up`` follows it."""
        self.resumed: list[tuple[str, int]] = []
        """(entry id, offset ms) of every item resumed after an engine restart."""
        self.engine_up = False
        self._current_started: datetime | None = None
        self._interrupted: dict[str, bool] = {}
        """Items the executor took off air → whether they count as pre-empted."""
        self.held = False
        """Manually stopped: nothing is sent until ``resume()``."""
        self.live_entry: tl.Planned | None = None
        """The live show whose window is open now."""
        self.live_heard = False
        """A DJ was on air during the open window (the show aired)."""
        self.live_on_air = False
        self.telemetry: dict[str, Any] | None = None
        """The engine's last telemetry record (meters, loudness, outputs), with ``time``."""
        self._telemetry_sent = float("-inf")
        self.audible: str | None = None
        """The layer the engine's mixer has on air (``layer.changed``)."""
        self._started: dict[str, EngineEventRecord] = {}
        """Automation items playing → their ``item.started`` record."""
        self._covered: set[str] = set()
        """Automation items playing under a higher layer: no open as-run row."""
        self.stream_urls: dict[str, str] = {}
        """Web stream items on air → the URL their chain plays now (after a failover)."""
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        """Asks the scheduler for a timeline pass now."""
        self._reach = asyncio.Event()
        """Asks the follower to try the engine now instead of after ``reconnect_s``."""
        self._passing = False
        self._passed = asyncio.Event()
        """Set after every scheduler pass (``settle()`` waits on it)."""
        self._polled_at: datetime | None = None
        """``clock()`` at the scheduler's last pass."""
        self._tasks: list[asyncio.Task[None]] = []
        self._rotation: str | None = None
        """Fingerprint of the library behind the rotation the engine holds (None: none)."""
        self._rotation_checked: datetime | None = None
        self._failures = 0

        # NOTE: retried failures are logged as runs (start, reminders, end), not per try
        def seconds() -> float:
            return self.clock().timestamp()

        key = self.station_key
        self._pass_faults = FailureRun(log, f"station {key}: timeline pass", clock=seconds)
        self._follow_faults = FailureRun(log, f"station {key}: engine event", clock=seconds)
        self._publish_faults = FailureRun(log, f"station {key}: publishing", clock=seconds)
        self._trying: EngineEventRecord | None = None
        self._handled: tuple[int, int] | None = None
        """(frame, how many events at that frame) of the last engine event dealt with."""

    # -- life ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start following the engine and the timeline (returns at once)."""
        await self.priority.restore()
        self._tasks = [
            asyncio.create_task(self._follow(), name=f"executor-events-{self.station_key}"),
            asyncio.create_task(self._schedule(), name=f"executor-timeline-{self.station_key}"),
        ]

    def engine_started(self) -> None:
        """The engine (re)started and serves (its supervisor saw it): reach it now,
        not at the next retry, since the station is off air until the queue is back."""
        self._reach.set()

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the executor has lined up with the engine."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    async def close(self) -> None:
        """Stop the executor's tasks; the engine plays on with what it has."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._passed.set()  # NOTE: a settle() waiting for a pass sees the executor closed

    async def settle(self) -> None:
        """Return once the executor has done everything due at the current ``clock()``.

        That is: every engine event handed over so far has been handled, with the
        database writes and engine commands it led to (with an ``InProcessEngineClient``
        on a ``VirtualClock`` stepped on this event loop: every event the engine has
        raised; see ``InProcessEngineClient.drained``); no manual command holds the
        executor; and no timeline pass is running or asked for. With ``lockstep`` a
        poll falls due once ``poll_s`` of ``clock`` time has passed since the last pass
        and runs before this returns (without it the wall-clock poll runs whenever it
        does). The caller must not move the clock meanwhile.

        For lock-step runs (module docstring); nothing calls it on air. It returns at
        once before ``wait_ready`` and after ``close``; a wait that never ends (an
        executor stuck on its database) is the caller's to bound.
        """
        drained = self.client.drained if isinstance(self.client, InProcessEngineClient) else None
        while True:
            if drained is not None:
                await drained()
            async with self._lock:  # NOTE: a manual command or a resync in progress ends first
                pass
            if not self._tasks or not self._ready.is_set():
                return  # closed, or not lined up with the engine yet: nothing runs
            if self.lockstep and self._poll_due():
                self._wake.set()
            if not self._wake.is_set() and not self._passing:
                return
            self._passed.clear()
            await self._passed.wait()

    def _poll_due(self) -> bool:
        last = self._polled_at
        return last is None or self.clock() - last >= timedelta(seconds=self.poll_s)

    def set_state(self, target: ExecutorState) -> None:
        """Move the state machine (``InvalidTransitionError`` for a move it forbids)."""
        if target is not self.state:
            self.state = self.state.transition(target)

    def force_state(self, target: ExecutorState) -> None:
        """Take the state the engine shows (recovery restores, it does not transition)."""
        if target is not self.state and not self.state.can_become(target):
            log.info("station %s: state restored %s → %s", self.station_key, self.state, target)
            self.state = target
        self.set_state(target)

    # -- manual control -----------------------------------------------------------------

    async def skip(self, fade_ms: int = 500) -> None:
        """End the item on air (fading over ``fade_ms``); the next one follows."""
        async with self._lock:
            if self.state is ExecutorState.PLAYING:
                self.set_state(ExecutorState.FADING)
            await self.client.skip("automation", fade_ms)

    async def stop(self, fade_ms: int = 500) -> None:
        """Fade out automation, empty the engine's queue and hold until ``resume()``."""
        async with self._lock:
            self.held = True
            await self._stop_automation(fade_ms, preempted=False)
            if self.state is ExecutorState.PLAYING:
                self.set_state(ExecutorState.FADING)

    async def resume(self) -> None:
        """Carry on with the timeline after ``stop()`` (joining the entry due now)."""
        self.held = False
        self._wake.set()

    async def insert(
        self,
        item: TimelineEntry | MediaItem | PlayRequest | str | Path,
        at: datetime | None = None,
    ) -> str:
        """Queue an entry, a library item, a ready request or a file: next (soft, after
        the item on air) or at ``at`` (hard). Returns the engine item id."""
        when = at or self.clock()
        timing = Timing.HARD if at is not None else Timing.SOFT
        if isinstance(item, TimelineEntry):
            found = await tl.load_entries(self.sessions, [item.id])
            request = tl.play_request(found[0]) if found else None
            if request is None:
                raise NotFoundError(f"timeline entry {item.id} has no file or stream to play")
            request = _retimed(request, when, timing)
            entry_ids = [item.id]
        elif isinstance(item, PlayRequest):
            request, entry_ids = _retimed(item, when, timing), []
        else:
            if isinstance(item, MediaItem):
                path, title, artist = item.path, item.title or "", item.artist or ""
                meta: dict[str, Any] = {"media_id": str(item.id)}
            else:
                path, title, artist, meta = str(item), Path(item).stem, "", {}
            request = PlayRequest(
                item_id=f"insert-{uuid.uuid4().hex[:12]}",
                path=path,
                start_at=when,
                timing=timing,
                title=title,
                artist=artist,
                meta=meta,
            )
            entry_ids = []
        async with self._lock:
            await self.client.play(request)
            self.in_engine.add(request.item_id)
            await tl.set_status(self.sessions, entry_ids, EntryStatus.QUEUED)
        return request.item_id

    async def reload(self) -> int:
        """Re-read the timeline now (after the planner rebuilt it); entries the engine
        already has are kept. Returns how many entries were sent."""
        async with self._lock:
            return await timeline_pass(self)

    async def insert_emergency(self, item: str | Path | MediaItem) -> str:
        """Play emergency audio now, over everything (see ``PriorityService``)."""
        return await self.priority.insert_emergency(item)

    # -- the scheduler ------------------------------------------------------------------

    async def _schedule(self) -> None:
        await self._ready.wait()
        while True:
            self._wake.clear()  # NOTE: before the pass: a wake during it asks for another
            self._passing = True
            try:
                async with self._lock:
                    self._polled_at = self.clock()
                    await timeline_pass(self)
                self._pass_faults.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._pass_faults.failed(exc)
            finally:
                self._passing = False
                self._passed.set()
            await self._flush_outbox()  # NOTE: what the bus could not take, once it is back
            if self.lockstep:
                await self._wake.wait()  # NOTE: polls come from settle(), in clock time
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def keep_rotation(self, now: datetime) -> None:
        """Give the engine the station's fallback rotation, again when the library
        changed (looked at every ``ROTATION_CHECK_S`` of station time)."""
        if not self.fallback_rotation:
            return
        last = self._rotation_checked
        fresh = last is not None and now - last < timedelta(seconds=ROTATION_CHECK_S)
        if self._rotation is not None and fresh:
            return
        self._rotation_checked = now
        current = await fingerprint(self.sessions, self.station_uuid)
        if current == self._rotation:
            return
        items = await rotation(self.sessions, self.station_uuid, current)
        await self.client.set_fallback(items)
        self._rotation = current
        log.info("station %s: fallback rotation of %d tracks loaded", self.station_key, len(items))

    # -- the follower -------------------------------------------------------------------

    async def _follow(self) -> None:
        # NOTE: one warning per outage, not one per 100 ms retry; and none while a
        # just-started engine is still coming up (ENGINE_START_GRACE_S).
        warned = False
        reached = False
        failing_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            seen: tuple[int, int] | None = None
            replayed = 0
            self._reach.clear()
            try:
                since = await self._replay_from()
                events = self.client.events(include_telemetry=True, since_frame=since)
                async with contextlib.aclosing(events) as stream:
                    async for record in stream:
                        async with self._lock:
                            if record.type == SUBSCRIBED:
                                if warned:
                                    log.info("station %s: engine reached", self.station_key)
                                warned, reached, failing_since = False, True, None
                                known = self.engine_origin
                                await resync(self)
                                if is_new_engine(known, self.engine_origin):
                                    self._handled = None  # its frames start again from 0
                                self._rotation = None  # a new engine holds none
                                self.engine_up = True
                                if self._said_down:
                                    self._said_down = False
                                    await self._publish(OUTPUT_UP, self.clock(), ENGINE_OUTPUT)
                                self._ready.set()
                                self._wake.set()
                                seen = self._handled
                                replayed = 0
                            elif seen is not None and record.frame <= seen[0]:
                                # NOTE: the journal from the last frame we dealt with:
                                # skip what we had (at that frame: the first seen[1])
                                if record.frame == seen[0]:
                                    replayed += 1
                                    if replayed > seen[1]:
                                        await self._handle(record)
                            else:
                                await self._handle(record)
            except asyncio.CancelledError:
                raise
            except GrimnirError as exc:
                now = loop.time()
                failing_since = now if failing_since is None else failing_since
                due = reached or now - failing_since >= ENGINE_START_GRACE_S
                log.log(
                    logging.WARNING if due and not warned else logging.DEBUG,
                    "station %s: engine unreachable (%s); retrying every %.1f s",
                    self.station_key,
                    exc,
                    self.reconnect_s,
                )
                warned = warned or due
            except Exception as exc:
                self._follow_faults.failed(exc)
                self._poisoned(exc)
            if self.engine_up:
                self.engine_up = False
                self.lost_at = self.clock()
                # NOTE: said at once (public answers are cached until the bus says a
                # station changed): the station is off air until the engine is back
                self._said_down = True
                await self._publish(
                    OUTPUT_DOWN, self.lost_at, {**ENGINE_OUTPUT, "reason": "engine unreachable"}
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reach.wait(), self.reconnect_s)

    async def _handle(self, record: EngineEventRecord) -> None:
        """One engine event, then remember how far we got (the journal replays from
        there when the stream breaks: an event that failed, the database down)."""
        self._trying = record
        await self._on_event(record)
        self._trying = None
        self._failures = 0
        self._follow_faults.succeeded()
        if record.type != TELEMETRY:
            self._mark(record)

    def _mark(self, record: EngineEventRecord) -> None:
        frame, count = self._handled or (-1, 0)
        self._handled = (record.frame, count + 1 if record.frame == frame else 1)

    def _poisoned(self, exc: Exception) -> None:
        """An event that fails the same way again and again (not an outage: a bug, bad
        data) is passed over after ``POISON_TRIES``, so the ones after it are handled."""
        if isinstance(exc, OperationalError | OSError | TimeoutError):
            self._failures = 0
            return  # the database or the network is away: retry until it is back
        record, self._trying = self._trying, None
        if record is None:
            return
        self._failures += 1
        if self._failures >= POISON_TRIES:
            self._failures = 0
            if record.type != TELEMETRY:
                self._mark(record)
            log.error(
                "station %s: passed over a %s event (frame %d) that kept failing",
                self.station_key,
                record.type,
                record.frame,
            )

    async def _replay_from(self) -> int | None:
        """The engine frame to replay its journal from: where this executor got to, or,
        for a fresh one, just after the last thing the as-run log has (what aired
        while no control plane listened is logged after all)."""
        if self._handled is not None:
            return self._handled[0]
        latest = await self.asrun.latest()
        if latest is None:
            self._handled = (-1, 0)
            return 0  # nothing logged yet: all the engine has aired
        origin = engine_origin(await self.client.status())
        if origin is None:
            return None
        # NOTE: log times are engine frames: round, or 271.9 s becomes the frame before
        frame = max(0, round((latest - origin) / timedelta(seconds=1) * SAMPLE_RATE) + 1)
        self._handled = (frame - 1, 0)
        return frame

    async def _on_event(self, record: EngineEventRecord) -> None:
        kind, data = record.type, record.data
        if kind == TELEMETRY:
            self.telemetry = {**_finite(data), "time": record.time.isoformat()}
            if time.monotonic() - self._telemetry_sent >= TELEMETRY_EVERY_S:
                self._telemetry_sent = time.monotonic()
                await self._publish(TELEMETRY, record.time, _finite(data))
        elif kind in ("webstream.failover", "webstream.recovered"):
            self.stream_urls[str(data.get("item_id"))] = str(data.get("to") or data.get("url"))
        if kind == "item.started":
            await self._item_started(record)
        elif kind == "item.ended":
            await self._item_ended(record)
        elif kind == "layer.changed":
            await self._layer_changed(record)
        elif kind == "live.started":
            if self.live_entry is None:  # the DJ may beat the scheduler to the window
                pending = await tl.load_pending(self.sessions, self.station_uuid, record.time)
                await live_windows(
                    self, [e for e in pending if e.kind is EntryKind.LIVE], record.time
                )
            self.live_on_air = True
            if self.live_entry is not None:
                self.live_heard = True
                await tl.set_status(self.sessions, [self.live_entry.id], EntryStatus.ON_AIR)
            mount = str(data.get("mount") or "")
            priority = self.priority.priority_of("live")
            await self.priority.claim(priority, "live", mount)
            await self.asrun.live_on_air(record, priority)
            await self.priority.hold(f"live:{mount}", priority, record.time)
            await self._follow_priority()
        elif kind == "live.ended":
            self.live_on_air = False
            await self.priority.release("live", str(data.get("mount") or ""))
            await self.asrun.live_off_air(record)
            await self.priority.let_go("live:", at=record.time)
            await self._follow_priority()
        elif kind == "live.connected":
            await self.asrun.live_connected(record)
        elif kind == "live.disconnected":
            await self.asrun.live_disconnected(record)
        if kind in FORWARDED:
            await self._publish(kind, record.time, dict(data))

    async def _item_started(self, record: EngineEventRecord) -> None:
        data = record.data
        item_id, layer = str(data.get("item_id", "")), str(data.get("layer", "automation"))
        priority = self.priority.priority_of(layer)
        entry = tl.parse_uuid(data.get("entry_id"))
        if layer == "automation" and self.audible in COVERING:
            self._covered.add(item_id)  # plays under a DJ or an alert: not heard (yet)
        else:
            await self.asrun.item_started(record, priority)
        if layer == "automation":
            self._started[item_id] = record
            if entry is not None:
                await tl.shift_following(self.sessions, entry, record.time)
            self.playing.add(item_id)
            self.current = item_id
            self._current_started = record.time
            if entry is not None:
                await tl.set_status(self.sessions, [entry], EntryStatus.ON_AIR)
            if self.state not in (ExecutorState.LIVE, ExecutorState.EMERGENCY):
                self.set_state(ExecutorState.PLAYING)
        elif layer == "emergency":
            await self.priority.hold(f"emergency:{item_id}", Priority.EMERGENCY, record.time)
            await self._follow_priority()
        info = {
            "item_id": item_id,
            "entry_id": None if entry is None else str(entry),
            "media_id": data.get("media_id"),
            "title": data.get("title") or "",
            "artist": data.get("artist") or "",
            "layer": layer,
            "priority": int(priority),
            "started_at": record.time.isoformat(),
        }
        await self._publish(ITEM_STARTED, record.time, info)
        await self._publish(NOW_PLAYING, record.time, info)

    async def _item_ended(self, record: EngineEventRecord) -> None:
        data = record.data
        item_id, layer = str(data.get("item_id", "")), str(data.get("layer", "automation"))
        entry = tl.parse_uuid(item_id)
        aired = bool(data.get("aired", True))
        reason = EndReason(str(data.get("reason") or "finished"))
        interrupted = item_id in self._interrupted
        if self._interrupted.pop(item_id, False):
            reason = EndReason.PREEMPTED
        self.stream_urls.pop(item_id, None)
        if layer == "automation":
            self.in_engine.discard(item_id)
            self.playing.discard(item_id)
            if self.current == item_id:
                self.current = None
        covered = layer == "automation" and item_id in self._covered
        self._covered.discard(item_id)
        self._started.pop(item_id, None)
        if aired and not covered:
            await self.asrun.item_ended(record, reason, self.priority.priority_of(layer))
        if entry is not None:
            status = EntryStatus.AIRED if aired else EntryStatus.SKIPPED
            if interrupted and layer == "automation":
                # NOTE: back to planned: it rejoins (failback, resume) if its slot is not over
                status = EntryStatus.PLANNED
            await tl.set_status(self.sessions, [entry], status)
        if layer == "emergency":
            await self.priority.release("emergency", item_id)
            await self.priority.let_go(f"emergency:{item_id}", "emergency:?", at=record.time)
            await self._follow_priority()
        if layer == "automation" and not self.playing:
            if self.state is ExecutorState.FADING and self.in_engine:
                pass  # the next item.started moves on to playing
            elif self.state in (ExecutorState.PLAYING, ExecutorState.FADING):
                self.set_state(ExecutorState.IDLE)
        await self._publish(
            ITEM_ENDED,
            record.time,
            {"item_id": item_id, "layer": layer, "reason": reason.value, "aired": aired},
        )

    async def _layer_changed(self, record: EngineEventRecord) -> None:
        to = record.data.get("to")
        layer = to if isinstance(to, str) else None
        before, self.audible = self.audible, layer
        await self._follow_the_ear(before, layer, record)
        await self.priority.layer_changed(layer, record.time)
        await self._follow_priority()

    async def _follow_the_ear(
        self, before: str | None, after: str | None, record: EngineEventRecord
    ) -> None:
        """Keep the as-run log to what listeners hear when the mixer changes layer."""
        if before == "live" and after != "live":
            reason = EndReason.PREEMPTED if after in COVERING else EndReason.FINISHED
            await self.asrun.live_paused(record, reason)
        if after in COVERING and before not in COVERING:
            for item_id in sorted(self.playing - self._covered):
                data = {**self._started.get(item_id, record).data, "item_id": item_id}
                closing = replace(record, type="item.ended", data=data)
                await self.asrun.item_ended(closing, EndReason.PREEMPTED, Priority.AUTOMATION)
                self._covered.add(item_id)
        elif after == "automation":
            for item_id in sorted(self._covered & self.playing):
                started = self._started.get(item_id)
                if started is not None:
                    await self.asrun.item_started(
                        replace(started, frame=record.frame, time=record.time),
                        Priority.AUTOMATION,
                    )
                self._covered.discard(item_id)
        if after == "live" and before != "live" and self.live_on_air:
            await self.asrun.live_resumed(record, self.priority.priority_of("live"))

    async def _follow_priority(self) -> None:
        """Pre-empt automation under a higher source; rejoin the timeline on failback."""
        top = self.priority.on_air
        if top < Priority.AUTOMATION:
            # NOTE: automation plays on underneath (module docstring)
            target = ExecutorState.EMERGENCY if top is Priority.EMERGENCY else ExecutorState.LIVE
            self.set_state(target)
        elif self.state in (ExecutorState.LIVE, ExecutorState.EMERGENCY):
            if self.playing:
                self.set_state(ExecutorState.PLAYING)
            else:
                self.set_state(ExecutorState.PRELOADING if self.in_engine else ExecutorState.IDLE)
            self._wake.set()

    async def _stop_automation(self, fade_ms: int, *, preempted: bool) -> None:
        if not self.in_engine:
            return
        self._interrupted.update(dict.fromkeys(self.playing, preempted))
        queued = self.in_engine - self.playing
        await self.client.stop("automation", fade_ms, True)
        ids = [u for u in (tl.parse_uuid(i) for i in queued) if u is not None]
        back = (EntryStatus.QUEUED,)
        await tl.set_status(self.sessions, ids, EntryStatus.PLANNED, only_from=back)
        self.in_engine = set(self.playing)

    async def _publish(self, kind: str, at: datetime, data: dict[str, Any]) -> None:
        """Publish through the outbox: an event the bus cannot take now waits, in order,
        and goes out when it is back (telemetry, out of date by then, does not wait)."""
        event = Event(kind, self.station_key, at, data)
        if kind == TELEMETRY and self._outbox.waiting:
            return
        try:
            if kind == TELEMETRY:
                await self.bus.publish(event)
            else:
                await self._outbox.publish(event)
            self._publish_faults.succeeded()
        except Exception as exc:
            self._publish_faults.failed(exc)

    async def _flush_outbox(self) -> None:
        if not self._outbox.waiting:
            return
        try:
            await self._outbox.flush()
            self._publish_faults.succeeded()
        except Exception as exc:
            self._publish_faults.failed(exc)

    def position_ms(self, now: datetime) -> int:
        """How far into the current item the station is (0 when nothing plays)."""
        if self.current is None or self._current_started is None:
            return 0
        return max(0, round((now - self._current_started) / timedelta(milliseconds=1)))


def _retimed(request: PlayRequest, at: datetime, timing: Timing) -> PlayRequest:
    return replace(request, start_at=at, timing=timing)


def _finite(value: Any) -> Any:
    """``value`` with infinite/NaN numbers (silence in dB, LUFS) as None: JSON has none."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
