"""``grimnir up``: the control plane for every station on one machine.

One process runs, per registered station: an engine process (supervised, in
its own session so it outlives us), the planner keeping the rolling window
full, and the executor carrying the timeline out. Embedded defaults: SQLite in
the data dir, the in-memory bus. Killing this process does not stop the audio:
the engines play on from their queues; the next ``grimnir up`` adopts them and
its executors carry on without replaying what is on air.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.bus import EventBus, create_bus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.engine.client import GrpcEngineClient
from grimnir.engine.client.supervisor import EngineSpec, EngineSupervisor, SupervisorEvent
from grimnir.executor.station import StationExecutor
from grimnir.planner.builder import build
from grimnir.store.db import session_factory
from grimnir.store.models import Station
from grimnir.store.repos import list_stations

log = logging.getLogger("grimnir.up")

PLAN_HOURS = 48.0
REPLAN_EVERY_S = 600.0


@dataclass(slots=True)
class UpOptions:
    """Where things listen: station n gets ``http_port + n`` and ``grpc_port + n``."""

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 9091
    plan_hours: float = PLAN_HOURS
    replan_every_s: float = REPLAN_EVERY_S
    harbor_users: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StationSlot:
    """One station's engine address, URLs and executor."""

    station: Station
    config: StationConfig
    grpc_address: str
    http_address: str
    folder: Path
    executor: StationExecutor | None = None
    client: GrpcEngineClient | None = None

    def urls(self) -> list[str]:
        listen = [
            f"http://{self.http_address}{out.path}"
            for mount in self.config.mounts
            for out in mount.outputs
            if out.type == "http"
        ]
        hls = [
            f"http://{self.http_address}/hls/{mount.id}/index.m3u8"
            for mount in self.config.mounts
            for out in mount.outputs
            if out.type == "hls"
        ]
        return listen + hls


class ControlPlane:
    """Everything ``grimnir up`` runs, started and stopped together."""

    def __init__(self, settings: Settings, db: AsyncEngine, options: UpOptions) -> None:
        self.settings = settings
        self.db = db
        self.sessions = session_factory(db)
        self.options = options
        self.slots: list[StationSlot] = []
        self.bus: EventBus | None = None
        self.supervisor: EngineSupervisor | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        async with self.sessions() as session:
            stations = [s for s in await list_stations(session) if s.enabled]
        self.bus = create_bus(self.settings.bus_url)
        await self.bus.connect()
        data_dir = Path(self.settings.data_dir)
        for index, station in enumerate(stations):
            config = StationConfig.model_validate(station.config)
            folder = data_dir / "stations" / station.short_name
            self.slots.append(
                StationSlot(
                    station=station,
                    config=config,
                    grpc_address=f"127.0.0.1:{self.options.grpc_port + index}",
                    http_address=f"{self.options.http_host}:{self.options.http_port + index}",
                    folder=folder,
                )
            )
        specs = [self._engine_spec(slot) for slot in self.slots]
        self.supervisor = EngineSupervisor(specs, on_event=self._on_supervisor_event)
        await self.supervisor.start()
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
            slot.http_address,
            "--path-prefix",
            str(slot.folder / "files"),
        ]
        for user, password in self.options.harbor_users.items():
            argv += ["--harbor-user", f"{user}:{password}"]
        return EngineSpec(str(slot.station.id), argv, slot.grpc_address)

    def _on_supervisor_event(self, event: SupervisorEvent) -> None:
        level = logging.ERROR if event.type == "engine.alarm" else logging.INFO
        log.log(level, "%s station=%s %s", event.type, event.station_id, event.data)

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
        while True:
            try:
                await self.plan_once(slot)
            except Exception:  # a planning failure must not stop the station
                log.exception("planning %s failed; the engine plays on", slot.station.short_name)
            await asyncio.sleep(self.options.replan_every_s)

    async def stop(self) -> None:
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
