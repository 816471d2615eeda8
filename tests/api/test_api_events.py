"""Live events over a real uvicorn server: WebSocket and Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed

from grimnir.bus import ITEM_STARTED, LIVE_CONNECTED, Event
from tests._api import ApiWorld


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` on a real uvicorn server on a free loopback port; yields host:port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _next_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        message = await ws.recv()
    data: dict[str, Any] = json.loads(message)
    return data


async def _drain(ws: Any) -> None:
    """Read until the server closes the socket (ConnectionClosed)."""
    while True:
        await _next_json(ws)


async def _wait_subscribed(world: ApiWorld, count: int = 1) -> None:
    """Wait until ``count`` subscriptions are live on the memory bus."""
    async with asyncio.timeout(5):
        while len(world.ctx.bus._subscriptions) < count:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)


async def test_websocket_delivers_member_station_events_only(world: ApiWorld) -> None:
    wgmr, other = str(world.stations["wgmr"]), str(world.stations["other"])
    async with serving(world.app) as host:
        url = f"ws://{host}/api/v1/events?token={world.token('dj')}"
        async with websockets.connect(url) as ws:
            await _wait_subscribed(world)
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, other, title="not yours"))
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, wgmr, title="Song A"))
            got = await _next_json(ws)
            assert got["type"] == ITEM_STARTED
            assert got["station_id"] == wgmr
            assert got["data"]["title"] == "Song A"
            # station-less events reach everybody
            await world.ctx.bus.publish(Event.now("eas.alert", None, headline="test"))
            got = await _next_json(ws)
            assert got["type"] == "eas.alert"


async def test_websocket_filters_by_type_and_station(world: ApiWorld) -> None:
    wgmr = str(world.stations["wgmr"])
    async with serving(world.app) as host:
        url = (
            f"ws://{host}/api/v1/events?token={world.token('admin')}"
            "&types=live.*,item.ended&station=wgmr"
        )
        async with websockets.connect(url) as ws:
            await _wait_subscribed(world)
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, wgmr, title="skip me"))
            await world.ctx.bus.publish(Event.now(LIVE_CONNECTED, None, mount="/live"))
            await world.ctx.bus.publish(Event.now(LIVE_CONNECTED, wgmr, mount="/live"))
            got = await _next_json(ws)
            assert (got["type"], got["station_id"]) == (LIVE_CONNECTED, wgmr)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", 4401),
        ("?token=not-a-token", 4401),
        ("?token={dj}&station=other", 4403),
        ("?token={dj}&station=nope", 4404),
        ("?token={dj}&types=bad%20type", 4422),
    ],
)
async def test_websocket_refusals_have_policy_codes(world: ApiWorld, query: str, code: int) -> None:
    async with serving(world.app) as host:
        url = f"ws://{host}/api/v1/events" + query.format(dj=world.token("dj"))
        async with websockets.connect(url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await _next_json(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code


async def test_websocket_heartbeat(world: ApiWorld) -> None:
    world.app.state.events_heartbeat_s = 0.1
    async with serving(world.app) as host:
        url = f"ws://{host}/api/v1/events?token={world.token('manager')}"
        async with websockets.connect(url) as ws:
            got = await _next_json(ws, timeout=30)  # a bound for waiting (beat: 0.1 s)
            assert got["type"] == "heartbeat"


async def test_slow_websocket_client_is_dropped_and_bus_keeps_going(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grimnir.api.routes import events

    monkeypatch.setattr(events, "MAX_PENDING", 5)
    wgmr = str(world.stations["wgmr"])
    async with serving(world.app) as host:
        url = f"ws://{host}/api/v1/events?token={world.token('admin')}"
        async with websockets.connect(url) as ws:
            await _wait_subscribed(world)
            sub = next(iter(world.ctx.bus._subscriptions))  # type: ignore[attr-defined]
            # the pump is stalled while the events pile up: more than MAX_PENDING wait unread
            for n in range(50):
                sub.offer(Event.now(ITEM_STARTED, wgmr, n=n))
            with pytest.raises(ConnectionClosed) as closed:
                await _drain(ws)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4408
        # the publisher never waited; the dropped client is gone from the bus
        async with asyncio.timeout(5):
            while world.ctx.bus._subscriptions:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)


async def _sse_lines(lines_in: AsyncIterator[str], until: str, timeout: float = 5.0) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        async for line in lines_in:
            lines.append(line)
            if until in line:
                return lines
    return lines


async def test_sse_gets_events_and_heartbeats(world: ApiWorld) -> None:
    world.app.state.events_heartbeat_s = 0.2
    wgmr = str(world.stations["wgmr"])
    async with serving(world.app) as host, httpx.AsyncClient(base_url=f"http://{host}") as http:
        headers = {"Authorization": f"Bearer {world.token('dj')}"}
        params = {"types": "item.started"}
        async with http.stream(
            "GET", "/api/v1/events/stream", headers=headers, params=params
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = response.aiter_lines()
            await _wait_subscribed(world)
            await world.ctx.bus.publish(Event.now("item.ended", wgmr, title="filtered out"))
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, wgmr, title="Song B"))
            lines = await _sse_lines(stream, "Song B")
            assert "event: item.started" in lines
            data = json.loads(next(x for x in lines if x.startswith("data:"))[5:])
            assert data["data"]["title"] == "Song B"
            assert not any("filtered out" in x for x in lines)
            lines = await _sse_lines(stream, ": heartbeat", timeout=30)  # beat: 0.2 s
            assert lines[-1] == ": heartbeat"


async def test_sse_accepts_token_query_and_refuses_others(world: ApiWorld) -> None:
    wgmr = str(world.stations["wgmr"])
    async with serving(world.app) as host, httpx.AsyncClient(base_url=f"http://{host}") as http:
        assert (await http.get("/api/v1/events/stream")).status_code == 401
        bad = await http.get("/api/v1/events/stream", params={"token": "forged"})
        assert bad.status_code == 401
        assert bad.headers["content-type"] == "application/problem+json"
        other = await http.get(
            "/api/v1/events/stream", params={"token": world.token("dj"), "station": "other"}
        )
        assert other.status_code == 403
        assert "not a member" in other.json()["detail"]
        bad_types = await http.get(
            "/api/v1/events/stream", params={"token": world.token("dj"), "types": "a b"}
        )
        assert bad_types.status_code == 422
        params = {"token": world.token("dj"), "station": "wgmr"}
        async with http.stream("GET", "/api/v1/events/stream", params=params) as response:
            assert response.status_code == 200
            await _wait_subscribed(world)
            await world.ctx.bus.publish(Event.now(ITEM_STARTED, wgmr, title="Song C"))
            lines = await _sse_lines(response.aiter_lines(), "Song C")
            assert any("Song C" in x for x in lines)
