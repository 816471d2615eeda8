"""One contract for every ``EngineClient``: the gRPC client and the in-process client.

Each test runs against a real engine on a realtime clock playing real media
files, once through ``InProcessEngineClient`` and twice through
``GrpcEngineClient`` talking to ``serve()``: on a free loopback port, and on a
unix socket file (how ``grimnir up`` controls its engines). All must behave
the same, errors included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from grimnir.domain.errors import EngineError, NotFoundError
from grimnir.domain.fades import FadeCurve
from grimnir.engine.client import (
    SUBSCRIBED,
    TRACEPARENT,
    EngineClient,
    EngineEventRecord,
    GrpcEngineClient,
    InProcessEngineClient,
    PlayRequest,
    StatusReport,
)
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.control import LocalControl, analyze_file, waveform
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.grpc import serve_with_port
from grimnir.engine.grpc._streams import Mailbox

MakeMedia = Callable[..., Path]
STATION = "wgmr"
WAIT_S = 10.0
"""Functional limit for anything the engine does within a second or two."""


@dataclass
class Rig:
    client: EngineClient
    control: LocalControl
    engine: Engine
    address: str | None
    make_media: MakeMedia

    def tone(self, name: str, seconds: float) -> str:
        return str(self.make_media(name, seconds=seconds))

    def other_client(self, station_id: str) -> EngineClient:
        if self.address is None:
            return InProcessEngineClient(self.control, station_id)
        return GrpcEngineClient(self.address, station_id, timeout_s=WAIT_S)


@pytest.fixture(params=["in-process", "grpc", "grpc-unix"])
async def rig(
    request: pytest.FixtureRequest, make_media: MakeMedia, tmp_path: Path
) -> AsyncIterator[Rig]:
    engine = Engine(RealtimeClock(burst=5), EngineOptions(realtime=True, process_blocks=5))
    control = LocalControl(engine, STATION)
    runner = threading.Thread(target=engine.run, name="engine", daemon=True)
    runner.start()
    server = None
    address = None
    client: EngineClient
    try:
        if request.param == "grpc":
            server, port = serve_with_port(control, "127.0.0.1:0")
            address = f"127.0.0.1:{port}"
            client = GrpcEngineClient(address, STATION, timeout_s=WAIT_S)
        elif request.param == "grpc-unix":
            address = f"unix:{tmp_path / 'engine.sock'}"
            server, _ = serve_with_port(control, address)
            client = GrpcEngineClient(address, STATION, timeout_s=WAIT_S)
        else:
            client = InProcessEngineClient(control, STATION)
        yield Rig(client, control, engine, address, make_media)
        await client.close()
    finally:
        if server is not None:
            server.stop(0).wait(5)
        engine.clock.stop()
        runner.join(5)
        engine.close()


async def _until(
    stream: AsyncIterator[EngineEventRecord],
    done: Callable[[list[EngineEventRecord]], bool],
    seen: list[EngineEventRecord] | None = None,
) -> list[EngineEventRecord]:
    """Collect records from ``stream`` (telemetry left out) until ``done(records)``."""
    records = [] if seen is None else seen
    async with asyncio.timeout(WAIT_S):
        while not done(records):
            record = await anext(stream)
            if record.type != "telemetry":
                records.append(record)
    return records


def _started(records: list[EngineEventRecord]) -> list[str]:
    return [r.data["item_id"] for r in records if r.type == "item.started"]


def _ended(records: list[EngineEventRecord]) -> dict[str, str]:
    return {r.data["item_id"]: r.data["reason"] for r in records if r.type == "item.ended"}


async def _subscribed(client: EngineClient) -> AsyncGenerator[EngineEventRecord, None]:
    stream = client.events()
    first = await anext(stream)
    assert first.type == SUBSCRIBED
    assert first.station_id == STATION
    return stream


async def _poll_status(client: EngineClient, ok: Callable[[StatusReport], bool]) -> StatusReport:
    async with asyncio.timeout(WAIT_S):
        while True:
            status = await client.status()
            if ok(status):
                return status
            await asyncio.sleep(0.05)


async def test_items_start_in_order_back_to_back(rig: Rig) -> None:
    stream = await _subscribed(rig.client)
    async with contextlib.aclosing(stream):
        await rig.client.play(PlayRequest("a", rig.tone("a", 0.6), title="A", artist="X"))
        await rig.client.play(PlayRequest("b", rig.tone("b", 0.6), meta={"slot": 7}))
        records = await _until(stream, lambda rs: len(_started(rs)) == 2 and "b" in _ended(rs))
    assert _started(records) == ["a", "b"]
    assert _ended(records) == {"a": "finished", "b": "finished"}
    started = {r.data["item_id"]: r for r in records if r.type == "item.started"}
    ended_a = next(r for r in records if r.type == "item.ended" and r.data["item_id"] == "a")
    assert started["a"].data["title"] == "A"
    assert started["a"].data["artist"] == "X"
    assert started["b"].data["slot"] == 7  # meta travels into the event
    assert started["a"].frame < started["b"].frame <= ended_a.frame
    # frame and UTC time describe the same instant
    span = started["b"].time - started["a"].time
    assert abs(span - timedelta(seconds=(started["b"].frame - started["a"].frame) / 48000)) < (
        timedelta(milliseconds=1)
    )


async def test_status_shows_current_item_and_queue(rig: Rig) -> None:
    await rig.client.play(PlayRequest("long", rig.tone("long", 6.0), title="Long"))
    await rig.client.play(PlayRequest("next", rig.tone("next", 1.0)))
    # NOTE: each play is applied at the start of a block: on a busy machine a block may
    # fall between the two, so wait for both
    status = await _poll_status(rig.client, lambda s: s.current is not None and bool(s.queue))
    assert status.station_id == STATION
    assert status.current is not None
    assert status.current.item_id == "long"
    assert status.current.title == "Long"
    assert status.queue == ("next",)
    assert status.on_air == "automation"
    assert status.frame > 0
    assert status.outputs == ()


async def test_skip_fade_and_stop_change_what_plays(rig: Rig) -> None:
    stream = await _subscribed(rig.client)
    async with contextlib.aclosing(stream):
        for name in ("a", "b", "c", "d"):
            await rig.client.play(PlayRequest(name, rig.tone(name, 8.0)))
        seen = await _until(stream, lambda rs: "a" in _started(rs))
        await rig.client.skip()
        await _until(stream, lambda rs: "b" in _started(rs) and "a" in _ended(rs), seen)
        await rig.client.fade(duration_ms=300, curve=FadeCurve.S_CURVE)
        await _until(stream, lambda rs: "c" in _started(rs) and "b" in _ended(rs), seen)
        await rig.client.stop(fade_ms=50, clear_queue=True)
        await _until(stream, lambda rs: "c" in _ended(rs), seen)
    ended = _ended(seen)
    assert ended["a"] == "skipped"
    assert ended["b"] == "skipped"
    assert ended["c"] == "skipped"
    fade_b = next(r for r in seen if r.type == "item.ended" and r.data["item_id"] == "b")
    start_c = next(r for r in seen if r.type == "item.started" and r.data["item_id"] == "c")
    assert fade_b.frame - start_c.frame == 300 * 48  # c starts as b fades out over 300 ms
    status = await _poll_status(rig.client, lambda s: s.current is None)
    assert status.queue == ()  # d was dropped with the queue
    assert "d" not in _started(seen)


async def test_unqueue_drops_queued_items_and_never_the_one_on_air(rig: Rig) -> None:
    stream = await _subscribed(rig.client)
    async with contextlib.aclosing(stream):
        for name in ("a", "b", "c"):
            await rig.client.play(PlayRequest(name, rig.tone(name, 1.0)))
        seen = await _until(stream, lambda rs: "a" in _started(rs))
        await rig.client.unqueue(["a", "b", "not-queued"])
        await _until(stream, lambda rs: "c" in _started(rs) and "a" in _ended(rs), seen)
    assert "b" not in _started(seen)  # dropped from the queue
    assert _ended(seen)["a"] == "finished"  # on air: played out whole
    a_end = next(r for r in seen if r.type == "item.ended" and r.data["item_id"] == "a")
    c_start = next(r for r in seen if r.type == "item.started" and r.data["item_id"] == "c")
    assert c_start.frame == a_end.frame


async def test_emergency_preempts_automation(rig: Rig) -> None:
    await rig.client.play(PlayRequest("music", rig.tone("music", 8.0)))
    stream = await _subscribed(rig.client)
    async with contextlib.aclosing(stream):
        await _poll_status(rig.client, lambda s: s.on_air == "automation")
        await rig.client.insert_emergency(PlayRequest("eas", rig.tone("eas", 0.8)))
        seen = await _until(
            stream,
            lambda rs: any(r.type == "layer.changed" and r.data["from"] == "emergency" for r in rs),
        )
    changes = [(r.data["from"], r.data["to"]) for r in seen if r.type == "layer.changed"]
    # (the first change may be automation going on air as the music starts)
    assert changes[-2:] == [("automation", "emergency"), ("emergency", "automation")]
    eas = next(r for r in seen if r.type == "item.started" and r.data["item_id"] == "eas")
    assert eas.data["layer"] == "emergency"


async def test_the_fallback_rotation_airs_when_nothing_is_queued(rig: Rig) -> None:
    """SetFallback: the rotation loops while the programme has nothing; a queued item
    takes the air back, and when it ends the rotation comes back on that frame."""
    stream = await _subscribed(rig.client)
    async with contextlib.aclosing(stream):
        await rig.client.set_fallback(
            [
                PlayRequest(
                    "bed-1", rig.tone("bed1", 0.4), title="Bed", artist="House", meta={"m": 1}
                ),
                PlayRequest("bed-2", rig.tone("bed2", 0.4), title="Bed 2"),
            ]
        )
        seen = await _until(stream, lambda rs: len(_started(rs)) >= 3)
        await rig.client.play(PlayRequest("song", rig.tone("song", 0.5), title="Song"))

        def back_on_fallback(records: list[EngineEventRecord]) -> bool:
            changes = [r.data["to"] for r in records if r.type == "layer.changed"]
            return changes[-2:] == ["automation", "fallback"]

        await _until(stream, back_on_fallback, seen)
    assert _started(seen)[:3] == ["bed-1", "bed-2", "bed-1"]
    first = next(r for r in seen if r.type == "item.started")
    assert first.data["layer"] == "fallback"
    assert (first.data["title"], first.data["artist"], first.data["m"]) == ("Bed", "House", 1)
    assert first.data["fallback"] == "rotation"
    song_end = next(r for r in seen if r.type == "item.ended" and r.data["item_id"] == "song")
    back = [r for r in seen if r.type == "layer.changed"][-1]
    assert back.frame == song_end.frame  # on air again on the frame the song ended
    status = await rig.client.status()
    assert status.fallback["rotation"] == 2
    await rig.client.set_fallback([])
    await _poll_status(rig.client, lambda s: s.fallback["rotation"] == 0)


async def test_a_fallback_item_with_a_start_time_is_refused(rig: Rig) -> None:
    timed = PlayRequest("bed", rig.tone("bed", 0.4), start_at=datetime.now(UTC))
    with pytest.raises(EngineError, match="fallback items play in rotation order"):
        await rig.client.set_fallback([timed])
    other = rig.other_client("kxyz")
    try:
        with pytest.raises(NotFoundError, match="runs station 'wgmr'"):
            await other.set_fallback([PlayRequest("bed", rig.tone("bed", 0.4))])
    finally:
        await other.close()
    assert (await rig.client.status()).fallback["rotation"] == 0


async def test_bad_graph_is_refused_and_the_old_graph_keeps_running(rig: Rig) -> None:
    await rig.client.load_graph({"nodes": [{"type": "level_meter"}]})
    telemetry = rig.client.telemetry()
    async with contextlib.aclosing(telemetry), asyncio.timeout(WAIT_S):
        record = await anext(telemetry)
        while "lufs_momentary" not in record:  # the meter is in from the next second
            record = await anext(telemetry)
        with pytest.raises(EngineError) as refused:
            await rig.client.load_graph(
                {"nodes": [{"type": "compressor", "ratio": 0.5}, {"type": "limitr"}]}
            )
        after = await anext(telemetry)
    message = str(refused.value)
    assert "dsp_graph.nodes[0].ratio: must be ≥ 1 (got 0.5)" in message
    assert "did you mean 'limiter'" in message
    assert "lufs_momentary" in after  # the level meter of the old graph still runs


async def test_wrong_station_is_not_found(rig: Rig) -> None:
    other = rig.other_client("kxyz")
    try:
        with pytest.raises(NotFoundError, match="this engine runs station 'wgmr', not 'kxyz'"):
            await other.status()
        with pytest.raises(NotFoundError, match="runs station 'wgmr'"):
            await other.play(PlayRequest("x", rig.tone("x", 0.5)))
        with pytest.raises(NotFoundError, match="runs station 'wgmr'"):
            await anext(other.events())
    finally:
        await other.close()
    assert (await rig.client.status()).queue == ()


async def test_missing_file_is_not_found(rig: Rig, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.mp3")
    with pytest.raises(NotFoundError, match="media file not found"):
        await rig.client.play(PlayRequest("gone", missing))
    with pytest.raises(NotFoundError, match="media file not found"):
        await rig.client.insert_emergency(PlayRequest("gone", missing))
    with pytest.raises(NotFoundError, match="media file not found"):
        await rig.client.analyze_media(missing)
    with pytest.raises(NotFoundError, match="no harbor mount"):
        await rig.client.route_live("/live")
    with pytest.raises(NotFoundError, match="no live source"):
        await rig.client.kick_live("/live")
    with pytest.raises(EngineError, match="unknown layer"):
        await rig.client.skip("nowhere")


async def test_analysis_and_waveform_match_the_local_helpers(rig: Rig) -> None:
    path = str(
        rig.make_media("talk", seconds=3.0, silence_head_s=0.5, silence_tail_s=0.5, level_db=-20)
    )
    analysis = await rig.client.analyze_media(path, target_lufs=-18.0)
    local = analyze_file(path, -18.0)
    assert analysis.integrated_lufs == pytest.approx(local.integrated_lufs, abs=1e-9)
    assert analysis.gain_db == pytest.approx(local.gain_db, abs=1e-9)
    assert (analysis.cue_in_ms, analysis.cue_out_ms, analysis.duration_ms) == (
        local.cue_in_ms,
        local.cue_out_ms,
        local.duration_ms,
    )
    assert 450 <= analysis.cue_in_ms <= 500  # the head silence is found
    peaks = await rig.client.generate_waveform(path, 64)
    assert len(peaks) == 64
    assert peaks == waveform(path, 64)
    with pytest.raises(EngineError, match="between 1 and 100000"):
        await rig.client.generate_waveform(path, 0)


async def test_telemetry_streams_every_second(rig: Rig) -> None:
    records: list[dict[str, Any]] = []
    telemetry = rig.client.telemetry()
    async with contextlib.aclosing(telemetry), asyncio.timeout(5.0):
        while len(records) < 2:
            records.append(await anext(telemetry))
    assert records[1]["frame"] - records[0]["frame"] == 48000
    assert {"peak_db", "rms_db", "late_blocks", "cpu_percent", "time"} <= set(records[0])


async def test_cancelling_a_stream_unsubscribes(rig: Rig) -> None:
    callbacks = rig.control._callbacks
    assert callbacks == []
    got_first = asyncio.Event()

    async def consume(stream: AsyncIterator[Any]) -> None:
        async for _ in stream:
            got_first.set()

    for stream in (rig.client.events(include_telemetry=True), rig.client.telemetry()):
        task = asyncio.create_task(consume(stream))
        async with asyncio.timeout(WAIT_S):
            await got_first.wait()
        assert len(callbacks) == 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with asyncio.timeout(WAIT_S):
            while callbacks:
                await asyncio.sleep(0.05)
        got_first.clear()


async def test_traceparent_reaches_the_server_log(
    make_media: MakeMedia, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(RealtimeClock(burst=5), EngineOptions(realtime=True, process_blocks=5))
    control = LocalControl(engine, STATION)
    server, port = serve_with_port(control, "127.0.0.1:0")
    client = GrpcEngineClient(f"127.0.0.1:{port}", STATION)
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    token = TRACEPARENT.set(trace)
    try:
        with caplog.at_level(logging.DEBUG, logger="grimnir.engine.grpc"):
            await client.set_metadata("Song", "Artist", {"album": "LP"})
    finally:
        TRACEPARENT.reset(token)
        await client.close()
        server.stop(0).wait(5)
        engine.close()
    assert any(trace in r.getMessage() and "SetMetadata" in r.getMessage() for r in caplog.records)
    assert control.metadata.stream_title == "Artist - Song"
    assert control.metadata.extra == {"album": "LP"}


def test_a_full_stream_mailbox_drops_the_oldest_and_never_blocks() -> None:
    mailbox = Mailbox(capacity=100)
    for frame in range(250):  # the engine thread putting while nobody reads
        mailbox.put(EngineEvent("item.started", frame))
    assert mailbox.dropped == 150
    assert mailbox.get(0.01) == EngineEvent("item.started", 150)
    mailbox.close()
    mailbox.put(EngineEvent("item.started", 999))  # after close: ignored
    drained = [mailbox.get(0.01) for _ in range(100)]
    assert drained[-1] is None
    assert drained[-2] == EngineEvent("item.started", 249)
