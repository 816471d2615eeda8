"""Live events: WebSocket ``/api/v1/events`` and Server-Sent Events
``/api/v1/events/stream``.

Both take ``types`` (comma list or repeated; ``item.*`` prefixes, ``*`` for all)
and ``station`` (id or short name). Non-administrators get only the events of
their stations and station-less ones. A heartbeat goes out when nothing else
did for ``heartbeat_s`` (15 s; ``app.state.events_heartbeat_s`` changes it).

A client that falls behind is dropped, never waited for: the bus hands events to
a bounded queue (``offer`` never blocks), and a connection whose queue overflowed
or whose socket would not take a frame within ``SEND_TIMEOUT_S`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from starlette.websockets import WebSocketState

from grimnir.api._sse import SEND_TIMEOUT_S, Emit, ServerSentEvents
from grimnir.api.auth import Access, Level, Principal, context, principal_for
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem
from grimnir.bus import BusError, Event, EventFilter, Subscription
from grimnir.domain.errors import NotFoundError
from grimnir.store import repos

router = APIRouter(tags=["events"])

HEARTBEAT_S = 15.0
MAX_PENDING = 256
"""Events waiting for one client before it counts as too slow and is dropped."""

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_BAD_REQUEST = 4422

TypesQuery = Annotated[
    list[str] | None,
    Query(
        max_length=50,
        description="Event types: comma list or repeated; 'item.*' prefixes, '*' for all.",
    ),
]
StationQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="Only this station (id or short name)."),
]
TokenQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=4096,
        description="Access token or API key, for clients that cannot set headers "
        "(EventSource, browsers' WebSocket).",
    ),
]


def heartbeat_s(app_state: Any) -> float:
    """The heartbeat interval of this app (tests shorten it)."""
    value = getattr(app_state, "events_heartbeat_s", HEARTBEAT_S)
    return float(value)


@dataclass(frozen=True, slots=True)
class _Selection:
    """What one client asked for and may see."""

    types: list[str] | None
    station_id: str | None
    visible: Callable[[Event], bool]


class _BadSelection(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _types(raw: list[str] | None) -> list[str] | None:
    if not raw:
        return None
    types = [t.strip() for item in raw for t in item.split(",") if t.strip()]
    if not types:
        return None
    if len(types) > 50:
        raise _BadSelection(422, "types: give at most 50 event types")
    try:
        EventFilter.build(types, None)
    except ValueError as exc:
        raise _BadSelection(422, f"types: {exc}") from None
    return types


async def _select(
    ctx: ApiContext, principal: Principal, types: list[str] | None, station: str | None
) -> _Selection:
    """Check the query against what the caller may see."""
    wanted = _types(types)
    mine = frozenset(str(s) for s in principal.roles)
    if station is not None:
        async with ctx.sessions() as session:
            try:
                row = await repos.get_station(session, station)
            except NotFoundError:
                raise _BadSelection(
                    404, f"no station {station!r}: see GET /api/v1/stations for the list"
                ) from None
        if not principal.is_admin and row.id not in principal.roles:
            raise _BadSelection(403, f"you are not a member of station {row.short_name!r}")
        return _Selection(wanted, str(row.id), lambda event: True)
    if principal.is_admin:
        return _Selection(wanted, None, lambda event: True)
    return _Selection(
        wanted, None, lambda event: event.station_id is None or event.station_id in mine
    )


async def _subscribe(ctx: ApiContext, selection: _Selection) -> Subscription:
    return await ctx.bus.subscribe(selection.types, selection.station_id, max_pending=MAX_PENDING)


def _heartbeat() -> dict[str, str]:
    return {"type": "heartbeat", "at": datetime.now(UTC).isoformat(timespec="microseconds")}


# -- WebSocket ----------------------------------------------------------------------------


class _SocketAccess(Access):
    """``Access(Level.USER)`` for a WebSocket: the credential comes as ``?token=`` (or
    the usual headers). The socket is accepted first so a refusal can carry a
    policy close code (4401/4403) that browsers show; ``None`` means it was closed."""

    async def __call__(  # type: ignore[override]
        self, websocket: WebSocket, token: TokenQuery = None
    ) -> Principal | None:
        await websocket.accept()
        credential = token or websocket.headers.get("x-api-key")
        if credential is None:
            scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
            credential = value.strip() if scheme.lower() == "bearer" and value.strip() else None
        if credential is None:
            await websocket.close(CLOSE_UNAUTHORIZED, "sign in: pass ?token=<access token>")
            return None
        ctx: ApiContext = websocket.app.state.ctx
        try:
            async with ctx.sessions() as session:
                principal = await principal_for(session, ctx, credential)
                if principal.via == "api_key":
                    await session.commit()
        except Problem as exc:
            await websocket.close(CLOSE_UNAUTHORIZED, exc.detail[:120])
            return None
        return principal


SocketUser = _SocketAccess(Level.USER)


@router.websocket("/events")
async def events_socket(
    websocket: WebSocket,
    principal: Annotated[Principal | None, Depends(SocketUser)],
    types: TypesQuery = None,
    station: StationQuery = None,
) -> None:
    """Events as JSON text frames (the bus envelope), ``{"type": "heartbeat"}`` when
    idle. Close codes: 4401 bad credentials, 4403 not a member, 4404 no such
    station, 4422 bad types, 4408 too slow (events were dropped: reconnect)."""
    if principal is None:
        return
    ctx: ApiContext = websocket.app.state.ctx
    try:
        selection = await _select(ctx, principal, types, station)
    except _BadSelection as exc:
        code = {403: CLOSE_FORBIDDEN, 404: CLOSE_NOT_FOUND}.get(exc.status, CLOSE_BAD_REQUEST)
        await websocket.close(code, exc.detail[:120])
        return
    every = heartbeat_s(websocket.app.state)
    async with await _subscribe(ctx, selection) as sub:
        pump = asyncio.create_task(_pump(websocket, sub, selection, every))
        reader = asyncio.create_task(_read_until_closed(websocket))
        try:
            await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, reader):
                task.cancel()
            for task in (pump, reader):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(1000)


async def _pump(
    websocket: WebSocket, sub: Subscription, selection: _Selection, every: float
) -> None:
    while True:
        try:
            event = await sub.get(timeout=every)
        except TimeoutError:
            message = json.dumps(_heartbeat())
        except BusError:
            await websocket.close(1001, "the server is shutting down")
            return
        else:
            if not selection.visible(event):
                continue
            message = event.to_json()
        if sub.dropped:
            await websocket.close(CLOSE_TOO_SLOW, "too slow: events were dropped; reconnect")
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await websocket.send_text(message)
        except TimeoutError:
            return  # the peer stopped reading: drop it (the caller closes)


async def _read_until_closed(websocket: WebSocket) -> None:
    """Ignore what the client sends; return when it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


# -- Server-Sent Events -------------------------------------------------------------------


class _StreamAccess(Access):
    """``Access(Level.USER)`` that also takes ``?token=``: EventSource cannot set headers."""

    async def __call__(self, request: Request, token: TokenQuery = None) -> Principal | None:
        has_header = "authorization" in request.headers or "x-api-key" in request.headers
        if token is None or has_header:
            return await super().__call__(request)
        ctx = context(request)
        async with ctx.sessions() as session:
            principal = await principal_for(session, ctx, token)
            if principal.via == "api_key":
                await session.commit()
        request.state.principal = principal
        return principal


StreamUser = _StreamAccess(Level.USER)


class EventStream(ServerSentEvents):
    """A ``text/event-stream`` response fed from a subscription. It drives the ASGI
    messages itself, so a reader that stops reading is timed out and dropped."""

    def __init__(self, sub: Subscription, selection: _Selection, every: float) -> None:
        super().__init__()
        self.sub = sub
        self.selection = selection
        self.every = every

    async def write(self, emit: Emit) -> None:
        await emit("retry: 3000\n: connected\n\n")
        while True:
            try:
                event = await self.sub.get(timeout=self.every)
            except TimeoutError:
                chunk = ": heartbeat\n\n"
            except BusError:
                return
            else:
                if not self.selection.visible(event):
                    continue
                chunk = f"id: {event.id}\nevent: {event.type}\ndata: {event.to_json()}\n\n"
            if self.sub.dropped:
                await emit("event: dropped\ndata: {}\n\n")
                return
            await emit(chunk)

    async def finish(self) -> None:
        await self.sub.close()


@router.get(
    "/events/stream",
    response_class=EventStream,
    status_code=200,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream."}},
)
async def events_stream(
    request: Request,
    principal: Annotated[Principal | None, Depends(StreamUser)],
    types: TypesQuery = None,
    station: StationQuery = None,
) -> EventStream:
    """Events as Server-Sent Events: ``event:`` is the type, ``data:`` the JSON
    envelope, ``id:`` the event id; a ``: heartbeat`` comment when idle. Pass
    ``?token=`` where the client cannot set ``Authorization`` (EventSource)."""
    if principal is None:  # pragma: no cover — Access(USER) never lets anonymous through
        raise Problem(401, "sign in first")
    ctx = context(request)
    try:
        selection = await _select(ctx, principal, types, station)
    except _BadSelection as exc:
        raise Problem(exc.status, exc.detail) from None
    sub = await _subscribe(ctx, selection)
    return EventStream(sub, selection, heartbeat_s(request.app.state))
