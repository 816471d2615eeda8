"""The process-wide instruments, and the names of every metric family we export.

Most figures on ``/metrics`` are read at scrape time (executor state, engine
telemetry, database counts: see ``api/routes/_public_metrics.py``). What only
happens now and then — a plan build, a smart-block fill, an analysis job — is
recorded when it happens, into :data:`REGISTRY`, by the context managers
below. They also open an OpenTelemetry span of the same name (a no-op unless
tracing is configured), so one call site gives both.

Labels are bounded: station (short name or id), mount, output, state, result —
never a track, a user or a request path that is not a route template.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY: Final = CollectorRegistry(auto_describe=True)
"""Instruments of this process (one per process; ``/metrics`` adds it to the scrape)."""

TRACER: Final = trace.get_tracer("grimnir")

_SECONDS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_FAST: Final = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

SCHEDULE_BUILD_SECONDS: Final = Histogram(
    "grimnir_schedule_build_duration_seconds",
    "Time to plan (and store) a station's timeline window.",
    ["station"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
SCHEDULE_ENTRIES: Final = Counter(
    "grimnir_schedule_entries",
    "Timeline entries written by plan builds.",
    ["station"],
    registry=REGISTRY,
)
SMART_BLOCK_SECONDS: Final = Histogram(
    "grimnir_smart_block_materialize_duration_seconds",
    "Time to choose the tracks of one smart block for one slot.",
    buckets=_FAST,
    registry=REGISTRY,
)
ANALYSIS_SECONDS: Final = Histogram(
    "grimnir_analysis_job_duration_seconds",
    "Time to analyse one media file (decode, loudness, cue points), queue wait included.",
    buckets=_SECONDS,
    registry=REGISTRY,
)
ANALYSIS_JOBS: Final = Counter(
    "grimnir_analysis_jobs",
    "Analysis jobs finished, by result (ready, failed).",
    ["result"],
    registry=REGISTRY,
)


@contextmanager
def plan_build(station: str) -> Iterator[trace.Span]:
    """Time a plan build of ``station`` (its id) and trace it as ``plan.build``."""
    started = time.perf_counter()
    with TRACER.start_as_current_span("plan.build", attributes={"station": station}) as span:
        try:
            yield span
        finally:
            SCHEDULE_BUILD_SECONDS.labels(station).observe(time.perf_counter() - started)


def planned_entries(station: str, count: int) -> None:
    """Count ``count`` timeline entries written for ``station`` (0 too: the series
    exists from the station's first build on)."""
    SCHEDULE_ENTRIES.labels(station).inc(count)


@contextmanager
def smart_block_fill(block: str) -> Iterator[trace.Span]:
    """Time one smart-block fill and trace it as ``smart_block.fill``."""
    started = time.perf_counter()
    with TRACER.start_as_current_span(
        "smart_block.fill", attributes={"smart_block": block}
    ) as span:
        try:
            yield span
        finally:
            SMART_BLOCK_SECONDS.observe(time.perf_counter() - started)


@contextmanager
def analysis_job(item: str) -> Iterator[trace.Span]:
    """Time one analysis job and trace it as ``library.analyze``; the caller sets the
    result with :func:`analysis_result` (a job that raises counts as failed)."""
    started = time.perf_counter()
    with TRACER.start_as_current_span("library.analyze", attributes={"media_item": item}) as span:
        try:
            yield span
        except BaseException:
            ANALYSIS_JOBS.labels("failed").inc()
            raise
        finally:
            ANALYSIS_SECONDS.observe(time.perf_counter() - started)


def analysis_result(ok: bool) -> None:
    ANALYSIS_JOBS.labels("ready" if ok else "failed").inc()
