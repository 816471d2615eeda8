import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Layer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LAYER_UNSPECIFIED: _ClassVar[Layer]
    LAYER_AUTOMATION: _ClassVar[Layer]
    LAYER_EMERGENCY: _ClassVar[Layer]
    LAYER_LIVE: _ClassVar[Layer]

class Timing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMING_UNSPECIFIED: _ClassVar[Timing]
    TIMING_SOFT: _ClassVar[Timing]
    TIMING_HARD: _ClassVar[Timing]

class FadeCurve(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FADE_CURVE_UNSPECIFIED: _ClassVar[FadeCurve]
    FADE_CURVE_LINEAR: _ClassVar[FadeCurve]
    FADE_CURVE_LOGARITHMIC: _ClassVar[FadeCurve]
    FADE_CURVE_EXPONENTIAL: _ClassVar[FadeCurve]
    FADE_CURVE_S_CURVE: _ClassVar[FadeCurve]
    FADE_CURVE_SMART: _ClassVar[FadeCurve]
LAYER_UNSPECIFIED: Layer
LAYER_AUTOMATION: Layer
LAYER_EMERGENCY: Layer
LAYER_LIVE: Layer
TIMING_UNSPECIFIED: Timing
TIMING_SOFT: Timing
TIMING_HARD: Timing
FADE_CURVE_UNSPECIFIED: FadeCurve
FADE_CURVE_LINEAR: FadeCurve
FADE_CURVE_LOGARITHMIC: FadeCurve
FADE_CURVE_EXPONENTIAL: FadeCurve
FADE_CURVE_S_CURVE: FadeCurve
FADE_CURVE_SMART: FadeCurve

class Item(_message.Message):
    __slots__ = ("item_id", "path", "start_at", "timing", "cue_in_ms", "cue_out_ms", "intro_end_ms", "segue_ms", "fade_in_ms", "fade_out_ms", "curve", "gain_db", "title", "artist", "analyze", "meta")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    CUE_IN_MS_FIELD_NUMBER: _ClassVar[int]
    CUE_OUT_MS_FIELD_NUMBER: _ClassVar[int]
    INTRO_END_MS_FIELD_NUMBER: _ClassVar[int]
    SEGUE_MS_FIELD_NUMBER: _ClassVar[int]
    FADE_IN_MS_FIELD_NUMBER: _ClassVar[int]
    FADE_OUT_MS_FIELD_NUMBER: _ClassVar[int]
    CURVE_FIELD_NUMBER: _ClassVar[int]
    GAIN_DB_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_FIELD_NUMBER: _ClassVar[int]
    ANALYZE_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    path: str
    start_at: _timestamp_pb2.Timestamp
    timing: Timing
    cue_in_ms: int
    cue_out_ms: int
    intro_end_ms: int
    segue_ms: int
    fade_in_ms: int
    fade_out_ms: int
    curve: FadeCurve
    gain_db: float
    title: str
    artist: str
    analyze: bool
    meta: _struct_pb2.Struct
    def __init__(self, item_id: _Optional[str] = ..., path: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., timing: _Optional[_Union[Timing, str]] = ..., cue_in_ms: _Optional[int] = ..., cue_out_ms: _Optional[int] = ..., intro_end_ms: _Optional[int] = ..., segue_ms: _Optional[int] = ..., fade_in_ms: _Optional[int] = ..., fade_out_ms: _Optional[int] = ..., curve: _Optional[_Union[FadeCurve, str]] = ..., gain_db: _Optional[float] = ..., title: _Optional[str] = ..., artist: _Optional[str] = ..., analyze: _Optional[bool] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class LoadGraphRequest(_message.Message):
    __slots__ = ("station_id", "graph_json")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    GRAPH_JSON_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    graph_json: str
    def __init__(self, station_id: _Optional[str] = ..., graph_json: _Optional[str] = ...) -> None: ...

class LoadGraphResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlayRequest(_message.Message):
    __slots__ = ("station_id", "item", "layer")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    item: Item
    layer: Layer
    def __init__(self, station_id: _Optional[str] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., layer: _Optional[_Union[Layer, str]] = ...) -> None: ...

class PlayResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ("station_id", "layer", "fade_ms", "clear_queue")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    FADE_MS_FIELD_NUMBER: _ClassVar[int]
    CLEAR_QUEUE_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    layer: Layer
    fade_ms: int
    clear_queue: bool
    def __init__(self, station_id: _Optional[str] = ..., layer: _Optional[_Union[Layer, str]] = ..., fade_ms: _Optional[int] = ..., clear_queue: _Optional[bool] = ...) -> None: ...

class StopResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FadeRequest(_message.Message):
    __slots__ = ("station_id", "layer", "duration_ms", "curve")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    CURVE_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    layer: Layer
    duration_ms: int
    curve: FadeCurve
    def __init__(self, station_id: _Optional[str] = ..., layer: _Optional[_Union[Layer, str]] = ..., duration_ms: _Optional[int] = ..., curve: _Optional[_Union[FadeCurve, str]] = ...) -> None: ...

class FadeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SkipRequest(_message.Message):
    __slots__ = ("station_id", "layer", "fade_ms")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    FADE_MS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    layer: Layer
    fade_ms: int
    def __init__(self, station_id: _Optional[str] = ..., layer: _Optional[_Union[Layer, str]] = ..., fade_ms: _Optional[int] = ...) -> None: ...

class SkipResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InsertEmergencyRequest(_message.Message):
    __slots__ = ("station_id", "item")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    item: Item
    def __init__(self, station_id: _Optional[str] = ..., item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class InsertEmergencyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RouteLiveRequest(_message.Message):
    __slots__ = ("station_id", "mount")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    MOUNT_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    mount: str
    def __init__(self, station_id: _Optional[str] = ..., mount: _Optional[str] = ...) -> None: ...

class RouteLiveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KickLiveRequest(_message.Message):
    __slots__ = ("station_id", "mount")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    MOUNT_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    mount: str
    def __init__(self, station_id: _Optional[str] = ..., mount: _Optional[str] = ...) -> None: ...

class KickLiveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetMetadataRequest(_message.Message):
    __slots__ = ("station_id", "title", "artist", "extra")
    class ExtraEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    title: str
    artist: str
    extra: _containers.ScalarMap[str, str]
    def __init__(self, station_id: _Optional[str] = ..., title: _Optional[str] = ..., artist: _Optional[str] = ..., extra: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetMetadataResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetFallbackRequest(_message.Message):
    __slots__ = ("station_id", "items")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    items: _containers.RepeatedCompositeFieldContainer[Item]
    def __init__(self, station_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ...) -> None: ...

class SetFallbackResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnqueueRequest(_message.Message):
    __slots__ = ("station_id", "layer", "item_ids")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    layer: Layer
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, station_id: _Optional[str] = ..., layer: _Optional[_Union[Layer, str]] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UnqueueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamTelemetryRequest(_message.Message):
    __slots__ = ("station_id",)
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    def __init__(self, station_id: _Optional[str] = ...) -> None: ...

class TelemetryRecord(_message.Message):
    __slots__ = ("station_id", "frame", "time", "data")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    frame: int
    time: _timestamp_pb2.Timestamp
    data: _struct_pb2.Struct
    def __init__(self, station_id: _Optional[str] = ..., frame: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("station_id", "include_telemetry", "since_frame")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    SINCE_FRAME_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    include_telemetry: bool
    since_frame: int
    def __init__(self, station_id: _Optional[str] = ..., include_telemetry: _Optional[bool] = ..., since_frame: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("station_id", "type", "frame", "time", "data")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    type: str
    frame: int
    time: _timestamp_pb2.Timestamp
    data: _struct_pb2.Struct
    def __init__(self, station_id: _Optional[str] = ..., type: _Optional[str] = ..., frame: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("station_id",)
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    def __init__(self, station_id: _Optional[str] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("station_id", "frame", "time", "on_air", "current_item_id", "queue", "late_blocks", "status")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ON_AIR_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    LATE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    frame: int
    time: _timestamp_pb2.Timestamp
    on_air: str
    current_item_id: str
    queue: _containers.RepeatedScalarFieldContainer[str]
    late_blocks: int
    status: _struct_pb2.Struct
    def __init__(self, station_id: _Optional[str] = ..., frame: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., on_air: _Optional[str] = ..., current_item_id: _Optional[str] = ..., queue: _Optional[_Iterable[str]] = ..., late_blocks: _Optional[int] = ..., status: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AnalyzeMediaRequest(_message.Message):
    __slots__ = ("station_id", "path", "target_lufs")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_LUFS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    path: str
    target_lufs: float
    def __init__(self, station_id: _Optional[str] = ..., path: _Optional[str] = ..., target_lufs: _Optional[float] = ...) -> None: ...

class AnalyzeMediaResponse(_message.Message):
    __slots__ = ("integrated_lufs", "gain_db", "cue_in_ms", "cue_out_ms", "duration_ms")
    INTEGRATED_LUFS_FIELD_NUMBER: _ClassVar[int]
    GAIN_DB_FIELD_NUMBER: _ClassVar[int]
    CUE_IN_MS_FIELD_NUMBER: _ClassVar[int]
    CUE_OUT_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    integrated_lufs: float
    gain_db: float
    cue_in_ms: int
    cue_out_ms: int
    duration_ms: int
    def __init__(self, integrated_lufs: _Optional[float] = ..., gain_db: _Optional[float] = ..., cue_in_ms: _Optional[int] = ..., cue_out_ms: _Optional[int] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class GenerateWaveformRequest(_message.Message):
    __slots__ = ("station_id", "path", "points")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    path: str
    points: int
    def __init__(self, station_id: _Optional[str] = ..., path: _Optional[str] = ..., points: _Optional[int] = ...) -> None: ...

class GenerateWaveformResponse(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: _containers.RepeatedScalarFieldContainer[float]
    max: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, min: _Optional[_Iterable[float]] = ..., max: _Optional[_Iterable[float]] = ...) -> None: ...
