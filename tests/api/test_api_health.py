"""Liveness and readiness probes: /healthz and /readyz."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from tests._api import ApiWorld, api_world


async def test_a_working_api_is_alive_and_ready(world: ApiWorld) -> None:
    client = world.client()
    alive = await client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}
    assert alive.headers["cache-control"] == "no-store"
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "ready": True,
        "database": {"ok": True, "detail": ""},
        "bus": {"ok": True, "detail": ""},
        "stations": {},  # nothing on air in this process
    }


async def test_a_closed_bus_is_not_ready(world: ApiWorld) -> None:
    await world.ctx.bus.close()
    answer = await world.client().get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    body = answer.json()
    assert body["ready"] is False
    assert body["database"]["ok"] is True
    assert body["bus"] == {
        "ok": False,
        "detail": "the event bus is not connected (it reconnects by itself)",
    }
    assert (await world.client().get("/healthz")).status_code == 200  # alive all the same


async def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    async with api_world(folder) as world:
        client = world.client()
        assert (await client.get("/readyz")).status_code == 200
        await world.db.dispose()
        away = tmp_path / "away"
        folder.rename(away)  # a lost mount: SQLite cannot open its file
        try:
            answer = await client.get("/readyz")
        finally:
            await world.db.dispose()
            away.rename(folder)
            gc.collect()  # NOTE: broken connections closed while this loop runs
            await asyncio.sleep(0.05)
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["database"]["ok"] is False
        assert "database is unreachable" in body["database"]["detail"]
        assert body["bus"]["ok"] is True
        assert (await client.get("/readyz")).status_code == 200  # back by itself
