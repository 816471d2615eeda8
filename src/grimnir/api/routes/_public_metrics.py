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
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api._routing import route_template
from grimnir.api.context import ApiContext
from grimnir.api.routes._metrics_scrape import SlowFigures, scrape_families
from grimnir.bus import ITEM_STARTED
from grimnir.observability import metrics as observed

log = logging.getLogger("grimnir.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
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
        self.bus_lag = Histogram(
            "grimnir_bus_lag_seconds",
            "From an event's time to this process receiving it from the bus.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.slow = SlowFigures()
        """Database figures read at most every ``SlowFigures.EVERY_S`` (scrapes stay cheap)."""
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
            sub = await ctx.bus.subscribe(None)
        except Exception:
            log.warning("metrics cannot follow the bus: items started will not be counted")
            return
        lag = self.bus_lag
        async with sub:
            async for event in sub:
                lag.observe(max(0.0, (datetime.now(UTC) - event.at).total_seconds()))
                if event.type == ITEM_STARTED and event.station_id is not None:
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


async def render(ctx: ApiContext, metrics: ApiMetrics) -> bytes:
    """The Prometheus text of this process: the API's instruments, the process-wide
    ones (plan builds, analysis jobs; station ids shown as short names) and the
    figures read now from executors, engines, the database and the bus."""
    families = await scrape_families(ctx, metrics)
    names = {str(station_id): name for station_id, name in metrics.stations}
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Snapshot([*families, *_by_station_name(observed.REGISTRY, names)]))
    return generate_latest(metrics.registry) + generate_latest(scrape)


class _Snapshot(Collector):
    """Metric families gathered for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def _by_station_name(registry: CollectorRegistry, names: dict[str, str]) -> list[Metric]:
    """The families of ``registry`` with ``station`` labels (recorded as ids, where
    the planner knows no name) given as the short names every other family uses."""
    families = []
    for family in registry.collect():
        for sample in family.samples:
            station = sample.labels.get("station")
            if station is not None and station in names:
                sample.labels["station"] = names[station]
        families.append(family)
    return families
