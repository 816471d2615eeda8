"""How a station on air opens each kind of configured output: one opener per kind.

``OPENERS`` maps an output's config type (``grimnir.config.IcecastOutput``,
…) to the function that opens it on the runtime's engine and server. Each
kind registers itself here, with ``@opens(ConfigType)`` on its opener, and
``open_output`` looks the kind up: a new output kind is one function in this
module (a test checks that every kind the station config accepts has one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from grimnir import config
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.encoders import CONTENT_TYPES
from grimnir.engine.engine import OutputBinding
from grimnir.engine.outputs import (
    HlsOutput,
    IcecastOutput,
    NullOutput,
    Output,
    RecordingOutput,
    StreamInfo,
)
from grimnir.engine.server import ListenerMount

if TYPE_CHECKING:
    from grimnir.engine.runtime import StationRuntime

log = logging.getLogger("grimnir.engine.runtime")

Kind = TypeVar("Kind")
Opener = Callable[["StationRuntime", str, Kind, StreamInfo], None]
"""(runtime, mount id, the output's config, the station's stream info) → opened."""

HLS_ACTIVE_MIN_S = 10.0
"""An HLS client quiet this long (or three segment durations, if longer) has gone."""

OPENERS: dict[type[Any], Opener[Any]] = {}
"""The opener of each output config type."""


def opens(kind: type[Kind]) -> Callable[[Opener[Kind]], Opener[Kind]]:
    """Register the decorated function as the opener of outputs configured as ``kind``."""

    def register(opener: Opener[Kind]) -> Opener[Kind]:
        if kind in OPENERS:
            raise EngineError(f"two openers for {kind.__name__} outputs")
        OPENERS[kind] = opener
        return opener

    return register


def open_output(runtime: StationRuntime, mount_id: str, out: object, info: StreamInfo) -> None:
    """Open the output ``out`` (one of a mount's configured outputs) on ``runtime``."""
    for kind in type(out).__mro__:
        opener = OPENERS.get(kind)
        if opener is not None:
            opener(runtime, mount_id, out, info)
            return
    raise EngineError(f"mount {mount_id}: no output opens a {type(out).__name__}")


@opens(config.IcecastOutput)
def _icecast(
    runtime: StationRuntime, mount_id: str, out: config.IcecastOutput, info: StreamInfo
) -> None:
    fmt = out.format
    stream_info = StreamInfo(
        name=out.name or info.name,
        description=out.description or info.description,
        genre=out.genre or info.genre,
        url=str(out.website_url or info.url),
        public=out.public,
        bitrate_kbps=out.bitrate_kbps,
    )

    def make_icecast(header: bytes) -> Output:
        return IcecastOutput(
            out.url,
            content_type=CONTENT_TYPES[AudioFormat(fmt)],
            info=stream_info,
            stream_header=header,
            legacy_source=out.legacy_source,
        )

    made = runtime.engine.attach(fmt, out.bitrate_kbps, make_icecast)
    if isinstance(made, IcecastOutput):
        runtime.audience_of(mount_id).icecast.append(made)


@opens(config.HttpOutput)
def _listener_mount(
    runtime: StationRuntime, mount_id: str, out: config.HttpOutput, info: StreamInfo
) -> None:
    fmt = out.format
    stream_info = StreamInfo(
        name=info.name,
        description=info.description,
        genre=info.genre,
        url=info.url,
        bitrate_kbps=out.bitrate_kbps,
    )

    def make_mount(header: bytes) -> Output:
        return runtime.server.add_mount(
            out.path,
            content_type=CONTENT_TYPES[AudioFormat(fmt)],
            stream_header=header,
            burst_bytes=out.burst_kb * 1024,
            info=stream_info,
        )

    made = runtime.engine.attach(fmt, out.bitrate_kbps, make_mount)
    if isinstance(made, ListenerMount):
        runtime.audience_of(mount_id).http.append(made)


@opens(config.HlsOutput)
def _hls(runtime: StationRuntime, mount_id: str, out: config.HlsOutput, info: StreamInfo) -> None:
    directory = Path(out.path)
    hls = HlsOutput(
        directory,
        segment_duration_s=out.segment_duration_sec,
        window_segments=out.window_segments,
        clock=runtime.engine.clock,
        name=f"hls {mount_id}",
    )
    runtime.engine.add_output(OutputBinding(hls, "aac", out.bitrate_kbps))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the HLS output reports it (DOWN) and keeps trying
        log.warning("HLS folder %s cannot be created: %s", directory, exc)
    else:
        # NOTE: a player reloads the playlist at least once per target duration
        # (RFC 8216 §6.3.4): one quiet for three of them has gone
        active_s = max(HLS_ACTIVE_MIN_S, 3.0 * out.segment_duration_sec)
        static = runtime.server.add_static(f"/hls/{mount_id}", directory, active_s=active_s)
        runtime.audience_of(mount_id).hls.append(static)


@opens(config.RecordingOutput)
def _recording(
    runtime: StationRuntime, mount_id: str, out: config.RecordingOutput, info: StreamInfo
) -> None:
    engine = runtime.engine
    recording = RecordingOutput(
        Path(out.path),
        fmt=AudioFormat(out.format),
        bitrate_kbps=out.bitrate_kbps,
        rotate_minutes=out.rotate_minutes,
        retention_days=out.rotation_days,
        clock=engine.clock,
        station=runtime.config.station.resolved_short_name,
        mp3_quality=runtime.options.mp3_quality,
    )
    engine.add_pcm_sink(recording)
    engine.subscribe(recording.on_event)
    runtime.recordings.append(recording)


@opens(config.FileOutput)
def _file(runtime: StationRuntime, mount_id: str, out: config.FileOutput, info: StreamInfo) -> None:
    runtime.engine.add_file_output(
        Path(out.path),
        AudioFormat(out.format),
        out.bitrate_kbps,
        synchronous=False,
    )


@opens(config.NullOutput)
def _null(runtime: StationRuntime, mount_id: str, out: config.NullOutput, info: StreamInfo) -> None:
    runtime.engine.add_output(OutputBinding(NullOutput(), out.format, out.bitrate_kbps))
