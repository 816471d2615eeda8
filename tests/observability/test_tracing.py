"""Tracing: off unless the ``OTEL_*`` variables ask for it; on, spans reach an OTLP/HTTP
collector (a tiny one in this process) and one trace follows a playout command from
the API through the executor over gRPC into the engine process.

OpenTelemetry's global provider is set once per process: tests turn tracing on and
off with ``tracing._reset_for_tests()`` (the provider stays, sampling nothing while
off). What must hold for a fresh process (no SDK imported while off, the service
name, the flush at shutdown) runs in a subprocess.
"""

from __future__ import annotations

import asyncio
import gzip
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.trace import SpanKind

from grimnir.api._tracing import TracingMiddleware
from grimnir.config.settings import Settings
from grimnir.observability import tracing
from grimnir.store.db import create_engine
from grimnir.up import ControlPlane, UpOptions
from tests._onair import ADMIN, engine_pids, free_port, make_station

# OTLP's Span.SpanKind numbers
KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_ERROR = 2
REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_SPAN = "00f067aa0ba902b7"


@dataclass(frozen=True)
class Got:
    """One span as the collector received it."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, object]
    status: int


@dataclass
class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (POST /v1/traces, protobuf)."""

    url: str
    spans: list[Got] = field(default_factory=list)
    posts: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        got: list[Got] = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    got.append(
                        Got(
                            service=resource.get("service.name", ""),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            status=span.status.code,
                        )
                    )
        with self.changed:
            self.posts += 1
            self.spans.extend(got)
            self.changed.notify_all()

    def wait_for(self, found: Callable[[list[Got]], bool], timeout_s: float = 30.0) -> list[Got]:
        """The spans so far, once ``found`` holds for them (AssertionError after the timeout)."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while not found(self.spans):
                left = deadline - time.monotonic()
                assert left > 0, f"the collector never got them; it has {self.spans}"
                self.changed.wait(left)
            return list(self.spans)

    def named(self, name: str) -> list[Got]:
        with self.changed:
            return [span for span in self.spans if span.name == name]


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None


@pytest.fixture
def collector() -> Iterator[Collector]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                received.receive(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
            else:
                answer = b""
                self.send_response(404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received = Collector(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="otlp-collector", daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def no_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``OTEL_*`` variable set; tracing off again afterwards."""
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)
    tracing._reset_for_tests()
    try:
        yield
    finally:
        tracing._reset_for_tests()


@pytest.fixture
def traced(no_otel: None, collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Collector:
    """Tracing on, exporting to ``collector`` (every 50 ms: what a child process inherits)."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    assert tracing.configure_tracing("grimnir") is True
    return collector


def _clean_env(**otel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**env, **otel}


# -- off by default ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
    ],
)
def test_only_the_standard_variables_turn_tracing_on(env: dict[str, str], wanted: bool) -> None:
    assert tracing.tracing_wanted(env) is wanted


def test_tracing_is_off_without_otel_variables(no_otel: None, collector: Collector) -> None:
    assert tracing.configure_tracing("grimnir") is False
    assert tracing.enabled() is False
    with tracing.span("nothing") as span:
        assert span is trace.INVALID_SPAN
        assert tracing.current_traceparent() is None
        assert tracing.current_ids() is None
    started = trace.get_tracer("grimnir").start_span("neither")
    assert not started.is_recording()
    started.end()
    tracing.shutdown_tracing()
    assert tracing.force_flush()
    assert collector.posts == 0
    assert collector.spans == []


def test_a_fresh_process_without_otel_variables_loads_no_sdk(collector: Collector) -> None:
    """Off costs nothing: no SDK imported, no provider set, nothing sent."""
    probe = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from grimnir.observability import tracing\n"
        "assert tracing.configure_tracing('grimnir') is False\n"
        "with tracing.span('x') as span:\n"
        "    assert not span.is_recording()\n"
        "assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry.sdk')]\n"
        "tracing.shutdown_tracing()\n"
        "print('off')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=_clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "off"
    assert collector.posts == 0


# -- on ---------------------------------------------------------------------------------------


def test_spans_reach_the_collector_with_their_parents(traced: Collector) -> None:
    assert tracing.enabled()
    assert tracing.configure_tracing("grimnir") is True  # again: nothing changes
    with (
        tracing.span("outer", attributes={"station": "s1"}) as outer,
        tracing.span("inner", kind=SpanKind.CLIENT),
    ):
        pass
    assert tracing.force_flush()
    spans = traced.wait_for(lambda got: {"outer", "inner"} <= {s.name for s in got})
    (got_outer,) = [s for s in spans if s.name == "outer"]  # once: one exporter
    (got_inner,) = [s for s in spans if s.name == "inner"]
    context = outer.get_span_context()
    assert got_outer.trace_id == format(context.trace_id, "032x")
    assert got_outer.parent_id == ""
    assert got_outer.attributes == {"station": "s1"}
    assert got_outer.service == "grimnir"
    assert got_inner.trace_id == got_outer.trace_id
    assert got_inner.parent_id == got_outer.span_id
    assert got_inner.kind == KIND_CLIENT


def test_traceparent_helpers_round_trip(traced: Collector) -> None:
    with tracing.span("here") as here:
        header = tracing.current_traceparent()
        ids = tracing.current_ids()
    context = here.get_span_context()
    trace_id, span_id = format(context.trace_id, "032x"), format(context.span_id, "016x")
    assert header is not None
    assert header.startswith(f"00-{trace_id}-{span_id}-")
    assert int(header[-2:], 16) & 1  # sampled
    assert ids == (trace_id, span_id)
    with tracing.span("there", kind=SpanKind.SERVER, parent=tracing.extract(header)) as there:
        pass
    assert there.get_span_context().trace_id == context.trace_id
    parent = getattr(there, "parent", None)  # an SDK span's parent context
    assert parent is not None
    assert parent.span_id == context.span_id
    # a malformed header starts a new trace instead of failing
    with tracing.span("fresh", parent=tracing.extract("00-garbage")) as fresh:
        pass
    assert fresh.get_span_context().trace_id != context.trace_id


async def test_a_context_carried_across_a_task_keeps_the_parent(traced: Collector) -> None:
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def worker() -> None:
        carried = await queue.get()
        with tracing.attached(carried), tracing.span("worked"):  # type: ignore[arg-type]
            pass

    task = asyncio.create_task(worker())  # its context is copied now: no span in it
    with tracing.span("asked") as asked:
        await queue.put(tracing.capture())
        await task
    assert tracing.force_flush()
    spans = traced.wait_for(lambda got: any(s.name == "worked" for s in got))
    (worked,) = [s for s in spans if s.name == "worked"]
    assert worked.parent_id == format(asked.get_span_context().span_id, "016x")


def test_turned_off_again_no_span_is_recorded(traced: Collector) -> None:
    with tracing.span("before"):
        pass
    tracing.shutdown_tracing()  # sends what is batched
    assert [s.name for s in traced.spans] == ["before"]
    posts = traced.posts
    assert not tracing.enabled()
    started = trace.get_tracer("grimnir").start_span("after")
    assert not started.is_recording()
    started.end()
    assert tracing.force_flush()
    assert traced.posts == posts


def test_a_process_uses_otel_service_name_and_flushes_at_shutdown(collector: Collector) -> None:
    probe = (
        "from grimnir.observability import tracing\n"
        "assert tracing.configure_tracing('grimnir-engine') is True\n"
        "with tracing.span('last words'):\n"
        "    pass\n"
        "tracing.shutdown_tracing()\n"
    )
    env = _clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SERVICE_NAME="studio-b")
    # NOTE: the default batch delay (5 s) is longer than the process lives: only
    # the flush at shutdown sends the span.
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (span,) = collector.wait_for(lambda got: bool(got))
    assert (span.service, span.name) == ("studio-b", "last words")


# -- the API's request spans --------------------------------------------------------------


def _small_app(native: bool) -> FastAPI:
    """Routes under ``TracingMiddleware``; ``native``: with FastAPI's own request spans."""
    app = FastAPI() if native else FastAPI(telemetry={"tracing": False})

    @app.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, str]:
        with tracing.span("inside"):
            return {"thing": thing}

    @app.get("/broken")
    async def broken() -> None:
        raise HTTPException(503, "down")

    app.add_middleware(TracingMiddleware)
    return app


def _chain(spans: list[Got], span: Got) -> list[str]:
    """Names of ``span``'s ancestors, nearest first, as far as ``spans`` hold them."""
    by_id = {s.span_id: s for s in spans}
    names = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


@pytest.mark.parametrize("native", [False, True], ids=["ours", "fastapi-native"])
async def test_each_request_is_one_server_span_named_by_its_route(
    traced: Collector, native: bool
) -> None:
    transport = httpx.ASGITransport(app=_small_app(native))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        incoming = f"00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"
        ok = await client.get("/things/42", headers={"traceparent": incoming})
        assert ok.status_code == 200
        failed = await client.get("/broken")
        assert failed.status_code == 503
    assert tracing.force_flush()
    spans = traced.wait_for(
        lambda got: {"inside", "GET /things/{thing}", "GET /broken"} <= {s.name for s in got}
    )
    servers = [s for s in spans if s.kind == KIND_SERVER]
    assert sorted(s.name for s in servers) == ["GET /broken", "GET /things/{thing}"]  # one each
    (request,) = [s for s in servers if s.name == "GET /things/{thing}"]
    (inside,) = [s for s in spans if s.name == "inside"]
    (broken,) = [s for s in servers if s.name == "GET /broken"]
    assert (request.trace_id, request.parent_id) == (REMOTE_TRACE, REMOTE_SPAN)
    assert request.attributes["http.method"] == "GET"
    assert request.attributes["http.route"] == "/things/{thing}"
    assert request.attributes["http.status_code"] == 200
    assert request.status != STATUS_ERROR
    assert inside.trace_id == REMOTE_TRACE
    assert _chain(spans, inside)[-1] == "GET /things/{thing}"  # (FastAPI's own spans between)
    assert broken.parent_id == ""
    assert broken.trace_id != REMOTE_TRACE
    assert broken.attributes["http.status_code"] == 503
    assert broken.status == STATUS_ERROR


async def test_requests_pass_untraced_while_tracing_is_off(
    no_otel: None, collector: Collector
) -> None:
    transport = httpx.ASGITransport(app=_small_app(native=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/things/1")).status_code == 200
    assert tracing.force_flush()
    assert collector.posts == 0


# -- end to end: API → executor → engine (a process of its own) ---------------------------


@pytest.fixture
async def on_air(
    traced: Collector, tmp_path: Path
) -> AsyncIterator[tuple[ControlPlane, Collector]]:
    """``grimnir up``'s control plane in this process (API, executor), its engine a
    supervised process that inherits the OTEL_* variables and exports to ``traced``."""
    make_station(tmp_path, tracks=2, track_s=20.0, emergency=False)
    settings = Settings(data_dir=tmp_path / "data")
    db = create_engine(settings.resolved_database_url)
    options = UpOptions(http_port=0, stream_port=free_port(), grpc_port=free_port(), plan_hours=1.0)
    plane = ControlPlane(settings, db, options)
    try:
        await plane.start()
        assert await plane.wait_on_air(60) == [], "the station never came on air"
        yield plane, traced
    finally:
        await plane.stop()
        await db.dispose()
        for pid in engine_pids(tmp_path):  # only if stop() left one behind
            os.kill(pid, 9)


async def test_a_skip_is_one_trace_from_the_api_through_the_executor_into_the_engine(
    on_air: tuple[ControlPlane, Collector],
) -> None:
    plane, collector = on_air
    station = plane.slots[0].station.id
    executor = plane.executor(station)
    assert executor is not None
    async with asyncio.timeout(60):
        while executor.current is None:  # the programme runs: skip has an item to end
            await asyncio.sleep(0.05)
    incoming = f"00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"
    async with httpx.AsyncClient(base_url=plane.http_url, timeout=30) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        skipped = await client.post(
            f"/api/v1/stations/{station}/playout/skip",
            json={"fade_ms": 20},
            headers={"Authorization": f"Bearer {token}", "traceparent": incoming},
        )
    assert skipped.status_code == 200, skipped.text
    assert tracing.force_flush()

    def whole(got: list[Got]) -> bool:
        return any(
            s.name == "engine.Skip" and s.kind == KIND_SERVER and s.trace_id == REMOTE_TRACE
            for s in got
        )

    spans = [s for s in collector.wait_for(whole, 60) if s.trace_id == REMOTE_TRACE]
    by_name = {s.name: s for s in spans}
    api = by_name["POST /api/v1/stations/{station}/playout/skip"]
    command = by_name["executor.skip"]
    (client_span,) = [s for s in spans if s.name == "engine.Skip" and s.kind == KIND_CLIENT]
    (server_span,) = [s for s in spans if s.name == "engine.Skip" and s.kind == KIND_SERVER]
    # one trace, continuing the caller's, parent by parent
    assert api.parent_id == REMOTE_SPAN
    assert (api.kind, api.service) == (KIND_SERVER, "grimnir")
    assert api.attributes["http.status_code"] == 200
    assert [s.name for s in spans if s.kind == KIND_SERVER and s.service == "grimnir"] == [
        api.name
    ]  # one span for the request, not one per layer
    # the command runs inside the request (FastAPI's endpoint span may sit between)
    between = _chain(spans, command)
    assert between[-1] == api.name
    assert all(name.startswith("fastapi.") for name in between[:-1]), between
    assert command.attributes["station"] == str(station)
    assert client_span.parent_id == command.span_id
    assert client_span.service == "grimnir"
    assert server_span.parent_id == client_span.span_id
    assert server_span.service == "grimnir-engine"  # exported by the engine process
    assert server_span.attributes["station"] == str(station)
