"""Translations at the edge: protobuf messages ↔ our types, exceptions ↔ status codes.

Both the gRPC server and both clients use these, so a request means the
same thing and an error reads the same whichever way it travelled.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2
from pydantic import ValidationError

from grimnir.domain.errors import (
    ConflictError,
    EngineError,
    GrimnirError,
    InvalidTransitionError,
    NotFoundError,
)
from grimnir.domain.fades import CuePoints, FadeCurve, Timing
from grimnir.domain.layers import COMMAND_LAYERS, Layer
from grimnir.domain.units import Millis
from grimnir.engine.v1 import engine_pb2 as pb
from grimnir.engine.v1.types import EngineEventRecord, PlayRequest

# -- plain data and Struct --------------------------------------------------------------


def plain(value: Any) -> Any:
    """``value`` as JSON-like data: dict/list/str/int/float/bool/None.

    Whole floats become ints (a ``google.protobuf.Struct`` keeps only
    doubles), so an in-process client and a gRPC client return equal data.
    """
    if value is None or isinstance(value, bool | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return int(number) if math.isfinite(number) and number.is_integer() else number
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def to_struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(plain(data))
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: _from_value(value) for key, value in struct.fields.items()}


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [_from_value(item) for item in value.list_value.values]
    if kind == "number_value":
        return plain(value.number_value)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def to_timestamp(when: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


# -- enums ----------------------------------------------------------------------------

# NOTE: the one place the contract's ``Layer`` meets ours (fallback has no number:
# no command addresses it).
_LAYER_TO_PB = {
    Layer.AUTOMATION: pb.LAYER_AUTOMATION,
    Layer.EMERGENCY: pb.LAYER_EMERGENCY,
    Layer.LIVE: pb.LAYER_LIVE,
}
_LAYER_FROM_PB: dict[int, Layer] = {
    pb.LAYER_UNSPECIFIED: Layer.AUTOMATION,
    pb.LAYER_AUTOMATION: Layer.AUTOMATION,
    pb.LAYER_EMERGENCY: Layer.EMERGENCY,
    pb.LAYER_LIVE: Layer.LIVE,
}
_TIMING_TO_PB = {Timing.SOFT: pb.TIMING_SOFT, Timing.HARD: pb.TIMING_HARD}
_TIMING_FROM_PB: dict[int, Timing] = {
    pb.TIMING_UNSPECIFIED: Timing.SOFT,
    pb.TIMING_SOFT: Timing.SOFT,
    pb.TIMING_HARD: Timing.HARD,
}
_CURVE_TO_PB = {
    FadeCurve.LINEAR: pb.FADE_CURVE_LINEAR,
    FadeCurve.LOGARITHMIC: pb.FADE_CURVE_LOGARITHMIC,
    FadeCurve.EXPONENTIAL: pb.FADE_CURVE_EXPONENTIAL,
    FadeCurve.S_CURVE: pb.FADE_CURVE_S_CURVE,
    FadeCurve.SMART: pb.FADE_CURVE_SMART,
}
_CURVE_FROM_PB: dict[int, FadeCurve] = {value: key for key, value in _CURVE_TO_PB.items()}
_CURVE_FROM_PB[pb.FADE_CURVE_UNSPECIFIED] = FadeCurve.LINEAR


def check_layer(layer: str) -> str:
    """``layer`` if it is one a command may address, else an ``EngineError`` naming them.

    NOTE: the plain name (a ``Layer``'s value), as ``EngineControl`` takes it and
    its messages quote it.
    """
    for known in COMMAND_LAYERS:
        if layer == known:
            return known.value
    raise EngineError(f"unknown layer {layer!r}: use one of {', '.join(COMMAND_LAYERS)}")


def layer_to_pb(layer: str) -> pb.Layer:
    return _LAYER_TO_PB[Layer(check_layer(layer))]


def layer_from_pb(value: int) -> str:
    """The plain name of the contract's layer ``value`` (unspecified: automation)."""
    try:
        return _LAYER_FROM_PB[value].value
    except KeyError:
        raise EngineError(f"unknown layer number {value}") from None


def curve_to_pb(curve: FadeCurve) -> pb.FadeCurve:
    return _CURVE_TO_PB[curve]


def curve_from_pb(value: int) -> FadeCurve:
    try:
        return _CURVE_FROM_PB[value]
    except KeyError:
        raise EngineError(f"unknown fade curve number {value}") from None


# -- items ----------------------------------------------------------------------------


def item_to_pb(request: PlayRequest) -> pb.Item:
    cue = request.cue
    item = pb.Item(
        item_id=request.item_id,
        path=request.path,
        timing=_TIMING_TO_PB[request.timing],
        cue_in_ms=int(cue.cue_in),
        fade_in_ms=request.fade_in_ms,
        fade_out_ms=request.fade_out_ms,
        curve=_CURVE_TO_PB[request.curve],
        gain_db=request.gain_db,
        title=request.title,
        artist=request.artist,
        analyze=request.analyze,
        meta=to_struct(request.meta),
    )
    if request.start_at is not None:
        item.start_at.CopyFrom(to_timestamp(request.start_at))
    if cue.cue_out is not None:
        item.cue_out_ms = int(cue.cue_out)
    if cue.intro_end is not None:
        item.intro_end_ms = int(cue.intro_end)
    if cue.segue is not None:
        item.segue_ms = int(cue.segue)
    return item


def item_from_pb(item: pb.Item) -> PlayRequest:
    """The request in ``item``; bad cue points raise ``EngineError`` saying which."""

    def optional(name: str) -> Millis | None:
        return Millis(getattr(item, name)) if item.HasField(name) else None

    try:
        cue = CuePoints(
            cue_in=Millis(item.cue_in_ms),
            cue_out=optional("cue_out_ms"),
            intro_end=optional("intro_end_ms"),
            segue=optional("segue_ms"),
        )
    except ValueError as exc:
        raise EngineError(f"item {item.item_id!r}: {exc}") from None
    timing = _TIMING_FROM_PB.get(item.timing)
    if timing is None:
        raise EngineError(f"item {item.item_id!r}: unknown timing number {item.timing}")
    return PlayRequest(
        item_id=item.item_id,
        path=item.path,
        start_at=from_timestamp(item.start_at) if item.HasField("start_at") else None,
        timing=timing,
        cue=cue,
        gain_db=item.gain_db,
        fade_in_ms=item.fade_in_ms,
        fade_out_ms=item.fade_out_ms,
        curve=curve_from_pb(item.curve),
        title=item.title,
        artist=item.artist,
        analyze=item.analyze,
        meta=from_struct(item.meta),
    )


# -- errors ---------------------------------------------------------------------------


def check_station(runs: str, asked: str) -> None:
    """Refuse a request meant for another station (a mixed-up address must not play)."""
    if asked != runs:
        raise NotFoundError(f"this engine runs station {runs!r}, not {asked!r}")


def status_name_for(exc: BaseException) -> str:
    """The gRPC status code name an exception travels as (see engine.proto)."""
    if isinstance(exc, NotFoundError):
        return "NOT_FOUND"
    if isinstance(exc, ConflictError):
        return "ALREADY_EXISTS"
    if isinstance(exc, InvalidTransitionError):
        return "FAILED_PRECONDITION"
    if isinstance(exc, EngineError | ValidationError | ValueError):
        return "INVALID_ARGUMENT"
    return "INTERNAL"


def message_for(exc: BaseException) -> str:
    """A readable message for ``exc``; a bug names its type so it can be found in the log."""
    if isinstance(exc, GrimnirError | ValidationError | ValueError):
        return str(exc)
    return f"engine failed: {type(exc).__name__}: {exc}"


def error_from_status(name: str, details: str, address: str) -> GrimnirError:
    """Our error for a gRPC status code name (the inverse of ``status_name_for``)."""
    if name == "NOT_FOUND":
        return NotFoundError(details)
    if name == "ALREADY_EXISTS":
        return ConflictError(details)
    if name == "UNAVAILABLE":
        return EngineError(f"engine at {address} is not reachable: {details}")
    if name == "DEADLINE_EXCEEDED":
        return EngineError(f"engine at {address} did not answer in time: {details}")
    if name in ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "INTERNAL"):
        return EngineError(details)
    return EngineError(f"engine at {address}: {name}: {details}")


def as_domain_error(exc: Exception) -> GrimnirError:
    """What a gRPC client would raise for ``exc`` (the in-process client raises the same)."""
    if isinstance(exc, EngineError | NotFoundError | ConflictError):
        return exc
    return error_from_status(status_name_for(exc), message_for(exc), "in-process")


# -- events ---------------------------------------------------------------------------


def event_to_pb(record: EngineEventRecord) -> pb.Event:
    return pb.Event(
        station_id=record.station_id,
        type=record.type,
        frame=record.frame,
        time=to_timestamp(record.time),
        data=to_struct(record.data),
    )


def event_from_pb(event: pb.Event) -> EngineEventRecord:
    return EngineEventRecord(
        station_id=event.station_id,
        type=event.type,
        frame=event.frame,
        time=from_timestamp(event.time),
        data=from_struct(event.data),
    )


def telemetry_dict(record: EngineEventRecord) -> dict[str, Any]:
    """A telemetry record as ``telemetry()`` yields it: its data plus frame and UTC time."""
    return {**record.data, "frame": record.frame, "time": record.time.isoformat()}
