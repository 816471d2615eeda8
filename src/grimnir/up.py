"""``grimnir up``: the control plane for every station on one machine.

One process runs, per registered station: an engine process (supervised, in
its own session so it outlives us), the planner keeping the rolling window
full, and the executor carrying the timeline out; and for all of them the API,
the status page and a proxy of every station's streams on one HTTP address
(``--http``). Embedded defaults: SQLite in the data dir, the in-memory bus.
Killing this process does not stop the audio: the engines play on from their
queues and keep serving listeners on their own ports; the next ``grimnir up``
adopts them and its executors carry on without replaying what is on air.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
import yaml
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.api import (
    API_PREFIX,
    HARBOR_AUTH_PATH,
    ApiContext,
    ShowEndKicker,
    create_app,
    harbor_secret,
    load_secret,
)
from grimnir.bus import EventBus, create_bus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.domain.errors import GrimnirError
from grimnir.engine.client import EngineClient, GrpcEngineClient
from grimnir.engine.client.supervisor import EngineSpec, EngineSupervisor, SupervisorEvent
from grimnir.executor.station import StationExecutor
from grimnir.planner.builder import build
from grimnir.store.db import session_factory
from grimnir.store.models import Station
from grimnir.store.repos import list_stations

log = logging.getLogger("grimnir.up")

PLAN_HOURS = 48.0
REPLAN_EVERY_S = 600.0
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 - recognised, not bound here


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: loopback for "all interfaces", IPv6 bracketed."""
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@dataclass(slots=True)
class UpOptions:
    """Where things listen.

    The API, UI and stream proxy on ``http_host:http_port``; station n's engine
    serves its streams and harbor on ``http_host:stream_port + n`` and its gRPC
    control on ``127.0.0.1:grpc_port + n``.
    """

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    stream_port: int = 8000
    grpc_port: int = 9091
    plan_hours: float = PLAN_HOURS
    replan_every_s: float = REPLAN_EVERY_S
    harbor_users: dict[str, str] = field(default_factory=dict)
    serve_http: bool = True
    """Run the API/UI server (off for a control plane whose API runs elsewhere)."""


@dataclass(slots=True)
class StationSlot:
    """One station's engine addresses, URLs and executor."""

    station: Station
    config: StationConfig
    grpc_address: str
    stream_host: str
    stream_port: int
    folder: Path
    executor: StationExecutor | None = None
    client: GrpcEngineClient | None = None

    @property
    def stream_address(self) -> str:
        """``HOST:PORT`` the engine's built-in server binds."""
        return f"{self.stream_host}:{self.stream_port}"

    def listener_paths(self) -> list[str]:
        """Paths of the engine's listener mounts (``http`` outputs)."""
        return [
            out.path for mount in self.config.mounts for out in mount.outputs if out.type == "http"
        ]

    def hls_prefixes(self) -> list[str]:
        """Path prefixes of the engine's HLS folders."""
        return [
            f"/hls/{mount.id}"
            for mount in self.config.mounts
            if any(out.type == "hls" for out in mount.outputs)
        ]

    def stream_paths(self) -> list[str]:
        """What a listener opens: each mount, and each HLS playlist."""
        return self.listener_paths() + [f"{p}/index.m3u8" for p in self.hls_prefixes()]

    def serves(self, path: str) -> bool:
        """True when ``path`` is one of this engine's streams (or an HLS segment)."""
        if path in self.listener_paths():
            return True
        return any(path.startswith(prefix + "/") for prefix in self.hls_prefixes())

    def engine_url(self, path: str) -> str:
        """The engine's own URL of ``path`` (it keeps serving when the control plane is down)."""
        return f"http://{url_host(self.stream_host)}:{self.stream_port}{path}"

    def harbor_urls(self) -> list[str]:
        """Where DJs connect their encoders."""
        if not self.config.harbor.enabled:
            return []
        host = f"{url_host(self.stream_host)}:{self.stream_port}"
        return [f"icecast://{host}{mount.path}" for mount in self.config.harbor.mounts]


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
            self.slots.append(
                StationSlot(
                    station=station,
                    config=StationConfig.model_validate(station.config),
                    grpc_address=f"127.0.0.1:{self.options.grpc_port + index}",
                    stream_host=self.options.http_host,
                    stream_port=self.options.stream_port + index,
                    folder=data_dir / "stations" / station.short_name,
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
        if self.http is not None:
            for slot in self.slots:
                if slot.config.harbor.kick_at_show_end:
                    kicker = ShowEndKicker(self.api, slot.station.id)
                    self._tasks.append(asyncio.create_task(kicker.run()))
            await self.http.serve(create_app(self.api))

    async def wait_on_air(self, timeout_s: float = 30.0) -> list[StationSlot]:
        """Wait until each station's first stream answers; the stations still silent."""
        waiting = [slot for slot in self.slots if slot.stream_paths()]
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while waiting and asyncio.get_running_loop().time() < deadline:
                for slot in list(waiting):
                    url = slot.engine_url(slot.stream_paths()[0])
                    with contextlib.suppress(httpx.HTTPError):
                        async with client.stream("GET", url) as reply:
                            if reply.status_code == 200:
                                waiting.remove(slot)
                if waiting:
                    await asyncio.sleep(0.25)
        return waiting

    # -- OnAir ----------------------------------------------------------------------------

    def _slot(self, station_id: uuid.UUID) -> StationSlot | None:
        return next((s for s in self.slots if s.station.id == station_id), None)

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        slot = self._slot(station_id)
        return slot.executor if slot is not None else None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        slot = self._slot(station_id)
        return slot.client if slot is not None else None

    def listen_urls(self, station_id: uuid.UUID) -> list[str]:
        """The station's streams as proxied on ``--http`` (``/listen/<short name>/…``)."""
        slot = self._slot(station_id)
        if slot is None:
            return []
        base = f"{self.http_url}/listen/{slot.station.short_name}"
        return [base + path for path in slot.stream_paths()]

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
            "--path-prefix",
            str(slot.folder / "files"),
        ]
        for user, password in self.options.harbor_users.items():
            argv += ["--harbor-user", f"{user}:{password}"]
        env: dict[str, str] = {}
        if self.http is not None and self.api is not None:
            # DJ accounts and live tokens: the engine asks the API about each DJ.
            env["GRIMNIR_HARBOR_AUTH_URL"] = f"{self.http_url}{API_PREFIX}{HARBOR_AUTH_PATH}"
            env["GRIMNIR_HARBOR_AUTH_SECRET"] = harbor_secret(self.api.secret, slot.station.id)
        return EngineSpec(str(slot.station.id), argv, slot.grpc_address, env)

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


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``grimnir up``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """The API app served by uvicorn in this event loop, on a socket bound at once."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._socket = _bind(host, port)
        self.port = int(self._socket.getsockname()[1])
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def serve(self, app: FastAPI) -> None:
        """Start serving ``app``; returns once the server accepts connections."""
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            # NOTE: listeners and event streams never end on their own: give them 2 s.
            timeout_graceful_shutdown=2,
            ws_ping_interval=20.0,
        )
        self._server = server = _QuietServer(config)
        self._task = asyncio.create_task(self._run(server), name="grimnir-api")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise GrimnirError(f"the API server on port {self.port} stopped at start")
            await asyncio.sleep(0.02)

    async def _run(self, server: _QuietServer) -> None:
        try:
            await server.serve(sockets=[self._socket])
        except SystemExit:  # uvicorn's answer to a failed app startup
            raise GrimnirError(
                f"the API on port {self.port} failed to start; the log above says why"
            ) from None

    async def close(self) -> None:
        """Stop accepting, give open connections a moment, then end them."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, GrimnirError):
                await asyncio.wait_for(self._task, timeout=10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host or "0.0.0.0", port))  # noqa: S104 - an empty host means all interfaces
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GrimnirError(
                f"port {port} on {host or 'all interfaces'} is in use (another `grimnir up`?): "
                "stop that program or pass another --http HOST:PORT"
            ) from None
        raise GrimnirError(f"cannot serve the API on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock
