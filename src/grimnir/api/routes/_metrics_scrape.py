"""The figures ``/metrics`` reads at scrape time, per station and for the process.

- **Database and bus**: reachable or not, the connection pool in use, the bus
  connected.
- **Executors** of the stations on air here: state, priority on air, items
  started (counted from the bus by :class:`ApiMetrics`).
- **Engines**: up (answered its status within ``STATUS_TIMEOUT_S``), restarts
  (the supervisor), output health, reconnects and last error, listeners per
  mount; and from the engine's once-a-second telemetry that the executor
  keeps: loudness (momentary, short-term, integrated) against the target,
  true peak, CPU, decode buffer depth, dropouts, the silence on air now and
  the dead air since the engine started. Telemetry figures are left out while
  the engine does not answer (they would be stale).
- **Planning and library**, read from the database at most every
  ``SlowFigures.EVERY_S``: how far the timeline runs without a hole, items by
  state, the analysis queue.

Labels stay bounded: station short name, mount, output, state, window.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from grimnir.api.context import ApiContext
from grimnir.domain import ExecutorState, MediaState
from grimnir.engine.client import StatusReport
from grimnir.services import public
from grimnir.services.library import items_by_state
from grimnir.services.timeline import filled_until
from grimnir.store.errors import is_unreachable

if TYPE_CHECKING:
    from grimnir.api.routes._public_metrics import ApiMetrics

STATUS_TIMEOUT_S = 0.5
HORIZON = timedelta(hours=48)
"""How far ``grimnir_schedule_horizon_seconds`` looks (the rolling plan's length)."""
LOUDNESS_WINDOWS = (
    ("momentary", "lufs_momentary"),
    ("short_term", "lufs_short_term"),
    ("integrated", "lufs_integrated"),
    ("program", "lufs_program"),
)
"""Windows of ``grimnir_media_engine_loudness_lufs``: EBU R 128's three from a level
meter in the graph; ``program`` (the last 20 s, gated) from the loop that holds
the output at its target, also when the graph has no meter."""


@dataclass
class SlowFigures:
    """Database figures that change slowly, re-read at most every ``EVERY_S``."""

    EVERY_S = 15.0

    read_at: float | None = None
    filled_until: dict[uuid.UUID, datetime] = field(default_factory=dict)
    items: dict[tuple[uuid.UUID, str], int] = field(default_factory=dict)

    def due(self) -> bool:
        return self.read_at is None or time.monotonic() - self.read_at >= self.EVERY_S


def _gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _counter(name: str, doc: str, *labels: str) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=list(labels))


class _Families:
    """Every family a scrape fills, created empty (each appears even with no samples)."""

    def __init__(self) -> None:
        self.database = _gauge(
            "grimnir_database_up",
            "1 when this scrape could read the database (0: unreachable; stations are "
            "reported from memory).",
        )
        self.pool_in_use = _gauge(
            "grimnir_database_pool_in_use", "Database connections checked out of the pool now."
        )
        self.pool_size = _gauge(
            "grimnir_database_pool_size", "Connections the database pool keeps open at most."
        )
        self.bus = _gauge("grimnir_bus_connected", "1 when the event bus is connected.")
        self.on_air = _gauge(
            "grimnir_station_on_air", "1 when the station's executor runs here.", "station"
        )
        self.state = _gauge(
            "grimnir_executor_state", "1 for the executor's current state.", "station", "state"
        )
        self.priority = _gauge(
            "grimnir_executor_priority", "Priority on air (0 emergency … 4 fallback).", "station"
        )
        self.started = _counter(
            "grimnir_executor_items_started",
            "Items started on air, seen by this API since it started.",
            "station",
        )
        self.horizon = _gauge(
            "grimnir_schedule_horizon_seconds",
            "How far from now the station's timeline runs without a hole (at most 48 h).",
            "station",
        )
        self.library = _gauge(
            "grimnir_library_items", "Media items by analysis state.", "station", "state"
        )
        self.queue = _gauge(
            "grimnir_analysis_queue_depth", "Media items waiting for or in analysis."
        )
        self.engine_up = _gauge(
            "grimnir_media_engine_up", "1 when the station's engine answers.", "station"
        )
        self.restarts = _counter(
            "grimnir_media_engine_restarts",
            "Times the station's engine was started again (crashes, failed health checks).",
            "station",
        )
        self.output_health = _gauge(
            "grimnir_media_engine_output_health",
            "1 when the output is up (connected, writing), 0 otherwise.",
            "station",
            "output",
        )
        self.reconnects = _counter(
            "grimnir_media_engine_output_reconnects",
            "Connections an output made again after its first (Icecast).",
            "station",
            "output",
        )
        self.loudness = _gauge(
            "grimnir_media_engine_loudness_lufs",
            "Loudness of what goes on air (EBU R 128), by window: momentary, short_term, "
            "integrated (a level meter in the graph), program (20 s gated, the output loop).",
            "station",
            "window",
        )
        self.target = _gauge(
            "grimnir_media_engine_loudness_target_lufs",
            "The loudness the station's chain holds its output at.",
            "station",
        )
        self.true_peak = _gauge(
            "grimnir_media_engine_true_peak_dbtp",
            "True peak of what went on air in the last second (dBTP).",
            "station",
        )
        self.buffer = _gauge(
            "grimnir_playout_buffer_depth_samples",
            "Decoded audio buffered ahead of the item on air, in sample frames.",
            "station",
        )
        self.dropouts = _counter(
            "grimnir_playout_dropout_count",
            "Dropouts since the engine started: blocks mixed late plus source underruns.",
            "station",
        )
        self.late = _counter(
            "grimnir_playout_late_blocks",
            "Audio blocks the engine produced late since it started.",
            "station",
        )
        self.cpu = _gauge(
            "grimnir_playout_cpu_usage_percent",
            "CPU the station's engine used over the last second (100 = one core).",
            "station",
        )
        self.silence = _gauge(
            "grimnir_playout_silence_seconds",
            "How long what goes on air has been silent, now (0 when audible).",
            "station",
        )
        self.dead_air = _counter(
            "grimnir_playout_dead_air_seconds",
            "Seconds of silence on air since the engine started.",
            "station",
        )
        self.listeners = _gauge(
            "grimnir_engine_listeners",
            "Listeners per mount and how they listen (http: our server, icecast, hls).",
            "station",
            "mount",
            "via",
        )

    def all(self) -> list[Metric]:
        return list(vars(self).values())


async def _engine_status(ctx: ApiContext, station_id: uuid.UUID) -> StatusReport | None:
    engine = ctx.on_air.engine(station_id)
    if engine is None:
        return None
    try:
        async with asyncio.timeout(STATUS_TIMEOUT_S):
            return await engine.status()
    except Exception:
        return None


async def _read_database(ctx: ApiContext, metrics: ApiMetrics, f: _Families) -> None:
    try:
        async with ctx.sessions() as session:
            metrics.stations = await public.station_names(session)
            slow = metrics.slow
            if slow.due():
                now = datetime.now(UTC)
                slow.filled_until = await filled_until(session, now, HORIZON)
                slow.items = await items_by_state(session)
                slow.read_at = time.monotonic()
        f.database.add_metric([], 1.0)
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        f.database.add_metric([], 0.0)


def _pool(ctx: ApiContext, f: _Families) -> None:
    bind = ctx.sessions.kw.get("bind")
    pool = getattr(getattr(bind, "sync_engine", None), "pool", None)
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        f.pool_in_use.add_metric([], float(checked_out()))
    if callable(size):
        f.pool_size.add_metric([], float(size()))


def _engine_figures(name: str, status: StatusReport, f: _Families) -> None:
    for mount, audience in (status.audience or {}).items():
        for via, count in (
            ("http", audience.http),
            ("icecast", audience.icecast),
            ("hls", audience.hls),
        ):
            if count is not None:
                f.listeners.add_metric([name, mount, via], float(count))
    for output in status.outputs:
        f.output_health.add_metric([name, output.name], 1.0 if output.state == "up" else 0.0)
        f.reconnects.add_metric([name, output.name], float(output.reconnects))
    f.late.add_metric([name], float(status.late_blocks))


def _number(record: dict[str, Any], key: str) -> float | None:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _telemetry_figures(name: str, record: dict[str, Any], f: _Families) -> None:
    for window, key in LOUDNESS_WINDOWS:
        value = _number(record, key)
        if value is not None:
            f.loudness.add_metric([name, window], value)
    for family, key in (
        (f.target, "target_lufs"),
        (f.true_peak, "true_peak_dbtp"),
        (f.cpu, "cpu_percent"),
        (f.silence, "silence_s"),
        (f.dead_air, "dead_air_s"),
        (f.dropouts, "dropouts"),
    ):
        value = _number(record, key)
        if value is not None:
            family.add_metric([name], value)
    current = record.get("current")
    buffered = _number(current, "buffered_frames") if isinstance(current, dict) else None
    f.buffer.add_metric([name], buffered or 0.0)


async def scrape_families(ctx: ApiContext, metrics: ApiMetrics) -> list[Metric]:
    """Every family read now for the stations this process knows."""
    f = _Families()
    await _read_database(ctx, metrics, f)
    _pool(ctx, f)
    f.bus.add_metric([], 1.0 if ctx.bus.connected else 0.0)
    now = datetime.now(UTC)
    slow = metrics.slow
    waiting = (MediaState.PENDING, MediaState.ANALYZING)
    queued = sum(count for (_, state), count in slow.items.items() if state in waiting)
    f.queue.add_metric([], float(queued))
    names = dict(metrics.stations)
    for (station_id, state), count in sorted(slow.items.items(), key=str):
        name = names.get(station_id)
        if name is not None:
            f.library.add_metric([name, state], float(count))
    on_air = [(sid, name) for sid, name in metrics.stations if ctx.on_air.executor(sid) is not None]
    statuses = await asyncio.gather(*(_engine_status(ctx, sid) for sid, _ in on_air))
    status_of = {sid: status for (sid, _), status in zip(on_air, statuses, strict=True)}
    for station_id, name in metrics.stations:
        executor = ctx.on_air.executor(station_id)
        f.on_air.add_metric([name], 1.0 if executor is not None else 0.0)
        f.started.add_metric([name], float(metrics.items_started.get(str(station_id), 0)))
        if executor is None:
            continue
        for value in ExecutorState:
            f.state.add_metric([name, value.value], 1.0 if executor.state is value else 0.0)
        f.priority.add_metric([name], float(int(executor.priority.on_air)))
        reach = slow.filled_until.get(station_id, now)
        f.horizon.add_metric([name], max(0.0, (reach - now).total_seconds()))
        restarts = ctx.on_air.engine_restarts(station_id)
        if restarts is not None:
            f.restarts.add_metric([name], float(restarts))
        status = status_of.get(station_id)
        f.engine_up.add_metric([name], 0.0 if status is None else 1.0)
        if status is None:
            continue
        _engine_figures(name, status, f)
        if executor.telemetry is not None:
            _telemetry_figures(name, executor.telemetry, f)
    return f.all()
