"""``InProcessEngineClient``: the engine client for an engine in the same process.

No network: blocking control calls run in a worker thread
(``asyncio.to_thread``) so the event loop never waits on the engine, and
events cross from the engine thread with ``call_soon_threadsafe`` into a
bounded queue that drops its oldest entry when the consumer falls behind —
the engine thread never blocks on a slow consumer. It behaves like
``GrpcEngineClient`` down to the errors (the contract suite runs both).

``drained()`` waits until the consumers of its event streams have finished
with every event handed over so far: with a ``VirtualClock`` stepped on the
event loop's thread, that is every event the engine has raised (lock-step
runs: ``StationExecutor.settle``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from grimnir.domain.fades import FadeCurve
from grimnir.engine.v1.status import StatusReport
from grimnir.engine.v1.timebase import Timebase
from grimnir.engine.v1.types import SUBSCRIBED, EngineEventRecord, MediaAnalysis, PlayRequest
from grimnir.engine.v1.wire import (
    as_domain_error,
    check_layer,
    check_station,
    plain,
    telemetry_dict,
)

if TYPE_CHECKING:
    from grimnir.engine.control import EngineControl

T = TypeVar("T")
STREAM_QUEUE = 1000
"""Events a stream holds for a slow consumer before dropping the oldest."""


class InProcessEngineClient:
    """``EngineClient`` over an ``EngineControl`` in this process.

    ``station_id`` is the station the caller means; when given, every call
    is refused with ``NotFoundError`` unless the engine runs that station
    (as the gRPC server does). Without it, the engine's station is assumed.
    """

    def __init__(self, control: EngineControl, station_id: str | None = None) -> None:
        # NOTE: the one place the client package touches engine code: turning
        # requests into engine objects. Imported here, not at module level, so
        # a control plane that only talks gRPC never loads the engine.
        from grimnir.engine import adapter

        self._adapter = adapter
        self._control = control
        self._asked = control.station_id if station_id is None else station_id
        self._timebase = Timebase(control)
        self._unhandled = 0
        """Events handed to open streams that their consumers have not finished with."""
        self._progress = asyncio.Event()

    @property
    def station_id(self) -> str:
        return self._asked

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            check_station(self._control.station_id, self._asked)
            return await asyncio.to_thread(call)
        except Exception as exc:  # translated like the gRPC server does
            raise as_domain_error(exc) from exc

    async def load_graph(self, graph: Mapping[str, Any]) -> None:
        def apply() -> None:
            self._control.load_graph(self._adapter.parse_graph(graph))

        await self._run(apply)

    async def play(self, item: PlayRequest, *, layer: str = "automation") -> None:
        def apply() -> None:
            target = check_layer(layer)
            engine_item = self._adapter.to_play_item(item, self._timebase)
            if target == "emergency":
                self._control.insert_emergency(engine_item)
            elif target == "automation":
                self._control.play(engine_item)
            else:
                raise ValueError("items play on automation or emergency; use route_live for live")

        await self._run(apply)

    async def stop(
        self, layer: str = "automation", fade_ms: int = 20, clear_queue: bool = True
    ) -> None:
        await self._run(lambda: self._control.stop(check_layer(layer), fade_ms, clear_queue))

    async def fade(
        self,
        layer: str = "automation",
        duration_ms: int = 3000,
        curve: FadeCurve = FadeCurve.LINEAR,
    ) -> None:
        await self._run(lambda: self._control.fade(check_layer(layer), duration_ms, curve))

    async def skip(self, layer: str = "automation", fade_ms: int = 20) -> None:
        await self._run(lambda: self._control.skip(check_layer(layer), fade_ms))

    async def unqueue(self, item_ids: Sequence[str], layer: str = "automation") -> None:
        ids = list(item_ids)
        await self._run(lambda: self._control.unqueue(check_layer(layer), ids))

    async def insert_emergency(self, item: PlayRequest) -> None:
        await self.play(item, layer="emergency")

    async def route_live(self, mount: str | None) -> None:
        await self._run(lambda: self._control.route_live(mount or None))

    async def kick_live(self, mount: str) -> None:
        await self._run(lambda: self._control.kick_live(mount))

    async def set_metadata(
        self, title: str, artist: str = "", extra: Mapping[str, str] | None = None
    ) -> None:
        metadata = self._adapter.metadata(title, artist, extra)
        await self._run(lambda: self._control.set_metadata(metadata))

    async def set_fallback(self, items: Sequence[PlayRequest]) -> None:
        requests = list(items)

        def apply() -> None:
            self._control.set_fallback(self._adapter.fallback_items(requests, self._timebase))

        await self._run(apply)

    async def status(self) -> StatusReport:
        return await self._run(self._control.status)

    async def analyze_media(self, path: str, target_lufs: float = -16.0) -> MediaAnalysis:
        result = await self._run(lambda: self._control.analyze_media(path, target_lufs))
        return MediaAnalysis(
            integrated_lufs=float(result.integrated_lufs),
            gain_db=float(result.gain_db),
            cue_in_ms=int(result.cue_in_ms),
            cue_out_ms=int(result.cue_out_ms),
            duration_ms=int(result.duration_ms),
        )

    async def generate_waveform(self, path: str, points: int) -> list[tuple[float, float]]:
        pairs = await self._run(lambda: self._control.generate_waveform(path, points))
        return [(float(low), float(high)) for low, high in pairs]

    async def events(
        self, *, include_telemetry: bool = False, since_frame: int | None = None
    ) -> AsyncGenerator[EngineEventRecord, None]:
        wanted = lambda kind: include_telemetry or kind != "telemetry"  # noqa: E731
        async for record in self._stream(wanted, since_frame=since_frame):
            yield record

    async def telemetry(self) -> AsyncGenerator[dict[str, Any], None]:
        async for record in self._stream(lambda kind: kind == "telemetry", greet=False):
            yield telemetry_dict(record)

    async def _stream(
        self, wanted: Callable[[str], bool], *, greet: bool = True, since_frame: int | None = None
    ) -> AsyncGenerator[EngineEventRecord, None]:
        try:
            check_station(self._control.station_id, self._asked)
        except Exception as exc:
            raise as_domain_error(exc) from exc
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(STREAM_QUEUE)
        outstanding = 0  # handed to this stream, not yet finished with by its consumer
        closed = False

        def put(event: Any) -> None:  # on the event loop
            nonlocal outstanding
            if closed:
                return
            if queue.full():
                queue.get_nowait()  # drop the oldest: the engine never waits for us
            else:
                outstanding += 1
                self._unhandled += 1
            queue.put_nowait(event)

        def on_event(event: Any) -> None:  # on the engine thread: hand on, never raise
            if wanted(event.type):
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    loop.call_soon_threadsafe(put, event)

        unsubscribe = self._control.subscribe(on_event, since_frame)
        try:
            if greet:
                now = datetime.now(UTC)
                yield EngineEventRecord(
                    self._control.station_id,
                    SUBSCRIBED,
                    self._timebase.frame_at(now),
                    now,
                    {"station_id": self._control.station_id},
                )
            while True:
                event = await queue.get()
                yield EngineEventRecord(
                    self._control.station_id,
                    str(event.type),
                    int(event.frame),
                    self._timebase.time_at(int(event.frame)),
                    plain(event.data),
                )
                # NOTE: resumed: the consumer asks for the next event, so it is done with this one
                outstanding -= 1
                self._dealt_with(1)
        finally:
            unsubscribe()
            closed = True
            self._dealt_with(outstanding)

    async def drained(self) -> None:
        """Wait until every event handed to this client's streams (``events()``,
        ``telemetry()``) so far has been dealt with: its consumer has asked for the next
        one, or closed the stream.

        An event raised on the event loop's thread (a ``VirtualClock`` engine stepped
        there) is handed over before this returns; one raised on the engine's own
        thread only once it reached the loop. On air nothing waits here: the
        bookkeeping is a count per event.
        """
        await asyncio.sleep(0)  # NOTE: hand-overs queued with call_soon_threadsafe run first
        while self._unhandled:
            self._progress.clear()
            await self._progress.wait()

    def _dealt_with(self, count: int) -> None:
        self._unhandled -= count
        self._progress.set()

    async def close(self) -> None:
        """Nothing to release: the engine belongs to whoever created it."""
