"""The API with its database gone: 503 with Retry-After and a problem that says why,
one log line for the outage (not a traceback per request), 200 again once it is back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests._api import api_world


async def test_requests_get_503_while_the_database_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "db"
    async with api_world(folder) as world:
        client = world.client("admin")
        assert (await client.get("/api/v1/stations")).status_code == 200
        # the database's folder goes away (a lost mount, a dead disk): SQLite cannot open it
        await world.db.dispose()
        away = tmp_path / "away"
        folder.rename(away)
        caplog.set_level(logging.INFO, logger="grimnir.api")
        try:
            for _ in range(20):
                r = await client.get("/api/v1/stations")
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5"
                assert r.headers["content-type"].startswith("application/problem+json")
                assert "database is unreachable" in r.json()["detail"]
        finally:
            await world.db.dispose()
            away.rename(folder)
        assert (await client.get("/api/v1/stations")).status_code == 200
        lines = [r for r in caplog.records if r.name == "grimnir.api"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].exc_info is None
        assert "unreachable" in lines[0].getMessage()
