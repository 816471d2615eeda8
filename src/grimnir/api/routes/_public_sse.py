"""AzuraCast's live now-playing feed: ``/api/live/nowplaying/sse``.

AzuraCast's players read Centrifugo's unidirectional SSE protocol: the page
asks for channels ``station:<short name>`` in ``cf_connect``
(``{"subs": {"station:wgmr": {"recover": true}}}``), the first message is
``{"connect": {..., "subs": {channel: {"publications": [{"data": D}]}}, "time": ms}}``
holding each channel's current picture, then every change comes as
``{"channel": channel, "pub": {"data": D}}``, with
``D = {"np": <Api_NowPlaying>, "triggers": [...], "current_time": <unix s>}``
(AzuraCast's ``Centrifugo::buildStationMessage``). ``{}`` is a ping.

One :class:`NowPlayingHub` per app follows the bus: a change on a station is
rendered once and handed to every reader of its channel; a reader that falls
``MAX_PENDING`` messages behind is dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from grimnir.api._sse import Emit, ServerSentEvents
from grimnir.api._urls import with_base
from grimnir.api.problems import Problem
from grimnir.bus import EventBus

log = logging.getLogger("grimnir.api")

CHANNEL_PREFIX = "station:"
PING_S = 25.0
MAX_PENDING = 32
MAX_CHANNELS = 64
TRIGGERS = {
    "item.started": ["song_changed"],
    "live.started": ["live_connect"],
    "live.ended": ["live_disconnect"],
}
"""AzuraCast's names (``triggers``) of the changes a message reports."""
CHANGES = ("item.started", "item.ended", "live.started", "live.ended", "output.down", "output.up")

Render = Callable[[str], Awaitable[bytes]]
"""A station's ``Api_NowPlaying`` JSON, by station id."""


def channels(cf_connect: str | None) -> list[str] | None:
    """The short names asked for in ``cf_connect``; ``None``: every station."""
    if cf_connect is None or not cf_connect.strip():
        return None
    try:
        asked = json.loads(cf_connect)
        subs = asked.get("subs", {}) if isinstance(asked, dict) else None
    except ValueError:
        subs = None
    if not isinstance(subs, dict) or len(subs) > MAX_CHANNELS:
        raise Problem(
            400,
            'cf_connect: give JSON like {"subs": {"station:SHORTNAME": {}}} '
            f"(at most {MAX_CHANNELS} channels)",
        )
    names = [c.removeprefix(CHANNEL_PREFIX) for c in subs if c.startswith(CHANNEL_PREFIX)]
    return [n for n in names if n]


def _data(np: bytes, triggers: list[str]) -> dict[str, Any]:
    return {"np": json.loads(np), "triggers": triggers, "current_time": int(time.time())}


def connect_message(current: dict[str, bytes]) -> str:
    """The first message: each channel's picture now (``current``: by short name)."""
    subs = {
        f"{CHANNEL_PREFIX}{name}": {
            "recoverable": False,
            "publications": [{"data": _data(np, [])}],
        }
        for name, np in current.items()
    }
    connect = {
        "client": str(uuid.uuid4()),
        "version": "grimnir",
        "subs": subs,
        "ping": int(PING_S),
        "time": int(time.time() * 1000),
    }
    return json.dumps({"connect": connect}, separators=(",", ":"))


def pub_message(name: str, np: bytes, triggers: list[str]) -> str:
    message = {"channel": f"{CHANNEL_PREFIX}{name}", "pub": {"data": _data(np, triggers)}}
    return json.dumps(message, separators=(",", ":"))


@dataclass(eq=False)
class _Reader:
    stations: dict[str, str]
    """Short name by station id."""
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(MAX_PENDING))
    dropped: bool = False


@dataclass
class NowPlayingHub:
    """Readers of the feed and the one task that follows the bus for them."""

    readers: set[_Reader] = field(default_factory=set)
    render: Render | None = None
    _task: asyncio.Task[None] | None = None

    def join(self, stations: dict[str, str], bus: EventBus, render: Render) -> _Reader:
        self.render = render
        reader = _Reader(stations)
        self.readers.add(reader)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._follow(bus), name="public-np-feed")
        return reader

    def leave(self, reader: _Reader) -> None:
        self.readers.discard(reader)

    async def _follow(self, bus: EventBus) -> None:
        try:
            sub = await bus.subscribe(CHANGES)
        except Exception:
            log.warning("the now-playing feed cannot follow the bus: it only pings")
            return
        async with sub:
            async for event in sub:
                await self._tell(event.station_id, TRIGGERS.get(event.type, []))

    async def _tell(self, station_id: str | None, triggers: list[str]) -> None:
        readers = [r for r in self.readers if station_id in r.stations]
        if not readers or self.render is None or station_id is None:
            return
        try:
            np = await self.render(station_id)
        except Exception:
            log.warning("now playing of %s could not be rendered", station_id, exc_info=True)
            return
        for reader in readers:
            message = pub_message(reader.stations[station_id], np, triggers)
            try:
                reader.queue.put_nowait(message)
            except asyncio.QueueFull:
                reader.dropped = True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class NowPlayingFeed(ServerSentEvents):
    """The ``text/event-stream`` of one reader: the connect message, then each
    change and a ping when nothing was sent for ``PING_S``."""

    def __init__(self, hub: NowPlayingHub, reader: _Reader, first: str, base: str) -> None:
        super().__init__()
        self.hub, self.reader, self.first, self.base = hub, reader, first, base

    async def write(self, emit: Emit) -> None:
        await emit(self.first)
        while not self.reader.dropped:
            try:
                async with asyncio.timeout(PING_S):
                    message = await self.reader.queue.get()
            except TimeoutError:
                message = "{}"
            await emit(message)

    def frame(self, message: str) -> bytes:
        # NOTE: the caller's base put in here: the app's rewriting of built answers
        # (CallerBase) reaches only the first part of a stream
        return with_base(f"data: {message}\n\n".encode(), self.base)

    async def finish(self) -> None:
        self.hub.leave(self.reader)
