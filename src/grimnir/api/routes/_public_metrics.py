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
from bisect import bisect_left
from collections import Counter as Tally
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api._routing import route_template
from grimnir.api.context import ApiContext
from grimnir.api.routes._metrics_scrape import SlowFigures, scrape_families
from grimnir.bus import ITEM_STARTED
from grimnir.observability import metrics as observed

log = logging.getLogger("grimnir.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestStats(Collector):
    """Requests answered and their latency, by method, route template and status.

    Runs on every request, so it only adds to plain numbers (no locks, no labelled
    children: the API answers on one event loop, which also runs the scrape); the
    counter and histogram families are made from them at scrape time.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self._rows: dict[tuple[str, str, int], list[Any]] = {}
        """(method, route, status) → [count, seconds in all, count per bucket (+Inf last)]."""

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0, 0.0, [0] * (len(self.buckets) + 1)]
        row[0] += 1
        row[1] += seconds
        row[2][bisect_left(self.buckets, seconds)] += 1

    def collect(self) -> list[Metric]:
        requests = CounterMetricFamily(
            "grimnir_api_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=["method", "route", "status"],
        )
        latency = HistogramMetricFamily(
            "grimnir_api_request_duration_seconds",
            "Time to answer an HTTP request (until the response started), by route template.",
            labels=["method", "route"],
        )
        merged: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for (method, route, status), (count, total, per_bucket) in sorted(self._rows.items()):
            requests.add_metric([method, route, str(status)], float(count))
            counts, seconds = merged.setdefault((method, route), ([0] * len(per_bucket), [0.0]))
            for index, value in enumerate(per_bucket):
                counts[index] += value
            seconds[0] += total
        for (method, route), (counts, seconds) in merged.items():
            bounds = [*map(floatToGoString, self.buckets), "+Inf"]
            buckets = list(zip(bounds, accumulate(counts), strict=True))
            latency.add_metric([method, route], buckets, seconds[0])
        return [requests, latency]


class ApiMetrics:
    """The registry of one app and its API request metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestStats(_BUCKETS)
        self.registry.register(self.requests)
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

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answer."""
        self.requests.observe(method, route, status, seconds)

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
