"""OpenTelemetry tracing, configured from the standard ``OTEL_*`` variables only.

Off by default. :func:`configure_tracing` turns it on when
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set
or ``OTEL_TRACES_EXPORTER`` names ``otlp`` or ``console``;
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it off. Spans
then go in batches to an OTLP/HTTP collector (the exporter reads the endpoint,
headers and timeout variables itself), and trace context travels as a W3C
``traceparent``: in HTTP headers into the API, in gRPC metadata to the engine.

While tracing is off nothing of the SDK is imported and :func:`span` hands out
one shared no-op context manager, so instrumented code costs a flag test.

One provider per process (OpenTelemetry's global provider can be set once):
it samples and exports through switches that :func:`configure_tracing`
turns on and :func:`shutdown_tracing` off, so a test process can turn tracing
on, off and on again with another collector.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

log = logging.getLogger("grimnir.observability")

P = ParamSpec("P")
R = TypeVar("R")

TRACER_NAME: Final = "grimnir"
PROPAGATOR: Final = TraceContextTextMapPropagator()
"""W3C trace context (``traceparent``/``tracestate``): what we send and accept."""

_ON_EXPORTERS: Final = frozenset({"otlp", "console"})
_OFF: Final = contextlib.nullcontext(trace.INVALID_SPAN)
"""What :func:`span` returns while tracing is off (reusable, no allocation)."""

_lock = threading.Lock()
_enabled = False
_provider: TracerProvider | None = None
_switch: Any = None  # the provider's _Switch (see _install); Any: its class is built lazily


def tracing_wanted(env: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables in ``env`` (default: the environment) ask for tracing."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {
        name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")
    } - {""}
    if "none" in exporters:
        return False
    if exporters & _ON_EXPORTERS:
        return True
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    )


def enabled() -> bool:
    """Tracing is on in this process."""
    return _enabled


def configure_tracing(service_name: str) -> bool:
    """Turn tracing on if the ``OTEL_*`` variables ask for it; True when it is on.

    ``OTEL_SERVICE_NAME`` wins over ``service_name``. Calling it again while on
    changes nothing. Call :func:`shutdown_tracing` on the way out, so the last
    batch of spans is sent.
    """
    global _enabled, _provider, _switch
    with _lock:
        if _enabled:
            return True
        if not tracing_wanted():
            return False
        processors = _processors()
        if not processors:
            return False
        if _provider is None:
            _provider, _switch = _install(os.environ.get("OTEL_SERVICE_NAME") or service_name)
        _switch.turn_on(processors)
        _enabled = True
    log.debug("tracing on, as %s", os.environ.get("OTEL_SERVICE_NAME") or service_name)
    return True


def shutdown_tracing() -> None:
    """Send the spans still batched and turn tracing off (harmless when it is off)."""
    global _enabled
    with _lock:
        _enabled = False
        if _switch is not None:
            _switch.turn_off()


def force_flush(timeout_ms: int = 30_000) -> bool:
    """Send the spans batched so far now; False if that did not finish in time."""
    switch = _switch
    return True if switch is None else bool(switch.force_flush(timeout_ms))


def _reset_for_tests() -> None:
    """Tracing off and its exporters shut down, ready for another ``configure_tracing``.

    The process keeps its provider (OpenTelemetry sets the global one once);
    while off it samples nothing, so it records no span.
    """
    shutdown_tracing()


# -- the per-call helpers -------------------------------------------------------------


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> AbstractContextManager[trace.Span]:
    """A span named ``name`` made current while the block runs (a child of ``parent``,
    else of the current span); an exception leaving the block marks it failed.
    While tracing is off: a shared no-op (the block gets ``INVALID_SPAN``)."""
    if not _enabled:
        return _OFF
    return tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes) if attributes else None
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` header of the current span (None: tracing off, no span)."""
    if not _enabled:
        return None
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def extract(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    """The context a ``traceparent`` (and ``tracestate``) header continues; a missing or
    malformed one gives an empty context (a new trace starts there)."""
    carrier = {"traceparent": traceparent or ""}
    if tracestate:
        carrier["tracestate"] = tracestate
    return PROPAGATOR.extract(carrier, context=otel_context.Context())


def current_ids() -> tuple[str, str] | None:
    """Trace and span id (hex) of the current span, when there is a valid one."""
    found = trace.get_current_span().get_span_context()
    if not found.is_valid:
        return None
    return format(found.trace_id, "032x"), format(found.span_id, "016x")


def capture() -> otel_context.Context:
    """The current context, to carry across a queue or into another task (:func:`attached`)."""
    return otel_context.get_current()


@contextlib.contextmanager
def attached(carried: otel_context.Context | None) -> Iterator[None]:
    """Run the block in ``carried`` (from :func:`capture`), as if no boundary was crossed."""
    if carried is None or not _enabled:
        yield
        return
    token = otel_context.attach(carried)
    try:
        yield
    finally:
        otel_context.detach(token)


def traced(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Run each call of the decorated coroutine function in a span ``name``, a child of
    the caller's span (an API request's, when a route calls it). A method of an object
    with a ``station_key`` tags its span with that station."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if not _enabled:
                return await function(*args, **kwargs)
            station = getattr(args[0], "station_key", None) if args else None
            attributes = {"station": str(station)} if station is not None else None
            with span(name, attributes=attributes):
                return await function(*args, **kwargs)

        return run

    return decorate


# -- the provider ---------------------------------------------------------------------------


def _processors() -> list[SpanProcessor]:
    """Batching processors for the exporters ``OTEL_TRACES_EXPORTER`` names (default otlp)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    names = {
        name.strip().lower() for name in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")
    } & _ON_EXPORTERS or {"otlp"}
    processors: list[SpanProcessor] = []
    if "otlp" in names:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    if "console" in names:
        processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    return processors


def _install(service_name: str) -> tuple[TracerProvider, Any]:
    """Create this process's provider, with its sampling and exporting switches, and
    make it the global one (once per process)."""
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_OFF,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON as ALWAYS

    ratio = os.environ.get("OTEL_TRACES_SAMPLER_ARG", "")
    sampler_name = os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    on_sampler: Sampler = ParentBased(ALWAYS)
    if sampler_name.endswith("traceidratio"):
        try:
            on_sampler = ParentBased(TraceIdRatioBased(float(ratio or "1.0")))
        except ValueError:
            log.warning("OTEL_TRACES_SAMPLER_ARG=%r is not a ratio; sampling every trace", ratio)

    class _Switch(SpanProcessor, Sampler):
        """Samples and exports while on; drops every span while off."""

        def __init__(self) -> None:
            self.inner: list[SpanProcessor] = []
            self.sampler: Sampler = ALWAYS_OFF

        def turn_on(self, processors: list[SpanProcessor]) -> None:
            self.inner = processors
            self.sampler = on_sampler

        def turn_off(self) -> None:
            self.sampler = ALWAYS_OFF
            inner, self.inner = self.inner, []
            for processor in inner:
                processor.shutdown()  # NOTE: a batch processor sends what it holds first

        # -- Sampler
        def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
            return self.sampler.should_sample(*args, **kwargs)

        def get_description(self) -> str:
            return f"GrimnirSwitch{{{self.sampler.get_description()}}}"

        # -- SpanProcessor
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            for processor in self.inner:
                processor.on_start(span, parent_context=parent_context)

        def on_end(self, span: ReadableSpan) -> None:
            for processor in self.inner:
                processor.on_end(span)

        def shutdown(self) -> None:
            self.turn_off()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return all(processor.force_flush(timeout_millis) for processor in self.inner)

    switch = _Switch()
    provider = TracerProvider(
        sampler=switch, resource=Resource.create({SERVICE_NAME: service_name})
    )
    provider.add_span_processor(switch)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        log.warning("another OpenTelemetry tracer provider was set first; using it")
    return provider, switch


__all__ = [
    "PROPAGATOR",
    "attached",
    "capture",
    "configure_tracing",
    "current_ids",
    "current_traceparent",
    "enabled",
    "extract",
    "force_flush",
    "shutdown_tracing",
    "span",
    "traced",
    "tracing_wanted",
]
