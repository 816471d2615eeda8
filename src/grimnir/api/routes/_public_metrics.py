"""Prometheus metrics of the API process: ``GET /metrics``.

- API: requests by method, route template and status, and their latency
  (an ASGI middleware; the route *template*, so ids do not explode the labels).
- Executors, per station on air in this process: state, on-air priority, items
  started (counted from the bus).
- Engines, from their status: listeners per mount, outputs up/down, late blocks
  (the engine's underrun count).

Each app has its own :class:`CollectorRegistry`, so several apps in one process
(tests) do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter as Tally
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api.context import ApiContext
from grimnir.api.routes._public_cache import ROUTE_KEY
from grimnir.bus import ITEM_STARTED
from grimnir.domain import ExecutorState
from grimnir.engine.client import StatusReport
from grimnir.services import public
from grimnir.store.errors import is_unreachable

log = logging.getLogger("grimnir.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUS_TIMEOUT_S = 0.5
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The registry of one app and its API request metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "grimnir_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "grimnir_api_request_duration_seconds",
            "Time to answer an HTTP request (until the response started), by route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.items_started: Tally[str] = Tally()
        """``item.started`` events seen on the bus, per station id."""
        self.stations: list[tuple[uuid.UUID, str]] = []
        """(id, short name) of every station at the last scrape that could read them:
        what a scrape uses while the database is unreachable."""
        self._listener: asyncio.Task[None] | None = None
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answer. Runs on every request, so the labelled children
        are kept here rather than looked up (validated, locked) each time."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def watch(self, ctx: ApiContext) -> None:
        """Count bus events from now on (once; call inside the running loop)."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._follow(ctx), name="api-metrics")

    async def _follow(self, ctx: ApiContext) -> None:
        try:
            sub = await ctx.bus.subscribe([ITEM_STARTED])
        except Exception:
            log.warning("metrics cannot follow the bus: items started will not be counted")
            return
        async with sub:
            async for event in sub:
                if event.station_id is not None:
                    self.items_started[event.station_id] += 1

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, ctx: ApiContext) -> None:
        self.app = app
        self.metrics = metrics
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                self.metrics.watch(self.ctx)  # count from start-up, not the first request
            await self.app(scope, receive, send)
            return
        self.metrics.watch(self.ctx)
        started = time.perf_counter()
        status = 500
        elapsed: float | None = None

        async def timed_send(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status = int(message["status"])
                elapsed = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            took = elapsed if elapsed is not None else time.perf_counter() - started
            self.metrics.observe(str(scope.get("method", "")), route_template(scope), status, took)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/api/v1/stations/{station}``)."""
    hot = scope.get(ROUTE_KEY)  # answered from the public cache, without routing
    if isinstance(hot, str):
        return hot
    # NOTE: FastAPI ≥ 0.16x routes included routers without flattening them, and
    # scope["route"] then holds the path relative to its router; the effective
    # route context has the full template. Older FastAPI sets only scope["route"].
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        effective = fastapi_scope.get("effective_route_context")
        template = getattr(effective, "path_format", None)
        if isinstance(template, str) and template:
            return template
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else "unmatched"


class _Snapshot(Collector):
    """Station metrics gathered for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


async def _engine_status(ctx: ApiContext, station_id: uuid.UUID) -> StatusReport | None:
    engine = ctx.on_air.engine(station_id)
    if engine is None:
        return None
    try:
        async with asyncio.timeout(STATUS_TIMEOUT_S):
            return await engine.status()
    except Exception:
        return None


async def station_families(ctx: ApiContext, metrics: ApiMetrics) -> list[Metric]:
    """Executor and engine metrics of the stations on air in this process."""
    database = GaugeMetricFamily(
        "grimnir_database_up",
        "1 when this scrape could read the database (0: unreachable; stations are "
        "reported from memory).",
    )
    try:
        async with ctx.sessions() as session:
            metrics.stations = await public.station_names(session)
        database.add_metric([], 1.0)
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        database.add_metric([], 0.0)
    on_air = GaugeMetricFamily(
        "grimnir_station_on_air", "1 when the station's executor runs here.", labels=["station"]
    )
    state = GaugeMetricFamily(
        "grimnir_executor_state", "1 for the executor's current state.", labels=["station", "state"]
    )
    priority = GaugeMetricFamily(
        "grimnir_executor_priority",
        "Priority on air (0 emergency … 4 fallback).",
        labels=["station"],
    )
    started = CounterMetricFamily(
        "grimnir_executor_items_started",
        "Items started on air, seen by this API since it started.",
        labels=["station"],
    )
    listeners = GaugeMetricFamily(
        "grimnir_engine_listeners",
        "Listeners per mount and how they listen (http: our server, icecast, hls).",
        labels=["station", "mount", "via"],
    )
    outputs = GaugeMetricFamily(
        "grimnir_engine_output_up", "1 when the output is connected.", labels=["station", "output"]
    )
    late = CounterMetricFamily(
        "grimnir_engine_late_blocks",
        "Audio blocks the engine produced late (underruns).",
        labels=["station"],
    )
    for station_id, name in metrics.stations:
        executor = ctx.on_air.executor(station_id)
        on_air.add_metric([name], 1.0 if executor is not None else 0.0)
        started.add_metric([name], float(metrics.items_started.get(str(station_id), 0)))
        if executor is not None:
            for value in ExecutorState:
                state.add_metric([name, value.value], 1.0 if executor.state is value else 0.0)
            priority.add_metric([name], float(int(executor.priority.on_air)))
        status = await _engine_status(ctx, station_id)
        if status is None:
            continue
        for mount, audience in (status.audience or {}).items():
            for via, count in (
                ("http", audience.http),
                ("icecast", audience.icecast),
                ("hls", audience.hls),
            ):
                if count is not None:
                    listeners.add_metric([name, mount, via], float(count))
        for output in status.outputs:
            outputs.add_metric([name, output.name], 1.0 if output.state == "up" else 0.0)
        late.add_metric([name], float(status.late_blocks))
    return [database, on_air, state, priority, started, listeners, outputs, late]


async def render(ctx: ApiContext, metrics: ApiMetrics) -> bytes:
    """The Prometheus text of this process."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Snapshot(await station_families(ctx, metrics)))
    return generate_latest(metrics.registry) + generate_latest(scrape)
