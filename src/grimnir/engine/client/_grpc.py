"""``GrpcEngineClient``: the engine client over gRPC (``grpc.aio``).

gRPC status codes come back as our errors (``NOT_FOUND`` → ``NotFoundError``,
``INVALID_ARGUMENT`` → ``EngineError``, an engine that is down →
``EngineError("engine at … is not reachable: …")``). A W3C ``traceparent``
travels with every call: the current OpenTelemetry span's, else the one set in
``TRACEPARENT``. While tracing is on, each command and query is a CLIENT span
``engine.{Method}`` (the engine continues it in its SERVER span).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import grpc
import grpc.aio
from opentelemetry.trace import SpanKind

from grimnir.domain.errors import GrimnirError
from grimnir.domain.fades import FadeCurve
from grimnir.engine.v1 import engine_pb2 as pb
from grimnir.engine.v1 import engine_pb2_grpc as pb_grpc
from grimnir.engine.v1.address import grpc_target
from grimnir.engine.v1.status import StatusReport
from grimnir.engine.v1.types import EngineEventRecord, MediaAnalysis, PlayRequest
from grimnir.engine.v1.wire import (
    curve_to_pb,
    error_from_status,
    event_from_pb,
    from_struct,
    from_timestamp,
    item_to_pb,
    layer_to_pb,
    plain,
    telemetry_dict,
)
from grimnir.observability import tracing

T = TypeVar("T")

TRACEPARENT: ContextVar[str | None] = ContextVar("grimnir_traceparent", default=None)
"""W3C trace context of the current task; sent as ``traceparent`` gRPC metadata."""

CHANNEL_OPTIONS = (
    # NOTE: reconnect fast after an engine restart (gRPC's default backoff
    # starts at 1 s and grows to 2 min, longer than a restart takes). Calls fail
    # at once while the channel backs off, so its longest backoff is how late a
    # restarted engine is seen serving, and the station is off air until then
    # (at 1 s, reached during every restart, that was 0.25–0.4 s); a refused
    # connect costs next to nothing, so try every 100 ms at most.
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 100),
    ("grpc.enable_retries", 0),
)


class GrpcEngineClient:
    """``EngineClient`` for the engine serving ``station_id`` at ``address``
    (``host:port``, or ``unix:PATH`` for a socket file).

    Every unary call waits at most ``timeout_s``; streams run until the
    consumer stops. The channel opens on first use inside the running loop.
    """

    def __init__(self, address: str, station_id: str, timeout_s: float = 5.0) -> None:
        self.address = address
        self._station_id = station_id
        self.timeout_s = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub_cache: pb_grpc.EngineStub | None = None

    @property
    def station_id(self) -> str:
        return self._station_id

    def _stub(self) -> pb_grpc.EngineStub:
        if self._stub_cache is None:
            target = grpc_target(self.address)
            self._channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._stub_cache = pb_grpc.EngineStub(self._channel)  # type: ignore[no-untyped-call]
        return self._stub_cache

    @staticmethod
    def _metadata() -> tuple[tuple[str, str], ...]:
        traceparent = tracing.current_traceparent() or TRACEPARENT.get()
        return (("traceparent", traceparent),) if traceparent else ()

    def _error(self, exc: grpc.aio.AioRpcError) -> GrimnirError:
        return error_from_status(exc.code().name, exc.details() or "", self.address)

    async def _unary(
        self, method: Callable[..., Awaitable[T]], request: Any, *, wait_for_ready: bool = False
    ) -> T:
        if not tracing.enabled():
            return await self._call(method, request, wait_for_ready)
        name = type(request).__name__.removesuffix("Request")  # NOTE: SkipRequest → Skip
        attributes = {
            "rpc.system": "grpc",
            "rpc.service": "grimnir.engine.v1.Engine",
            "rpc.method": name,
            "station": self._station_id,
        }
        with tracing.span(f"engine.{name}", kind=SpanKind.CLIENT, attributes=attributes):
            return await self._call(method, request, wait_for_ready)

    async def _call(
        self, method: Callable[..., Awaitable[T]], request: Any, wait_for_ready: bool
    ) -> T:
        try:
            return await method(
                request,
                timeout=self.timeout_s,
                metadata=self._metadata(),
                wait_for_ready=wait_for_ready,
            )
        except grpc.aio.AioRpcError as exc:
            raise self._error(exc) from None

    async def load_graph(self, graph: Mapping[str, Any]) -> None:
        request = pb.LoadGraphRequest(
            station_id=self._station_id, graph_json=json.dumps(plain(graph))
        )
        await self._unary(self._stub().LoadGraph, request)

    async def play(self, item: PlayRequest, *, layer: str = "automation") -> None:
        request = pb.PlayRequest(
            station_id=self._station_id, item=item_to_pb(item), layer=layer_to_pb(layer)
        )
        await self._unary(self._stub().Play, request)

    async def stop(
        self, layer: str = "automation", fade_ms: int = 20, clear_queue: bool = True
    ) -> None:
        request = pb.StopRequest(
            station_id=self._station_id,
            layer=layer_to_pb(layer),
            fade_ms=fade_ms,
            clear_queue=clear_queue,
        )
        await self._unary(self._stub().Stop, request)

    async def fade(
        self,
        layer: str = "automation",
        duration_ms: int = 3000,
        curve: FadeCurve = FadeCurve.LINEAR,
    ) -> None:
        request = pb.FadeRequest(
            station_id=self._station_id,
            layer=layer_to_pb(layer),
            duration_ms=duration_ms,
            curve=curve_to_pb(curve),
        )
        await self._unary(self._stub().Fade, request)

    async def skip(self, layer: str = "automation", fade_ms: int = 20) -> None:
        request = pb.SkipRequest(
            station_id=self._station_id, layer=layer_to_pb(layer), fade_ms=fade_ms
        )
        await self._unary(self._stub().Skip, request)

    async def unqueue(self, item_ids: Sequence[str], layer: str = "automation") -> None:
        request = pb.UnqueueRequest(
            station_id=self._station_id, layer=layer_to_pb(layer), item_ids=list(item_ids)
        )
        await self._unary(self._stub().Unqueue, request)

    async def insert_emergency(self, item: PlayRequest) -> None:
        request = pb.InsertEmergencyRequest(station_id=self._station_id, item=item_to_pb(item))
        await self._unary(self._stub().InsertEmergency, request)

    async def route_live(self, mount: str | None) -> None:
        request = pb.RouteLiveRequest(station_id=self._station_id, mount=mount or "")
        await self._unary(self._stub().RouteLive, request)

    async def kick_live(self, mount: str) -> None:
        request = pb.KickLiveRequest(station_id=self._station_id, mount=mount)
        await self._unary(self._stub().KickLive, request)

    async def set_metadata(
        self, title: str, artist: str = "", extra: Mapping[str, str] | None = None
    ) -> None:
        request = pb.SetMetadataRequest(
            station_id=self._station_id, title=title, artist=artist, extra=dict(extra or {})
        )
        await self._unary(self._stub().SetMetadata, request)

    async def set_fallback(self, items: Sequence[PlayRequest]) -> None:
        request = pb.SetFallbackRequest(
            station_id=self._station_id, items=[item_to_pb(item) for item in items]
        )
        await self._unary(self._stub().SetFallback, request)

    async def status(self) -> StatusReport:
        request = pb.GetStatusRequest(station_id=self._station_id)
        response = await self._unary(self._stub().GetStatus, request)
        return StatusReport.from_wire(from_struct(response.status))

    async def serving_status(self) -> StatusReport:
        """``status()`` of an engine that may not serve yet: the call waits (up to
        ``timeout_s``) for it to serve instead of failing at once, so whoever watches
        an engine start sees it serve at that moment (a call that fails at once while
        the engine comes up leaves the channel to notice it tens of ms later)."""
        request = pb.GetStatusRequest(station_id=self._station_id)
        response = await self._unary(self._stub().GetStatus, request, wait_for_ready=True)
        return StatusReport.from_wire(from_struct(response.status))

    async def analyze_media(self, path: str, target_lufs: float = -16.0) -> MediaAnalysis:
        request = pb.AnalyzeMediaRequest(
            station_id=self._station_id, path=path, target_lufs=target_lufs
        )
        response = await self._unary(self._stub().AnalyzeMedia, request)
        return MediaAnalysis(
            integrated_lufs=response.integrated_lufs,
            gain_db=response.gain_db,
            cue_in_ms=response.cue_in_ms,
            cue_out_ms=response.cue_out_ms,
            duration_ms=response.duration_ms,
        )

    async def generate_waveform(self, path: str, points: int) -> list[tuple[float, float]]:
        request = pb.GenerateWaveformRequest(station_id=self._station_id, path=path, points=points)
        response = await self._unary(self._stub().GenerateWaveform, request)
        return list(zip(response.min, response.max, strict=True))

    async def events(
        self, *, include_telemetry: bool = False, since_frame: int | None = None
    ) -> AsyncGenerator[EngineEventRecord, None]:
        request = pb.StreamEventsRequest(
            station_id=self._station_id,
            include_telemetry=include_telemetry,
            since_frame=since_frame,
        )
        call = self._stub().StreamEvents(request, metadata=self._metadata())
        try:
            async for event in call:
                yield event_from_pb(event)
        except grpc.aio.AioRpcError as exc:
            raise self._error(exc) from None
        finally:
            call.cancel()  # the server unsubscribes when the call ends

    async def telemetry(self) -> AsyncGenerator[dict[str, Any], None]:
        request = pb.StreamTelemetryRequest(station_id=self._station_id)
        call = self._stub().StreamTelemetry(request, metadata=self._metadata())
        try:
            async for record in call:
                yield telemetry_dict(
                    EngineEventRecord(
                        record.station_id,
                        "telemetry",
                        record.frame,
                        from_timestamp(record.time),
                        from_struct(record.data),
                    )
                )
        except grpc.aio.AioRpcError as exc:
            raise self._error(exc) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        self._channel = None
        self._stub_cache = None


__all__ = ["TRACEPARENT", "GrpcEngineClient"]
