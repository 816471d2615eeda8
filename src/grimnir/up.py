"""``grimnir up``: the control plane for every station on one machine.

One process runs, per registered station: an engine process (supervised, in
its own session so it outlives us), the planner keeping the rolling window
full, and the executor carrying the timeline out; and for all of them the API,
the web UI and a proxy of every station's streams on one HTTP address
(``--http``). Embedded defaults: SQLite in the data dir, the in-memory bus.
Killing this process does not stop the audio: the engines play on from their
queues and keep serving listeners on their own ports; the next ``grimnir up``
of the same data dir adopts them (they answer on the control socket in each
station's folder) and its executors carry on without replaying what is on air.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir._up_addresses import WILDCARD_HOSTS, PortTurn, control_address, url_host
from grimnir._up_http import ApiServer
from grimnir._up_slots import StationSlot, place_engines
from grimnir.api import (
    API_PREFIX,
    HARBOR_AUTH_PATH,
    ApiContext,
    create_app,
    harbor_secret,
    load_secret,
)
from grimnir.bus import EventBus, create_bus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.engine.client import EngineClient, GrpcEngineClient
from grimnir.engine.client.supervisor import (
    EngineSpec,
    EngineStatus,
    EngineSupervisor,
    SupervisorEvent,
)
from grimnir.executor import ShowEndKicker
from grimnir.executor.station import StationExecutor
from grimnir.faults import FailureRun
from grimnir.planner.builder import build
from grimnir.services.alerts import AlertContext
from grimnir.services.alerts_sources import AlertSources
from grimnir.store.db import session_factory
from grimnir.store.repos import list_stations

log = logging.getLogger("grimnir.up")

PLAN_HOURS = 48.0
REPLAN_EVERY_S = 600.0
PLAN_RETRY_S = 5.0
"""A failed plan is tried again after this, then twice as long each time, up to
``replan_every_s``."""
__all__ = ["WILDCARD_HOSTS", "ApiServer", "ControlPlane", "StationSlot", "UpOptions", "url_host"]


@dataclass(slots=True)
class UpOptions:
    """Where things listen.

    The API, UI and stream proxy on ``http_host:http_port``; station n's engine
    serves its streams and harbor on ``http_host:stream_port + n`` (when not
    given: 8000 + n if free, else a free port) and its gRPC control on the
    socket ``engine.sock`` in the station's folder (or ``127.0.0.1:grpc_port + n``).
    """

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    stream_port: int | None = None
    grpc_port: int | None = None
    plan_hours: float = PLAN_HOURS
    replan_every_s: float = REPLAN_EVERY_S
    harbor_users: dict[str, str] = field(default_factory=dict)
    serve_http: bool = True
    """Run the API/UI server (off for a control plane whose API runs elsewhere)."""


class ControlPlane:
    """Everything ``grimnir up`` runs, started and stopped together.

    It is the API's :class:`~grimnir.api.OnAir`: the executors and engine
    clients of the stations on air here, and where listeners hear them.
    """

    def __init__(self, settings: Settings, db: AsyncEngine, options: UpOptions) -> None:
        self.settings = settings
        self.db = db
        self.sessions = session_factory(db)
        self.options = options
        self.slots: list[StationSlot] = []
        self.bus: EventBus | None = None
        self.supervisor: EngineSupervisor | None = None
        self.http: ApiServer | None = None
        self.api: ApiContext | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def http_url(self) -> str:
        """Base URL of the API, UI and stream proxy (no trailing slash)."""
        http = self.http
        port = http.port if http is not None else self.options.http_port
        return f"http://{url_host(self.options.http_host)}:{port}"

    async def start(self) -> None:
        """Bind the API address, start engines, planners and executors, then serve the API."""
        data_dir = Path(self.settings.data_dir)
        if self.options.serve_http:
            # NOTE: bound first, so a taken port fails before any engine starts.
            self.http = ApiServer(self.options.http_host, self.options.http_port)
        async with self.sessions() as session:
            stations = [s for s in await list_stations(session) if s.enabled]
        self.bus = create_bus(self.settings.bus_url)
        await self.bus.connect()
        self.api = ApiContext(
            settings=self.settings,
            sessions=self.sessions,
            bus=self.bus,
            secret=load_secret(data_dir),
            on_air=self,
        )
        for index, station in enumerate(stations):
            folder = data_dir.absolute() / "stations" / station.short_name
            self.slots.append(
                StationSlot(
                    station=station,
                    config=StationConfig.model_validate(station.config),
                    grpc_address=control_address(folder, self.options.grpc_port, index),
                    stream_host=self.options.http_host,
                    stream_port=0,
                    folder=folder,
                )
            )
        turn = await PortTurn.take()
        try:
            await place_engines(self.slots, self.options.http_host, self.options.stream_port)
            specs = [self._engine_spec(slot) for slot in self.slots]
            self.supervisor = EngineSupervisor(specs, on_event=self._on_supervisor_event)
            await self.supervisor.start()
        except BaseException:
            turn.release()
            raise
        self._tasks.append(asyncio.create_task(self._pass_turn_when_bound(turn)))
        for slot in self.slots:
            self._tasks.append(asyncio.create_task(self._plan_forever(slot)))
            slot.client = GrpcEngineClient(slot.grpc_address, str(slot.station.id), timeout_s=2.0)
            slot.executor = StationExecutor(
                slot.station.id,
                self.sessions,
                slot.client,
                self.bus,
                graph=slot.config.dsp_graph.model_dump(mode="json"),
            )
            await slot.executor.start()
        sources = AlertSources(
            AlertContext(self.sessions, self.bus, data_dir, self.executor),
            [slot.station.id for slot in self.slots],
        )
        self._tasks.append(asyncio.create_task(sources.run()))
        if self.http is not None:
            for slot in self.slots:
                if slot.config.harbor.kick_at_show_end:
                    kicker = ShowEndKicker(slot.station.id, self.sessions, self.engine)
                    self._tasks.append(asyncio.create_task(kicker.run()))
            await self.http.serve(create_app(self.api))

    async def _pass_turn_when_bound(self, turn: PortTurn, timeout_s: float = 60.0) -> None:
        """Once each engine serves (its ports bound) or has ended, let others choose."""
        settled = (EngineStatus.RUNNING, EngineStatus.FAILED, EngineStatus.BACKOFF)
        try:
            async with asyncio.timeout(timeout_s):
                while self.supervisor is not None and any(
                    state.status not in settled for state in self.supervisor.states().values()
                ):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        finally:
            turn.release()

    def engine_problem(self, slot: StationSlot) -> str:
        """Why the station's engine is not running (empty when nothing is known)."""
        if self.supervisor is None:
            return ""
        state = self.supervisor.states().get(str(slot.station.id))
        return state.message if state is not None else ""

    async def wait_on_air(self, timeout_s: float = 30.0) -> list[StationSlot]:
        """Wait until each station's first stream answers; the stations still silent."""
        waiting = [slot for slot in self.slots if slot.stream_paths()]
        deadline = asyncio.get_running_loop().time() + timeout_s
        failed: list[StationSlot] = []
        async with httpx.AsyncClient(timeout=2.0) as client:
            while waiting and asyncio.get_running_loop().time() < deadline:
                states = self.supervisor.states() if self.supervisor is not None else {}
                for slot in list(waiting):
                    state = states.get(str(slot.station.id))
                    if state is not None and state.status is EngineStatus.FAILED:
                        waiting.remove(slot)  # it will not come: no use waiting
                        failed.append(slot)
                        continue
                    url = slot.engine_url(slot.stream_paths()[0])
                    with contextlib.suppress(httpx.HTTPError):
                        async with client.stream("GET", url) as reply:
                            if reply.status_code == 200:
                                waiting.remove(slot)
                if waiting:
                    await asyncio.sleep(0.25)
        return failed + waiting

    # -- OnAir ----------------------------------------------------------------------------

    def _slot(self, station_id: uuid.UUID) -> StationSlot | None:
        return next((s for s in self.slots if s.station.id == station_id), None)

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        slot = self._slot(station_id)
        return slot.executor if slot is not None else None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        slot = self._slot(station_id)
        return slot.client if slot is not None else None

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        """The station's streams as proxied on ``--http`` (``/listen/<short name>/…``),
        under ``base`` (default: the address ``--http`` is bound to)."""
        slot = self._slot(station_id)
        if slot is None:
            return []
        prefix = f"{base or self.http_url}/listen/{slot.station.short_name}"
        return [prefix + path for path in slot.stream_paths()]

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        if self.supervisor is None:
            return None
        state = self.supervisor.states().get(str(station_id))
        return None if state is None else max(0, state.starts - 1)

    def stream_upstream(self, station: str, path: str) -> str | None:
        """The engine URL serving ``path`` of ``station`` (id or short name), or ``None``."""
        for slot in self.slots:
            if station in (slot.station.short_name, str(slot.station.id)):
                return slot.engine_url(path) if slot.serves(path) else None
        return None

    # -- engines and planning ---------------------------------------------------------------

    def _engine_spec(self, slot: StationSlot) -> EngineSpec:
        slot.folder.mkdir(parents=True, exist_ok=True)
        config_file = slot.folder / "station.yaml"
        config_file.write_text(
            yaml.safe_dump(slot.config.model_dump(mode="json", exclude_none=True), sort_keys=False),
            encoding="utf-8",
        )
        argv = [
            sys.executable,
            "-m",
            "grimnir",
            "engine",
            "--config",
            str(config_file),
            "--grpc",
            slot.grpc_address,
            "--http",
            slot.stream_address,
        ]
        for user, password in self.options.harbor_users.items():
            argv += ["--harbor-user", f"{user}:{password}"]
        env: dict[str, str] = {}
        if self.http is not None and self.api is not None:
            # DJ accounts and live tokens: the engine asks the API about each DJ.
            env["GRIMNIR_HARBOR_AUTH_URL"] = f"{self.http_url}{API_PREFIX}{HARBOR_AUTH_PATH}"
            env["GRIMNIR_HARBOR_AUTH_SECRET"] = harbor_secret(self.api.secret, slot.station.id)
        return EngineSpec(
            str(slot.station.id), argv, slot.grpc_address, env, marker=str(config_file)
        )

    def _on_supervisor_event(self, event: SupervisorEvent) -> None:
        level = logging.ERROR if event.type == "engine.alarm" else logging.INFO
        log.log(level, "%s station=%s %s", event.type, event.station_id, event.data)
        if event.type == "engine.started":
            executor = next(
                (s.executor for s in self.slots if str(s.station.id) == event.station_id), None
            )
            if executor is not None:
                executor.engine_started()

    async def plan_once(self, slot: StationSlot) -> None:
        now = datetime.now(UTC)
        report = await build(self.sessions, slot.station.id, now, self.options.plan_hours, now=now)
        log.info(
            "planned %s: %d entries, %d kept, %d gaps, %d conflicts (%.0f ms)",
            slot.station.short_name,
            len(report.entries),
            report.kept,
            len(report.gaps),
            len(report.conflicts),
            report.elapsed_ms,
        )

    async def _plan_forever(self, slot: StationSlot) -> None:
        # NOTE: a failed plan (the database away, say) is tried again soon, backing off
        # to the normal interval; the engine plays on from what it holds meanwhile
        faults = FailureRun(log, f"planning {slot.station.short_name} (the engine plays on)")
        every = self.options.replan_every_s
        retry = PLAN_RETRY_S
        while True:
            try:
                await self.plan_once(slot)
                faults.succeeded()
                retry = PLAN_RETRY_S
                wait = every
            except Exception as exc:  # a planning failure must not stop the station
                faults.failed(exc)
                wait = min(retry, every)
                retry *= 2
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Stop in reverse order: the API first, so no request meets a closed executor."""
        if self.http is not None:
            await self.http.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for slot in self.slots:
            if slot.executor is not None:
                await slot.executor.close()
            if slot.client is not None:
                await slot.client.close()
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.bus is not None:
            await self.bus.close()
