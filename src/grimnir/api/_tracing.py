"""``TracingMiddleware``: a SERVER span per HTTP request, while tracing is on.

The span is named ``"{METHOD} {route template}"`` (``POST
/api/v1/stations/{station}/playout/skip``; the template is known once routing
has run, so the name is set at the end), continues the caller's
``traceparent`` and carries ``http.method``, ``http.route`` and
``http.status_code``; a 5xx answer marks it failed. Whatever the request does
(an executor command, a gRPC call to the engine) runs inside it. When FastAPI
has opened the request's SERVER span itself (its native telemetry, on once a
tracer provider is set) this completes that span rather than nesting another.
While tracing is off the request passes straight through.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api._routing import route_template
from grimnir.observability import tracing


class TracingMiddleware:
    """Pure ASGI (no per-request task), so the span's context is the route's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        outer = trace.get_current_span()
        if outer.is_recording() and getattr(outer, "kind", None) is SpanKind.SERVER:
            # NOTE: FastAPI ≥ 0.16x opens the request's SERVER span itself (outside
            # every middleware) once a tracer provider is set: complete that one
            # instead of nesting a second span for the same request.
            await self._traced(outer, scope, receive, send)
            return
        method = str(scope.get("method", ""))
        traceparent = tracestate = None
        for key, value in scope.get("headers") or ():
            if key == b"traceparent":
                traceparent = value.decode("latin-1")
            elif key == b"tracestate":
                tracestate = value.decode("latin-1")
        parent = tracing.extract(traceparent, tracestate) if traceparent else None
        with tracing.span(method, kind=SpanKind.SERVER, parent=parent) as span:
            await self._traced(span, scope, receive, send)

    async def _traced(self, span: trace.Span, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", ""))
        span.set_attribute("http.method", method)
        answered = False

        def finish(status: int) -> None:
            route = route_template(scope)
            span.update_name(f"{method} {route}" if route != "unmatched" else method)
            span.set_attribute("http.route", route)
            span.set_attribute("http.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))

        async def traced_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                # NOTE: now, not after the app returns: FastAPI ends its span with the answer
                answered = True
                finish(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, traced_send)
        finally:
            if not answered and span.is_recording():
                finish(500)


__all__ = ["TracingMiddleware"]
