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

When a DJ takes the air automation plays on underneath, unheard: the moment
the DJ's audio stops, the timeline is audible where it is due (the engine's
mixer decides, within the layer fade, with or without us). An emergency instead
cuts the automation item audible then and resumes it after the alert from
where listeners last heard it, moving the soft entries after it later
(``_resume``). The as-run log follows the ear: an
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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
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
from grimnir.domain.titles import names_from_filename
from grimnir.domain.units import SAMPLE_RATE
from grimnir.engine.client import (
    SUBSCRIBED,
    EngineClient,
    EngineEventRecord,
    InProcessEngineClient,
    PlayRequest,
)
from grimnir.executor import _timeline as tl
from grimnir.executor._persist import StateRow
from grimnir.executor._resume import EmergencyResume
from grimnir.executor._scheduler import live_windows, timeline_pass
from grimnir.executor._state import EngineLink, LiveWindow, OnAirItems
from grimnir.executor.asrun import AsRunLog
from grimnir.executor.priority import HoldKey, PriorityService
from grimnir.executor.recovery import engine_origin, is_new_engine, resync
from grimnir.executor.rotation import FallbackRotation
from grimnir.faults import FailureRun
from grimnir.observability.logs import station_context
from grimnir.observability.tracing import traced
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
        self.items = OnAirItems()
        """What the engine holds on the automation layer (queued, playing, current)."""
        self.link = EngineLink()
        """Whether the engine is reached, which process it is, how far its journal is read."""
        self.live = LiveWindow()
        """The scheduled live show whose window is open, and the DJ on air."""
        self.state_row = StateRow()
        """The ``executor_states`` row the UI reads (written from the timeline pass)."""
        self._resume = EmergencyResume(self)
        """What an emergency cut, resumed afterwards where it was heard last."""
        self.held = False
        """Manually stopped: nothing is sent until ``resume()``."""
        self.telemetry: dict[str, Any] | None = None
        """The engine's last telemetry record (meters, loudness, outputs), with ``time``."""
        self._telemetry_sent = float("-inf")
        self.audible: str | None = None
        """The layer the engine's mixer has on air (``layer.changed``)."""
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
        self.rotation = FallbackRotation(self.station_uuid, session_factory, client)
        """The fallback rotation the engine holds (when ``fallback_rotation``)."""
        self._failures = 0

        # NOTE: retried failures are logged as runs (start, reminders, end), not per try
        def seconds() -> float:
            return self.clock().timestamp()

        key = self.station_key
        self._pass_faults = FailureRun(log, f"station {key}: timeline pass", clock=seconds)
        self._follow_faults = FailureRun(log, f"station {key}: engine event", clock=seconds)
        self._publish_faults = FailureRun(log, f"station {key}: publishing", clock=seconds)
        self._trying: EngineEventRecord | None = None
        self._handlers: dict[str, Callable[[EngineEventRecord], Awaitable[None]]] = {
            TELEMETRY: self._telemetry,
            "webstream.failover": self._stream_switched,
            "webstream.recovered": self._stream_switched,
            "item.started": self._item_started,
            "item.ended": self._item_ended,
            "layer.changed": self._layer_changed,
            "live.started": self._live_started,
            "live.ended": self._live_ended,
            "live.connected": self.asrun.live_connected,
            "live.disconnected": self.asrun.live_disconnected,
        }
        """Engine event type → what the executor does with it; events in ``FORWARDED``
        go on to the bus after that."""

    # -- what outside code reads ---------------------------------------------------------

    @property
    def in_engine(self) -> AbstractSet[str]:
        """Engine item ids queued or playing on the automation layer."""
        return self.items.in_engine

    @property
    def playing(self) -> AbstractSet[str]:
        """Automation items the engine plays now."""
        return self.items.playing

    @property
    def current(self) -> str | None:
        """The automation item on air (None when automation plays nothing)."""
        return self.items.current

    @property
    def stream_urls(self) -> Mapping[str, str]:
        """Web stream items on air → the URL their chain plays now (after a failover)."""
        return self.items.stream_urls

    @property
    def resumed(self) -> Sequence[tuple[str, int]]:
        """(entry id, offset ms) of every item resumed after an engine restart."""
        return self.items.resumed

    @property
    def engine_up(self) -> bool:
        """The executor follows the engine's events now."""
        return self.link.up

    @property
    def live_entry(self) -> tl.Planned | None:
        """The live show whose window is open now."""
        return self.live.entry

    @property
    def live_on_air(self) -> bool:
        """A DJ's audio is on air now."""
        return self.live.on_air

    # -- life ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start following the engine and the timeline (returns at once)."""
        await self.priority.restore()
        self._tasks = [
            asyncio.create_task(
                self._follow(),
                name=f"executor-events-{self.station_key}",
                context=station_context(self.station_key),  # NOTE: logs name the station
            ),
            asyncio.create_task(
                self._schedule(),
                name=f"executor-timeline-{self.station_key}",
                context=station_context(self.station_key),
            ),
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

    @traced("executor.skip")
    async def skip(self, fade_ms: int = 500) -> None:
        """End the item on air (fading over ``fade_ms``); the next one follows."""
        async with self._lock:
            if self.state is ExecutorState.PLAYING:
                self.set_state(ExecutorState.FADING)
            await self.client.skip("automation", fade_ms)

    @traced("executor.stop")
    async def stop(self, fade_ms: int = 500) -> None:
        """Fade out automation, empty the engine's queue and hold until ``resume()``."""
        async with self._lock:
            self.held = True
            await self._stop_automation(fade_ms, preempted=False)
            if self.state is ExecutorState.PLAYING:
                self.set_state(ExecutorState.FADING)

    @traced("executor.resume")
    async def resume(self) -> None:
        """Carry on with the timeline after ``stop()`` (joining the entry due now)."""
        self.held = False
        self._wake.set()

    @traced("executor.insert")
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
                named_artist, named = names_from_filename(Path(item).name)
                path, title, artist, meta = str(item), named or "", named_artist or "", {}
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
            self.items.sent(request.item_id)
            await tl.set_status(self.sessions, entry_ids, EntryStatus.QUEUED)
        return request.item_id

    @traced("executor.reload")
    async def reload(self) -> int:
        """Re-read the timeline now (after the planner rebuilt it); entries the engine
        already has are kept. Returns how many entries were sent."""
        async with self._lock:
            return await timeline_pass(self)

    @traced("executor.insert_emergency")
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
        """Keep the station's fallback rotation loaded in the engine (``FallbackRotation``)."""
        if self.fallback_rotation:
            await self.rotation.keep(now)

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
                                known = self.link.origin
                                await resync(self)
                                if is_new_engine(known, self.link.origin):
                                    self.link.forget_marks()  # its frames start again from 0
                                self.rotation.engine_replaced()
                                if self.link.reached():
                                    await self._publish(OUTPUT_UP, self.clock(), ENGINE_OUTPUT)
                                self._ready.set()
                                self._wake.set()
                                seen = self.link.handled
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
            if self.link.up:
                lost_at = self.clock()
                self.link.lost(lost_at)
                # NOTE: said at once (public answers are cached until the bus says a
                # station changed): the station is off air until the engine is back
                await self._publish(
                    OUTPUT_DOWN, lost_at, {**ENGINE_OUTPUT, "reason": "engine unreachable"}
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
            self.link.mark(record.frame)

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
                self.link.mark(record.frame)
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
        if self.link.handled is not None:
            return self.link.handled[0]
        latest = await self.asrun.latest()
        if latest is None:
            self.link.mark_before(0)
            return 0  # nothing logged yet: all the engine has aired
        origin = engine_origin(await self.client.status())
        if origin is None:
            return None
        # NOTE: log times are engine frames: round, or 271.9 s becomes the frame before
        frame = max(0, round((latest - origin) / timedelta(seconds=1) * SAMPLE_RATE) + 1)
        self.link.mark_before(frame)
        return frame

    async def _on_event(self, record: EngineEventRecord) -> None:
        handler = self._handlers.get(record.type)
        if handler is not None:
            await handler(record)
        if record.type in FORWARDED:
            await self._publish(record.type, record.time, dict(record.data))

    async def _telemetry(self, record: EngineEventRecord) -> None:
        data = record.data
        self.telemetry = {**_finite(data), "time": record.time.isoformat()}
        if time.monotonic() - self._telemetry_sent >= TELEMETRY_EVERY_S:
            self._telemetry_sent = time.monotonic()
            await self._publish(TELEMETRY, record.time, _finite(data))

    async def _stream_switched(self, record: EngineEventRecord) -> None:
        data = record.data
        self.items.stream_switched(str(data.get("item_id")), str(data.get("to") or data.get("url")))

    async def _live_started(self, record: EngineEventRecord) -> None:
        if self.live.entry is None:  # the DJ may beat the scheduler to the window
            pending = await tl.load_pending(self.sessions, self.station_uuid, record.time)
            await live_windows(self, [e for e in pending if e.kind is EntryKind.LIVE], record.time)
        show = self.live.dj_on_air()
        if show is not None:
            await tl.set_status(self.sessions, [show.id], EntryStatus.ON_AIR)
        mount = str(record.data.get("mount") or "")
        priority = self.priority.priority_of("live")
        await self.priority.claim(priority, "live", mount)
        await self.asrun.live_on_air(record, priority)
        await self.priority.hold(HoldKey.live(mount), priority, record.time)
        await self._follow_priority()

    async def _live_ended(self, record: EngineEventRecord) -> None:
        self.live.dj_off_air()
        await self.priority.release("live", str(record.data.get("mount") or ""))
        await self.asrun.live_off_air(record)
        await self.priority.let_go_all("live", at=record.time)
        await self._follow_priority()

    async def _item_started(self, record: EngineEventRecord) -> None:
        data = record.data
        item_id, layer = str(data.get("item_id", "")), str(data.get("layer", "automation"))
        priority = self.priority.priority_of(layer)
        entry = tl.parse_uuid(data.get("entry_id"))
        if layer == "automation" and self.audible in COVERING:
            self.items.cover(item_id)  # plays under a DJ or an alert: not heard (yet)
        else:
            await self.asrun.item_started(record, priority)
        if layer == "automation":
            if entry is not None:
                await tl.shift_following(self.sessions, entry, record.time)
            self.items.automation_started(item_id, record)
            if entry is not None:
                await tl.set_status(self.sessions, [entry], EntryStatus.ON_AIR)
                await self._resume.started(item_id, record)
            if self.state not in (ExecutorState.LIVE, ExecutorState.EMERGENCY):
                self.set_state(ExecutorState.PLAYING)
        elif layer == "emergency":
            held = HoldKey.emergency(item_id)
            await self.priority.hold(held, Priority.EMERGENCY, record.time)
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
        interrupted, preempted, covered = self.items.ended(item_id, layer)
        if preempted:
            reason = EndReason.PREEMPTED
        if aired and not covered:
            await self.asrun.item_ended(record, reason, self.priority.priority_of(layer))
        if entry is not None:
            status = EntryStatus.AIRED if aired else EntryStatus.SKIPPED
            if interrupted and layer == "automation":
                # NOTE: back to planned: it rejoins (failback, resume) if its slot is not over
                status = EntryStatus.PLANNED
            await tl.set_status(self.sessions, [entry], status)
        if layer == "automation":
            await self._resume.ended(item_id)
        if layer == "emergency":
            await self.priority.release("emergency", item_id)
            keys = HoldKey.emergency(item_id), HoldKey.emergency(None)
            await self.priority.let_go(*keys, at=record.time)
            await self._follow_priority()
        if layer == "automation" and not self.items.playing:
            if self.state is ExecutorState.FADING and self.items.in_engine:
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
        if before == "automation" and layer == "emergency":
            await self._resume.take_over(record)
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
            for item_id in sorted(self.items.playing - self.items.covered):
                opened = self.items.started_record(item_id)
                data = {**(record if opened is None else opened).data, "item_id": item_id}
                closing = replace(record, type="item.ended", data=data)
                await self.asrun.item_ended(closing, EndReason.PREEMPTED, Priority.AUTOMATION)
                self.items.cover(item_id)
        elif after == "automation":
            for item_id in sorted(self.items.covered & self.items.playing):
                started = self.items.started_record(item_id)
                if started is not None:
                    await self.asrun.item_started(
                        replace(started, frame=record.frame, time=record.time),
                        Priority.AUTOMATION,
                    )
                self.items.uncover(item_id)
        if after == "live" and before != "live" and self.live.on_air:
            await self.asrun.live_resumed(record, self.priority.priority_of("live"))

    async def _follow_priority(self) -> None:
        """Pre-empt automation under a higher source; rejoin the timeline on failback."""
        top = self.priority.on_air
        if top < Priority.AUTOMATION:
            # NOTE: automation plays on underneath (module docstring)
            target = ExecutorState.EMERGENCY if top is Priority.EMERGENCY else ExecutorState.LIVE
            self.set_state(target)
        elif self.state in (ExecutorState.LIVE, ExecutorState.EMERGENCY):
            if self.items.playing:
                self.set_state(ExecutorState.PLAYING)
            else:
                idle = ExecutorState.PRELOADING if self.items.in_engine else ExecutorState.IDLE
                self.set_state(idle)
            self._wake.set()

    async def _stop_automation(self, fade_ms: int, *, preempted: bool) -> None:
        if not self.items.in_engine:
            return
        queued = self.items.interrupt(preempted=preempted)
        await self.client.stop("automation", fade_ms, True)
        ids = [u for u in (tl.parse_uuid(i) for i in queued) if u is not None]
        back = (EntryStatus.QUEUED,)
        await tl.set_status(self.sessions, ids, EntryStatus.PLANNED, only_from=back)
        self.items.only_playing()

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
        return self.items.position_ms(now)


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
