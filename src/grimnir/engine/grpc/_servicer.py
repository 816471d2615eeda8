"""The gRPC ``Engine`` service: a thin adapter over any ``EngineControl``.

Each call checks the station, runs the control method, and turns our
exceptions into status codes with the same readable message (see
``engine.proto``). A ``traceparent`` in the call's metadata is logged with
the request and kept in ``TRACEPARENT`` while the call runs, so whatever the
engine logs for it can carry the trace; while tracing is on, each command and
query runs in a SERVER span ``engine.{Method}`` continuing it (streams, which
last as long as their caller, get none).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from opentelemetry.trace import SpanKind

from grimnir.engine.adapter import fallback_items, metadata, parse_graph, to_play_item
from grimnir.engine.grpc._streams import Mailbox
from grimnir.engine.v1 import engine_pb2 as pb
from grimnir.engine.v1 import engine_pb2_grpc as pb_grpc
from grimnir.engine.v1.timebase import Timebase
from grimnir.engine.v1.types import SUBSCRIBED, EngineEventRecord
from grimnir.engine.v1.wire import (
    check_station,
    curve_from_pb,
    event_to_pb,
    item_from_pb,
    layer_from_pb,
    message_for,
    plain,
    status_name_for,
    to_struct,
    to_timestamp,
)
from grimnir.observability import tracing

if TYPE_CHECKING:
    from grimnir.engine.control import EngineControl

log = logging.getLogger("grimnir.engine.grpc")

TRACEPARENT: ContextVar[str | None] = ContextVar("grimnir_engine_traceparent", default=None)
"""The ``traceparent`` of the call being served (None when the caller sent none)."""

R = TypeVar("R")
Handler = Callable[["EngineServicer", Any, Any], R]


def _traceparent(context: Any) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "traceparent":
            return str(value)
    return None


def _server_span(
    method: str, traceparent: str | None, station_id: str
) -> AbstractContextManager[Any]:
    """The call's SERVER span, a child of the caller's span (a no-op while tracing is off)."""
    if not tracing.enabled():
        return contextlib.nullcontext()
    attributes = {
        "rpc.system": "grpc",
        "rpc.service": "grimnir.engine.v1.Engine",
        "rpc.method": method,
        "station": station_id,
    }
    return tracing.span(
        f"engine.{method}",
        kind=SpanKind.SERVER,
        parent=tracing.extract(traceparent),
        attributes=attributes,
    )


def _fail(context: Any, exc: Exception) -> NoReturn:
    name, message = status_name_for(exc), message_for(exc)
    if name == "INTERNAL":
        log.exception("engine call failed: %s", message)
    context.abort(getattr(grpc.StatusCode, name), message)
    raise RuntimeError("grpc context.abort() returned")  # it always raises


def _unary(handler: Handler[R]) -> Handler[R]:
    @functools.wraps(handler)
    def serve(self: EngineServicer, request: Any, context: Any) -> R:
        traceparent = _traceparent(context)
        log.debug("%s %s traceparent=%s", handler.__name__, request.station_id, traceparent)
        token = TRACEPARENT.set(traceparent)
        try:
            with _server_span(handler.__name__, traceparent, request.station_id):
                check_station(self.control.station_id, request.station_id)
                return handler(self, request, context)
        except Exception as exc:
            _fail(context, exc)
        finally:
            TRACEPARENT.reset(token)

    return serve


def _stream(handler: Handler[Iterator[R]]) -> Handler[Iterator[R]]:
    @functools.wraps(handler)
    def serve(self: EngineServicer, request: Any, context: Any) -> Iterator[R]:
        traceparent = _traceparent(context)
        log.debug("%s %s traceparent=%s", handler.__name__, request.station_id, traceparent)
        try:
            check_station(self.control.station_id, request.station_id)
            yield from handler(self, request, context)
        except Exception as exc:
            _fail(context, exc)

    return serve


class EngineServicer(pb_grpc.EngineServicer):
    """Serves one station's ``EngineControl`` over gRPC."""

    def __init__(self, control: EngineControl, *, stream_capacity: int = 1000) -> None:
        self.control = control
        self.timebase = Timebase(control)
        self.stream_capacity = stream_capacity
        self.poll_s = 0.25
        """How often a waiting stream checks that its caller is still there."""

    # -- commands ------------------------------------------------------------------

    @_unary
    def LoadGraph(self, request: pb.LoadGraphRequest, context: Any) -> pb.LoadGraphResponse:
        self.control.load_graph(parse_graph(request.graph_json))
        return pb.LoadGraphResponse()

    @_unary
    def Play(self, request: pb.PlayRequest, context: Any) -> pb.PlayResponse:
        layer = layer_from_pb(request.layer)
        item = to_play_item(item_from_pb(request.item), self.timebase)
        if layer == "emergency":
            self.control.insert_emergency(item)
        elif layer == "automation":
            self.control.play(item)
        else:
            raise ValueError("items play on automation or emergency; use RouteLive for live")
        return pb.PlayResponse()

    @_unary
    def Stop(self, request: pb.StopRequest, context: Any) -> pb.StopResponse:
        layer = layer_from_pb(request.layer)
        self.control.stop(layer, request.fade_ms, request.clear_queue)
        return pb.StopResponse()

    @_unary
    def Fade(self, request: pb.FadeRequest, context: Any) -> pb.FadeResponse:
        layer = layer_from_pb(request.layer)
        self.control.fade(layer, request.duration_ms, curve_from_pb(request.curve))
        return pb.FadeResponse()

    @_unary
    def Skip(self, request: pb.SkipRequest, context: Any) -> pb.SkipResponse:
        self.control.skip(layer_from_pb(request.layer), request.fade_ms)
        return pb.SkipResponse()

    @_unary
    def InsertEmergency(
        self, request: pb.InsertEmergencyRequest, context: Any
    ) -> pb.InsertEmergencyResponse:
        self.control.insert_emergency(to_play_item(item_from_pb(request.item), self.timebase))
        return pb.InsertEmergencyResponse()

    @_unary
    def RouteLive(self, request: pb.RouteLiveRequest, context: Any) -> pb.RouteLiveResponse:
        self.control.route_live(request.mount or None)
        return pb.RouteLiveResponse()

    @_unary
    def KickLive(self, request: pb.KickLiveRequest, context: Any) -> pb.KickLiveResponse:
        self.control.kick_live(request.mount)
        return pb.KickLiveResponse()

    @_unary
    def SetMetadata(self, request: pb.SetMetadataRequest, context: Any) -> pb.SetMetadataResponse:
        self.control.set_metadata(metadata(request.title, request.artist, dict(request.extra)))
        return pb.SetMetadataResponse()

    @_unary
    def SetFallback(self, request: pb.SetFallbackRequest, context: Any) -> pb.SetFallbackResponse:
        items = [item_from_pb(item) for item in request.items]
        self.control.set_fallback(fallback_items(items, self.timebase))
        return pb.SetFallbackResponse()

    @_unary
    def Unqueue(self, request: pb.UnqueueRequest, context: Any) -> pb.UnqueueResponse:
        self.control.unqueue(layer_from_pb(request.layer), list(request.item_ids))
        return pb.UnqueueResponse()

    # -- queries -------------------------------------------------------------------

    @_unary
    def GetStatus(self, request: pb.GetStatusRequest, context: Any) -> pb.GetStatusResponse:
        status = self.control.status()
        return pb.GetStatusResponse(
            station_id=self.control.station_id,
            frame=status.frame,
            time=to_timestamp(self.timebase.time_at(status.frame)),
            on_air=status.on_air or "",
            current_item_id="" if status.current is None else status.current.item_id,
            queue=list(status.queue),
            late_blocks=status.late_blocks,
            status=to_struct(status.to_wire()),
        )

    @_unary
    def AnalyzeMedia(
        self, request: pb.AnalyzeMediaRequest, context: Any
    ) -> pb.AnalyzeMediaResponse:
        result = self.control.analyze_media(request.path, request.target_lufs or -16.0)
        return pb.AnalyzeMediaResponse(
            integrated_lufs=result.integrated_lufs,
            gain_db=result.gain_db,
            cue_in_ms=result.cue_in_ms,
            cue_out_ms=result.cue_out_ms,
            duration_ms=result.duration_ms,
        )

    @_unary
    def GenerateWaveform(
        self, request: pb.GenerateWaveformRequest, context: Any
    ) -> pb.GenerateWaveformResponse:
        pairs = self.control.generate_waveform(request.path, request.points)
        return pb.GenerateWaveformResponse(
            min=[low for low, _ in pairs], max=[high for _, high in pairs]
        )

    # -- streams -------------------------------------------------------------------

    @_stream
    def StreamEvents(self, request: pb.StreamEventsRequest, context: Any) -> Iterator[pb.Event]:
        include = request.include_telemetry
        since = request.since_frame if request.HasField("since_frame") else None
        wanted = lambda kind: include or kind != "telemetry"  # noqa: E731
        for record in self._drain(context, wanted, True, since):
            yield event_to_pb(record)

    @_stream
    def StreamTelemetry(
        self, request: pb.StreamTelemetryRequest, context: Any
    ) -> Iterator[pb.TelemetryRecord]:
        for record in self._drain(context, lambda kind: kind == "telemetry", False):
            yield pb.TelemetryRecord(
                station_id=record.station_id,
                frame=record.frame,
                time=to_timestamp(record.time),
                data=to_struct(record.data),
            )

    def _drain(
        self,
        context: Any,
        wanted: Callable[[str], bool],
        greet: bool,
        since_frame: int | None = None,
    ) -> Iterator[EngineEventRecord]:
        """Records for one stream until its caller goes away; then unsubscribe.

        With ``greet`` the first record is ``subscribed``, sent once the
        subscription is in place: every event after it reaches the caller.
        """
        mailbox = Mailbox(self.stream_capacity, wanted)
        unsubscribe = self.control.subscribe(mailbox.put, since_frame)
        station = self.control.station_id

        def ended() -> None:
            mailbox.close()
            unsubscribe()

        # NOTE: the callback runs when the call ends for any reason (the client
        # cancelled, its deadline passed, the server stops); the finally below
        # covers a generator closed by gRPC. Unsubscribing twice is harmless.
        context.add_callback(ended)
        try:
            if greet:
                now = datetime.now(UTC)
                frame = self.timebase.frame_at(now)
                yield EngineEventRecord(station, SUBSCRIBED, frame, now, {"station_id": station})
            while context.is_active() and not mailbox.closed:
                event = mailbox.get(self.poll_s)
                if event is not None:
                    frame = int(event.frame)
                    yield EngineEventRecord(
                        station,
                        str(event.type),
                        frame,
                        self.timebase.time_at(frame),
                        plain(event.data),
                    )
            if mailbox.dropped:
                log.warning("a slow stream consumer lost %d events", mailbox.dropped)
        finally:
            ended()
