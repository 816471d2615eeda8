"""``StatusReport``: the engine's status in our types, and the plain dict it travels as."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grimnir.engine.v1.status import (
    AudienceCounts,
    CurrentItem,
    HarborSource,
    HarborStatus,
    MetadataStatus,
    OutputStatus,
    StatusReport,
    StreamAddress,
)
from grimnir.engine.v1.wire import from_struct, to_struct

AT = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)

ENGINE = StatusReport(
    station_id="wgmr",
    pid=4242,
    frame=96_000,
    time=AT,
    on_air="automation",
    current=CurrentItem("e1", "Blue in Green", "Miles Davis", 1_500),
    queue=("e2", "e3"),
    outputs=(OutputStatus("icecast-main", "up"), OutputStatus("null", "connecting")),
    late_blocks=2,
    fallback={"rotation": 3, "playing": None, "failed": 0},
)
"""What a bare ``LocalControl`` reports: no runtime fields."""

STATION = StatusReport(
    station_id="wgmr",
    pid=4242,
    frame=96_000,
    time=AT,
    on_air="live",
    current=None,
    queue=(),
    outputs=(OutputStatus("icecast-main", "up", reconnects=2, error="connection refused"),),
    late_blocks=0,
    fallback={"rotation": 0, "playing": "rotation", "failed": 1},
    uptime_s=12.5,
    stream_server=StreamAddress("127.0.0.1", 8080),
    listeners={"/wgmr.mp3": 3},
    audience={
        "main": AudienceCounts(
            http=3,
            icecast=None,
            hls=2,
            total=5,
            outputs={"/wgmr.mp3": 3, "icecast.example:8000/wgmr.mp3": None},
        )
    },
    harbor=HarborStatus(
        routed="auto",
        mounts={"/live": HarborSource(user="dj", connected_s=42.5, bytes=1_024, title="Set")},
    ),
    live="/live",
    metadata=MetadataStatus("Blue in Green", "Miles Davis"),
)
"""What a station's engine process (``StationRuntime``) reports."""


def test_to_wire_is_the_status_dict_the_engine_always_sent() -> None:
    assert ENGINE.to_wire() == {
        "station_id": "wgmr",
        "pid": 4242,
        "frame": 96_000,
        "time": "2026-03-01T12:00:00.250000+00:00",
        "on_air": "automation",
        "current": {
            "item_id": "e1",
            "title": "Blue in Green",
            "artist": "Miles Davis",
            "position_ms": 1_500,
        },
        "queue": ["e2", "e3"],
        "outputs": [
            {"name": "icecast-main", "state": "up", "reconnects": 0, "error": None},
            {"name": "null", "state": "connecting", "reconnects": 0, "error": None},
        ],
        "late_blocks": 2,
        "fallback": {"rotation": 3, "playing": None, "failed": 0},
    }
    wire = STATION.to_wire()
    assert list(wire) == [
        "station_id",
        "pid",
        "frame",
        "time",
        "on_air",
        "current",
        "queue",
        "outputs",
        "late_blocks",
        "fallback",
        "uptime_s",
        "stream_server",
        "listeners",
        "audience",
        "harbor",
        "live",
        "metadata",
    ]
    assert wire["current"] is None
    assert wire["stream_server"] == {"host": "127.0.0.1", "port": 8080}
    assert wire["audience"] == {
        "main": {
            "http": 3,
            "icecast": None,
            "hls": 2,
            "total": 5,
            "outputs": {"/wgmr.mp3": 3, "icecast.example:8000/wgmr.mp3": None},
        }
    }
    assert wire["harbor"] == {
        "routed": "auto",
        "mounts": {"/live": {"user": "dj", "connected_s": 42.5, "bytes": 1_024, "title": "Set"}},
    }
    assert wire["live"] == "/live"
    assert wire["metadata"] == {"title": "Blue in Green", "artist": "Miles Davis"}


def test_a_station_engine_with_no_live_source_still_reports_live() -> None:
    quiet = StatusReport(harbor=HarborStatus(routed=None), live=None)
    wire = quiet.to_wire()
    assert wire["live"] is None
    assert wire["harbor"] == {"routed": None, "mounts": {}}


def test_reports_round_trip_through_plain_data() -> None:
    for report in (ENGINE, STATION, StatusReport()):
        assert StatusReport.from_wire(report.to_wire()) == report


def test_reports_round_trip_through_a_protobuf_struct() -> None:
    for report in (ENGINE, STATION):
        struct = to_struct(report.to_wire())
        assert StatusReport.from_wire(from_struct(struct)) == report


def test_numbers_that_arrive_as_floats_become_ints_again() -> None:
    wire = STATION.to_wire()
    floated: dict[str, Any] = {
        **wire,
        "pid": 4242.0,
        "frame": 96_000.0,
        "late_blocks": 0.0,
        "current": {"item_id": "e1", "title": "", "artist": "", "position_ms": 1_500.0},
        "stream_server": {"host": "127.0.0.1", "port": 8080.0},
        "listeners": {"/wgmr.mp3": 3.0},
        "audience": {
            "main": {"http": 3.0, "icecast": 7.0, "hls": 2.0, "total": 12.0, "outputs": {"/a": 3.0}}
        },
        "harbor": {"routed": None, "mounts": {"/live": {"user": "dj", "bytes": 1_024.0}}},
        "uptime_s": 12,
    }
    report = StatusReport.from_wire(floated)
    assert report.pid == 4242
    assert isinstance(report.pid, int)
    assert report.frame == 96_000
    assert isinstance(report.frame, int)
    assert isinstance(report.late_blocks, int)
    assert report.current is not None
    assert isinstance(report.current.position_ms, int)
    assert report.stream_server == StreamAddress("127.0.0.1", 8080)
    assert isinstance(report.stream_server.port, int)
    assert report.listeners == {"/wgmr.mp3": 3}
    assert all(isinstance(n, int) for n in report.listeners.values())
    assert report.audience == {
        "main": AudienceCounts(http=3, icecast=7, hls=2, total=12, outputs={"/a": 3})
    }
    counts = report.audience["main"]
    assert all(isinstance(n, int) for n in (counts.http, counts.icecast, counts.hls, counts.total))
    assert report.harbor is not None
    assert isinstance(report.harbor.mounts["/live"].bytes, int)
    assert report.uptime_s == 12.0
    assert isinstance(report.uptime_s, float)


def test_missing_keys_take_defaults() -> None:
    report = StatusReport.from_wire({})
    assert report == StatusReport()
    assert report.station_id is None
    assert report.pid is None
    assert report.frame == 0
    assert report.time is None
    assert report.current is None
    assert report.queue == ()
    assert report.outputs == ()
    assert report.fallback == {}
    assert report.harbor is None
    assert report.audience is None
    assert report.listeners is None
    assert report.uptime_s is None
    assert report.stream_server is None
    assert report.metadata is None
    # the engine part only, as a bare ``LocalControl`` reports it
    partial = StatusReport.from_wire({"frame": 480, "on_air": "automation", "current": {}})
    assert partial.frame == 480
    assert partial.on_air == "automation"
    assert partial.current is None  # an item without an id is no item
    assert set(partial.to_wire()) == set(ENGINE.to_wire())  # no runtime keys appear


def test_unknown_keys_and_wrong_types_are_ignored() -> None:
    wire: dict[str, Any] = {
        **ENGINE.to_wire(),
        "from_the_future": {"a": 1},
        "current": {**ENGINE.to_wire()["current"], "duration_ms": 9_000},
    }
    assert StatusReport.from_wire(wire) == ENGINE
    odd = StatusReport.from_wire(
        {
            "pid": "4242",
            "frame": True,
            "time": "not a time",
            "queue": "e1",
            "outputs": [{"name": "a", "state": "up"}, "junk"],
            "stream_server": {"host": "h"},
            "audience": {"main": "junk"},
            "harbor": ["junk"],
        }
    )
    assert odd.pid is None
    assert odd.frame == 0
    assert odd.time is None
    assert odd.queue == ()
    assert odd.outputs == (OutputStatus("a", "up"),)
    assert odd.stream_server is None
    assert odd.audience == {}
    assert odd.harbor is None
