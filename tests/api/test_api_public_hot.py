"""The now-playing hot path: cached answers sent without routing must be the
route's answers (body, headers, CORS, metrics) under the same rate limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import Request

from grimnir.api.auth import PublicDep, limit_public
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.bus import ITEM_STARTED, Event
from tests._api import ApiWorld, api_world

NP = "/api/v1/public/stations/wgmr/now-playing"
HOT = (NP, "/api/nowplaying/wgmr", "/api/nowplaying")
SAME_HEADERS = ("content-type", "content-length", "cache-control", "vary")


def _probe(world: ApiWorld) -> list[str]:
    """Record every request that reaches a public route's rate-limit dependency
    (the real limit still applies): a hot answer never gets there."""
    routed: list[str] = []

    def probe(request: Request) -> None:
        routed.append(request.url.path)
        limit_public(request)

    world.app.dependency_overrides[PublicDep] = probe
    world.app.dependency_overrides[limit_public] = probe
    return routed


async def test_cached_answers_skip_routing_and_equal_the_routes(world: ApiWorld) -> None:
    routed = _probe(world)
    anon = world.client()
    for url in HOT:
        first = await anon.get(url)
        second = await anon.get(url)
        assert first.status_code == second.status_code == 200, first.text
        assert second.content == first.content
        for name in SAME_HEADERS:
            assert second.headers.get(name) == first.headers.get(name), (url, name)
    assert routed == list(HOT)  # each once: the miss that filled the cache
    other = await anon.get("/api/v1/public/stations/other/now-playing")
    assert other.status_code == 200
    assert other.json()["station"]["short_name"] == "other"
    assert routed[-1] == "/api/v1/public/stations/other/now-playing"


async def test_hot_answers_get_cors_and_are_counted(world: ApiWorld) -> None:
    anon = world.client(headers={"Origin": "https://player.example"})
    for _ in range(3):
        response = await anon.get(NP)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
    text = (await anon.get("/metrics")).text
    line = (
        'grimnir_api_requests_total{method="GET",'
        'route="/api/v1/public/stations/{station}/now-playing",status="200"} 3.0'
    )
    assert line in text.splitlines()


async def test_only_fresh_gets_of_known_answers_are_hot(world: ApiWorld) -> None:
    routed = _probe(world)
    anon = world.client()
    assert (await anon.get(NP)).status_code == 200
    assert (await anon.post(NP)).status_code == 405
    assert (await anon.get(NP + "/")).status_code in (307, 404)
    missing = await anon.get("/api/v1/public/stations/nope/now-playing")
    assert missing.status_code == 404
    assert (await anon.get("/api/v1/public/stations/nope/now-playing")).status_code == 404
    assert routed.count("/api/v1/public/stations/nope/now-playing") == 2  # errors: not cached
    await asyncio.sleep(0.05)  # the cache follows the bus from its first miss
    await world.ctx.bus.publish(Event.now(ITEM_STARTED, str(world.stations["wgmr"])))
    await asyncio.sleep(0.05)
    before = routed.count(NP)
    assert (await anon.get(NP)).status_code == 200
    assert routed.count(NP) == before + 1  # dropped by item.started: routed again


async def test_hot_answers_are_rate_limited(tmp_path: Path) -> None:
    off = Limit(0, 0)
    limits = Limits(
        login=RateLimiter(off), harbor=RateLimiter(off), public=RateLimiter(Limit(0.01, 3))
    )
    async with api_world(tmp_path, limits=limits) as world:
        anon = world.client()
        codes = [(await anon.get(NP)).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = await anon.get("/api/nowplaying/wgmr")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) >= 1
