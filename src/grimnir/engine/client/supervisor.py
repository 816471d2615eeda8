"""Keep a station's engine processes running: start, health-check, restart, alarm.

Each engine runs as its own process (``EngineSpec.argv``) serving the control
contract on ``grpc_address``. The supervisor asks ``GetStatus`` every
``check_every_s``; an engine that exits, or fails ``unhealthy_after`` checks
in a row, is killed and started again. An engine that had been running
healthy (``healthy_run_s``) crashed once, not in a loop: it is started again
at once, since every moment until then is off air. One that ends sooner
(while starting, or straight after) is started again after a backoff (0.2 s,
doubling, at most 10 s). A crash loop must not hammer the machine: after
``max_restarts`` restarts within ``window_s`` the engine is marked
``failed``, ``engine.alarm`` is raised (a human should look), and it is tried
again only every ``crash_loop_retry_s``: the supervisor never gives a station
up (a disk that filled, a device that came back: it returns on air by itself).
An engine that keeps crashing after healthy runs raises the alarm the same
way but is still started again at once: it does not hammer the machine, and
slowing it down would only keep the station off air longer.
Once an engine runs healthy again for ``backoff_reset_s`` after an alarm,
``engine.recovered`` says so.
An engine that exits with ``EXIT_CONFIG`` (an address it must listen on is
taken) cannot do better on a second try: that is reported at once, with the
engine's own one-line reason, and not restarted.

An engine already serving at ``grpc_address`` when the supervisor starts
(left by a control plane that was killed) is adopted when it runs this
station and its command line holds ``EngineSpec.marker`` (the station's
config file), so an engine of another data dir is never taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from grimnir.domain.errors import EXIT_CONFIG, EXIT_MESSAGE_ENV, EngineError, GrimnirError
from grimnir.engine.client._adoption import alive, end_group, find_engine, owned_pid
from grimnir.engine.client._grpc import GrpcEngineClient

log = logging.getLogger("grimnir.engine.supervisor")

__all__ = [
    "EngineSpec",
    "EngineState",
    "EngineStatus",
    "EngineSupervisor",
    "SupervisorEvent",
    "SupervisorPolicy",
    "find_engine",
]


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """How to run one station's engine. ``env`` is added to the supervisor's environment."""

    station_id: str
    argv: Sequence[str]
    grpc_address: str
    env: Mapping[str, str] = field(default_factory=dict)
    marker: str | None = None
    """An argument of ``argv`` only this station's engine has (its config file):
    an engine found running is adopted only when it was started with it."""


@dataclass(frozen=True, slots=True)
class SupervisorPolicy:
    """Timings of health checks, restarts and the crash-loop alarm."""

    check_every_s: float = 0.5
    check_timeout_s: float = 1.0
    unhealthy_after: int = 3
    """Failed checks in a row before a running engine is killed and restarted."""
    start_timeout_s: float = 30.0
    """An engine that does not answer within this after its start is restarted."""
    healthy_run_s: float = 2.0
    """An engine that ran healthy this long before it ended is started again at once."""
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    backoff_reset_s: float = 60.0
    """Running healthy this long after an alarm clears it (``engine.recovered``)."""
    max_restarts: int = 5
    window_s: float = 300.0
    crash_loop_retry_s: float = 60.0
    """After the alarm, how often a failed engine is tried again."""
    stop_timeout_s: float = 5.0
    """Grace after SIGTERM before SIGKILL."""


class EngineStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class EngineState:
    """What the supervisor knows of one engine."""

    station_id: str
    status: EngineStatus
    pid: int | None
    starts: int
    """Processes started so far (the first start included)."""
    restarts_in_window: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class SupervisorEvent:
    """``engine.started``, ``engine.exited``, ``engine.unhealthy``, ``engine.restarting``,
    ``engine.alarm`` (a crash loop, a human should look; restarts slowed down unless it
    runs healthy between crashes), ``engine.recovered`` (healthy again after an alarm)
    or ``engine.stopped``."""

    type: str
    station_id: str
    data: dict[str, Any] = field(default_factory=dict)


class _Slot:
    def __init__(self, spec: EngineSpec, timeout_s: float) -> None:
        self.spec = spec
        self.client = GrpcEngineClient(spec.grpc_address, spec.station_id, timeout_s)
        self.process: asyncio.subprocess.Process | None = None
        self.status = EngineStatus.STOPPED
        self.starts = 0
        self.restarts: deque[float] = deque()
        self.message = ""
        self.healthy_since: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.adopted_pid: int | None = None
        """An engine found running at start (left by a control plane that died)."""
        self.config_error: str | None = None
        """Why the engine cannot run as configured (it exited with ``EXIT_CONFIG``)."""
        self.alarmed = False
        """A crash-loop alarm was raised and the engine has not run healthy since."""


class EngineSupervisor:
    """Runs the engines of ``specs`` until ``stop()``; see the module docstring."""

    def __init__(
        self,
        specs: Sequence[EngineSpec],
        *,
        policy: SupervisorPolicy | None = None,
        on_event: Callable[[SupervisorEvent], None] | None = None,
    ) -> None:
        self.policy = policy or SupervisorPolicy()
        ids = [spec.station_id for spec in specs]
        if len(set(ids)) != len(ids):
            raise EngineError(f"each station may have one engine; station ids: {ids}")
        self._slots = {s.station_id: _Slot(s, self.policy.check_timeout_s) for s in specs}
        self._on_event = on_event
        self._stopping = False

    def states(self) -> dict[str, EngineState]:
        """The state of every engine, by station id."""
        now = time.monotonic()
        return {
            station: EngineState(
                station_id=station,
                status=slot.status,
                pid=slot.process.pid
                if slot.process is not None and slot.process.returncode is None
                else slot.adopted_pid,
                starts=slot.starts,
                restarts_in_window=sum(1 for t in slot.restarts if now - t < self.policy.window_s),
                message=slot.message,
            )
            for station, slot in self._slots.items()
        }

    async def start(self) -> None:
        """Start every engine and keep watching it (returns at once)."""
        self._stopping = False
        for slot in self._slots.values():
            if slot.task is None or slot.task.done():
                slot.task = asyncio.create_task(
                    self._supervise(slot), name=f"supervise-{slot.spec.station_id}"
                )

    async def stop(self) -> None:
        """Stop watching and end every engine: SIGTERM, then SIGKILL after the grace."""
        self._stopping = True
        tasks = [slot.task for slot in self._slots.values() if slot.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(self._terminate(slot) for slot in self._slots.values()))
        for slot in self._slots.values():
            if slot.status is not EngineStatus.FAILED:
                slot.status = EngineStatus.STOPPED
            self._emit("engine.stopped", slot)
            await slot.client.close()

    # -- one engine ---------------------------------------------------------------------

    async def _supervise(self, slot: _Slot) -> None:
        policy = self.policy
        delay = policy.backoff_initial_s
        while not self._stopping:
            why = await self._run_once(slot)
            if slot.config_error is not None:
                slot.status = EngineStatus.FAILED
                slot.message = (
                    f"{slot.config_error}; the engine cannot start like this, so it is not "
                    "restarted: fix that, then start it again"
                )
                log.error("engine of station %s: %s", slot.spec.station_id, slot.message)
                self._emit("engine.alarm", slot, reason=slot.config_error, restarts=0)
                return
            now = time.monotonic()
            healthy_run = (
                slot.healthy_since is not None and now - slot.healthy_since >= policy.healthy_run_s
            )
            if healthy_run:
                delay = policy.backoff_initial_s
            while slot.restarts and now - slot.restarts[0] >= policy.window_s:
                slot.restarts.popleft()
            looping = len(slot.restarts) >= policy.max_restarts
            if looping and not healthy_run:
                slot.status = EngineStatus.FAILED
                slot.message = (
                    f"{why}; restarted {len(slot.restarts)} times within "
                    f"{policy.window_s:.0f} s, so it is now tried every "
                    f"{policy.crash_loop_retry_s:.0f} s: check the engine's log"
                )
                if not slot.alarmed:
                    slot.alarmed = True
                    log.error("engine of station %s: %s", slot.spec.station_id, slot.message)
                    self._emit("engine.alarm", slot, reason=why, restarts=len(slot.restarts))
                else:
                    log.warning("engine of station %s: %s", slot.spec.station_id, slot.message)
                await asyncio.sleep(policy.crash_loop_retry_s)
                slot.restarts.append(time.monotonic())
                continue
            if looping and not slot.alarmed:
                slot.alarmed = True
                log.error(
                    "engine of station %s: %s; restarted %d times within %.0f s: check the "
                    "engine's log",
                    slot.spec.station_id,
                    why,
                    len(slot.restarts),
                    policy.window_s,
                )
                self._emit("engine.alarm", slot, reason=why, restarts=len(slot.restarts))
            slot.status = EngineStatus.BACKOFF
            wait = 0.0 if healthy_run else delay
            slot.message = f"{why}; restarting " + (f"in {wait:.1f} s" if wait else "now")
            log.warning("engine of station %s: %s", slot.spec.station_id, slot.message)
            self._emit("engine.restarting", slot, reason=why, delay_s=wait)
            if wait > 0:
                await asyncio.sleep(wait)
                delay = min(delay * 2, policy.backoff_max_s)
            slot.restarts.append(time.monotonic())

    async def _adopt(self, slot: _Slot) -> int | None:
        """The pid of this station's engine if one already serves at its address.

        Engines run in their own sessions, so they outlive a control plane that
        is killed; the next control plane takes them over instead of starting
        a second engine (which could not bind the same ports anyway).
        """
        try:
            status = await slot.client.status()
        except GrimnirError:
            return None
        return owned_pid(status, slot.spec.station_id, slot.spec.marker)

    async def _watch_adopted(self, slot: _Slot, pid: int) -> str:
        slot.adopted_pid = pid
        slot.status = EngineStatus.RUNNING
        slot.healthy_since = time.monotonic()
        log.info(
            "engine of station %s already running (pid %d): adopted", slot.spec.station_id, pid
        )
        self._emit("engine.adopted", slot, pid=pid)
        failures = 0
        try:
            while True:
                await asyncio.sleep(self.policy.check_every_s)
                if not alive(pid):
                    self._emit("engine.exited", slot, returncode=None)
                    return "engine (adopted) exited"
                try:
                    await slot.client.status()
                except GrimnirError as error:
                    failures += 1
                    if failures >= self.policy.unhealthy_after:
                        self._emit("engine.unhealthy", slot, error=str(error))
                        await self._kill(slot)
                        return f"engine failed {failures} health checks in a row ({error})"
                else:
                    failures = 0
        finally:
            if not alive(pid):
                slot.adopted_pid = None

    async def _run_once(self, slot: _Slot) -> str:
        """Start the engine and watch it until it exits or is killed; returns why it ended."""
        spec = slot.spec
        if slot.starts == 0 and slot.adopted_pid is None:
            pid = await self._adopt(slot)
            if pid is not None:
                return await self._watch_adopted(slot, pid)
        slot.healthy_since = None
        slot.status = EngineStatus.STARTING
        slot.message = ""
        slot.config_error = None
        # NOTE: a pipe for the engine's one-line reason when it exits with EXIT_CONFIG.
        reason_in, reason_out = os.pipe()
        try:
            try:
                slot.process = await asyncio.create_subprocess_exec(
                    *spec.argv,
                    env={**os.environ, **spec.env, EXIT_MESSAGE_ENV: str(reason_out)},
                    pass_fds=(reason_out,),
                    start_new_session=True,  # its own process group: stop() ends its children
                )
            except OSError as exc:
                return f"could not start {spec.argv[0]}: {exc}"
            finally:
                os.close(reason_out)  # the engine holds its own copy
            return await self._watch(slot, slot.process, reason_in)
        finally:
            os.close(reason_in)

    async def _watch(self, slot: _Slot, process: asyncio.subprocess.Process, reason_in: int) -> str:
        """Watch the engine just started until it exits or is killed; returns why it ended."""
        slot.starts += 1
        exited = asyncio.create_task(process.wait())
        started = time.monotonic()
        failures = 0
        try:
            while True:
                starting = slot.status is EngineStatus.STARTING
                ask = slot.client.serving_status if starting else slot.client.status
                check = asyncio.create_task(ask())
                done, _ = await asyncio.wait({exited, check}, return_when=asyncio.FIRST_COMPLETED)
                if exited in done:
                    check.cancel()
                    self._emit("engine.exited", slot, returncode=process.returncode)
                    if process.returncode == EXIT_CONFIG:
                        slot.config_error = _reason(reason_in) or (
                            f"engine exited with code {EXIT_CONFIG}: it cannot run as "
                            "configured (an address already in use?); its log says why"
                        )
                    return f"engine exited with code {process.returncode}"
                error = check.exception()
                if error is None:
                    failures = 0
                    if slot.status is EngineStatus.STARTING:
                        slot.status = EngineStatus.RUNNING
                        slot.healthy_since = time.monotonic()
                        self._emit("engine.started", slot, pid=process.pid)
                    elif (
                        slot.alarmed
                        and slot.healthy_since is not None
                        and time.monotonic() - slot.healthy_since >= self.policy.backoff_reset_s
                    ):
                        slot.alarmed = False
                        log.warning(
                            "engine of station %s: running healthy again after the alarm",
                            slot.spec.station_id,
                        )
                        self._emit("engine.recovered", slot, pid=process.pid)
                elif not isinstance(error, GrimnirError):
                    raise error
                elif slot.status is EngineStatus.STARTING:
                    if time.monotonic() - started > self.policy.start_timeout_s:
                        await self._kill(slot)
                        return f"engine did not answer within {self.policy.start_timeout_s:.0f} s"
                else:
                    failures += 1
                    if failures >= self.policy.unhealthy_after:
                        self._emit("engine.unhealthy", slot, error=str(error))
                        await self._kill(slot)
                        return f"engine failed {failures} health checks in a row ({error})"
                # NOTE: while starting the check itself waits for the engine to serve
                # (``serving_status``); after a timeout it asks again soon.
                pause = 0.02 if slot.status is EngineStatus.STARTING else self.policy.check_every_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), pause)
        finally:
            if not exited.done():
                exited.cancel()

    async def _kill(self, slot: _Slot) -> None:
        if slot.adopted_pid is not None:
            await end_group(slot.adopted_pid, signal.SIGKILL, 5.0)
            slot.adopted_pid = None
            return
        process = slot.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def _terminate(self, slot: _Slot) -> None:
        if slot.adopted_pid is not None:
            if not await end_group(slot.adopted_pid, signal.SIGTERM, self.policy.stop_timeout_s):
                await end_group(slot.adopted_pid, signal.SIGKILL, 5.0)
            slot.adopted_pid = None
            return
        process = slot.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.policy.stop_timeout_s)
        except TimeoutError:
            log.warning("engine of station %s ignored SIGTERM; killing it", slot.spec.station_id)
            await self._kill(slot)
        else:
            # NOTE: the engine is gone; anything it left in its group goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def _emit(self, kind: str, slot: _Slot, **data: Any) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(SupervisorEvent(kind, slot.spec.station_id, data))
        except Exception:
            log.exception("supervisor event handler failed on %s", kind)


def _reason(pipe: int) -> str:
    """What the engine wrote into its exit-reason pipe (nothing when it wrote nothing)."""
    os.set_blocking(pipe, False)
    try:
        return os.read(pipe, 4096).decode(errors="replace").strip()
    except (BlockingIOError, OSError):
        return ""
