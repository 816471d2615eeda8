"""A small in-process cache of public answers (rendered JSON bytes).

An answer lives at most ``ttl_s`` (5 s) and is dropped at once when the bus says
its station changed (``item.started``, ``schedule.updated``…). Concurrent misses
of one key share one computation, so a crowd of players arriving together costs
one database read, not a hundred.

:class:`HotAnswers` serves the answers players poll (now playing) straight from
the cache, ahead of FastAPI's routing and dependency solving, which cost more
than the answer itself; a miss goes on to the route, which fills the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from grimnir.api._routing import ROUTE_KEY
from grimnir.bus import EventBus

log = logging.getLogger("grimnir.api")

INVALIDATING = (
    "item.started",
    "item.ended",
    "schedule.updated",
    "priority.changed",
    "live.started",
    "live.ended",
    "output.down",
    "output.up",
)
"""Event types after which a station's public answers are out of date."""
MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class Answer:
    """A rendered answer and the station it is about (``None``: several stations)."""

    body: bytes
    station_id: str | None


@dataclass(slots=True)
class _Entry:
    expires: float
    answer: Answer


@dataclass
class AnswerCache:
    """Rendered answers by key (any hashable: route name and parameters)."""

    ttl_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _entries: dict[Hashable, _Entry] = field(default_factory=dict)
    _pending: dict[Hashable, asyncio.Future[Answer]] = field(default_factory=dict)
    _generation: int = 0
    _listener: asyncio.Task[None] | None = None
    hits: int = 0
    misses: int = 0

    def peek(self, key: Hashable) -> Answer | None:
        """The fresh answer for ``key``, ``None`` when missing or old (never computes)."""
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self.clock():
            return None
        self.hits += 1
        return entry.answer

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Answer]]) -> Answer:
        """The cached answer for ``key``, computing it (once) when missing or old."""
        answer = self.peek(key)
        if answer is not None:
            return answer
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        generation = self._generation
        try:
            answer = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(answer)
        if generation == self._generation:  # nothing changed while we computed
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(self.clock() + self.ttl_s, answer)
        return answer

    def invalidate(self, station_id: str | None) -> None:
        """Forget the answers about ``station_id`` and the all-station ones
        (everything for ``None``)."""
        self._generation += 1
        if station_id is None:
            self._entries.clear()
            return
        stale = [k for k, e in self._entries.items() if e.answer.station_id in (station_id, None)]
        for key in stale:
            del self._entries[key]

    def watch(self, bus: EventBus) -> None:
        """Start following ``bus`` (once; call from inside the running loop)."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._follow(bus), name="public-cache")

    async def _follow(self, bus: EventBus) -> None:
        try:
            sub = await bus.subscribe(INVALIDATING)
        except Exception:
            log.warning("public cache cannot follow the bus; answers live %.0f s", self.ttl_s)
            return
        async with sub:
            async for event in sub:
                self.invalidate(event.station_id)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener


def json_response(answer: Answer, max_age: int) -> Response:
    """A cached JSON answer as the public routes send it."""
    return Response(
        answer.body,
        media_type="application/json",
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


@dataclass(frozen=True, slots=True)
class HotRoute:
    """A GET route answered from the cache: ``pattern`` matches the whole path,
    its groups (the station) follow ``name`` in the cache key, as the route makes it."""

    pattern: re.Pattern[str]
    name: str
    template: str
    max_age: int


class HotAnswers:
    """ASGI middleware: a GET of a :class:`HotRoute` whose answer is cached and fresh
    is answered from the cache, after the same rate limit the route applies
    (``limit(request)``: seconds to wait, ``None`` if allowed). Everything else
    (misses, a denied caller, other methods and paths) goes on to the app, so errors
    are answered by the route itself."""

    def __init__(
        self,
        app: ASGIApp,
        cache: AnswerCache,
        routes: list[HotRoute],
        limit: Callable[[Request], float | None],
    ) -> None:
        self.app = app
        self.cache = cache
        self.routes = routes
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            for route in self.routes:
                found = route.pattern.fullmatch(path)
                if found is None:
                    continue
                answer = self.cache.peek((route.name, *found.groups()))
                if answer is not None and self.limit(Request(scope)) is None:
                    scope[ROUTE_KEY] = route.template
                    await json_response(answer, route.max_age)(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)
