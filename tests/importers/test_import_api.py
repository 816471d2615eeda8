"""``/api/v1/imports`` (issue 19): an administrator starts an import (a path on the
server or an upload; dry run or real), gets 202 and the id at once, follows
``import.progress`` events on the bus, reads the report, rolls it back; others
are refused and bad input is a 4xx saying what to fix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from grimnir.bus import IMPORT_FINISHED, IMPORT_PROGRESS, Event
from tests._api import ApiWorld, api_world
from tests.api.test_api_events import serving
from tests.importers.libretime._backup import Backup
from tests.importers.libretime._backup import backup as libretime_backup

__all__ = ["libretime_backup"]

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


async def finished(client: httpx.AsyncClient, import_id: str) -> dict[str, Any]:
    for _ in range(600):
        answer = await client.get(f"/api/v1/imports/{import_id}")
        body: dict[str, Any] = answer.json()
        if body["state"] not in ("reading", "running"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish")


async def test_dry_run_then_real_run_with_progress_then_rollback(
    world: ApiWorld, backup: Path
) -> None:
    admin = world.client("admin")
    events = await world.ctx.bus.subscribe(["import.*"], None)
    dry = await admin.post(
        "/api/v1/imports",
        params={
            "product": "azuracast",
            "dry_run": True,
            "station": "grimnir_fm",
            "path": str(backup),
        },
    )
    assert dry.status_code == 202, dry.text
    report = await finished(admin, dry.json()["id"])
    assert report["state"] == "planned"
    assert report["report"]["dry_run"] is True
    assert report["report"]["counts"]["media"]["create"] == 6

    with backup.open("rb") as f:
        real = await admin.post(
            "/api/v1/imports",
            params={"product": "azuracast", "station": "grimnir_fm"},
            files={"file": ("backup.zip", f, "application/zip")},
        )
    assert real.status_code == 202, real.text
    import_id = real.json()["id"]
    done = await finished(admin, import_id)
    assert done["state"] == "done", done
    assert done["report"]["counts"]["media"]["created"] == 6
    assert done["report"]["import_id"] == import_id
    assert done["report"]["source"] == "backup.zip"
    assert not list((world.ctx.settings.data_dir / "imports").iterdir())

    seen: list[Event] = []
    while True:
        event = await events.get(timeout=2.0)
        seen.append(event)
        if event.type == IMPORT_FINISHED and event.data["import_id"] == import_id:
            break
    progress = [
        e.data for e in seen if e.type == IMPORT_PROGRESS and e.data["import_id"] == import_id
    ]
    assert {"import_id": import_id, "part": "media", "done": 8, "total": 8} in progress

    listed = (await admin.get("/api/v1/imports")).json()
    assert import_id in [i["id"] for i in listed]
    undone = await admin.post(f"/api/v1/imports/{import_id}/rollback")
    assert undone.status_code == 200
    assert undone.json()["removed"]["media_items"] == 6
    again = await admin.post(f"/api/v1/imports/{import_id}/rollback")
    assert again.status_code == 409
    assert "rolled back already" in again.text
    assert (await admin.get(f"/api/v1/imports/{import_id}")).json()["state"] == "rolled_back"
    nothing = await admin.post(f"/api/v1/imports/{dry.json()['id']}/rollback")
    assert nothing.status_code == 409
    assert "dry run" in nothing.text


async def test_only_admins_and_bad_input_is_explained(
    world: ApiWorld, backup: Path, tmp_path: Path
) -> None:
    manager = world.client("manager")
    refused = await manager.post(
        "/api/v1/imports", params={"product": "azuracast", "path": str(backup)}
    )
    assert refused.status_code == 403
    admin = world.client("admin")
    nowhere = await admin.post(
        "/api/v1/imports", params={"product": "azuracast", "path": str(tmp_path / "x.zip")}
    )
    assert nowhere.status_code == 422
    assert "is not a file on the server" in nowhere.text
    empty = await admin.post("/api/v1/imports", params={"product": "azuracast"})
    assert empty.status_code == 422
    assert "upload it as multipart field 'file'" in empty.text
    wrong = await admin.post(
        "/api/v1/imports", params={"product": "rivendell", "path": str(backup)}
    )
    assert wrong.status_code == 422
    cut = tmp_path / "cut.zip"
    cut.write_bytes(backup.read_bytes()[:1000])
    started = await admin.post("/api/v1/imports", params={"product": "azuracast", "path": str(cut)})
    failed = await finished(admin, started.json()["id"])
    assert failed["state"] == "failed"
    assert failed["error"]
    several = await admin.post(
        "/api/v1/imports", params={"product": "azuracast", "path": str(backup), "dry_run": True}
    )
    body = await finished(admin, several.json()["id"])
    assert body["state"] == "failed"
    assert "give station= to pick one" in body["error"]
    unknown = await admin.get("/api/v1/imports/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404


async def test_progress_reaches_a_websocket_client(world: ApiWorld, backup: Path) -> None:
    async with serving(world.app) as host:
        url = f"ws://{host}/api/v1/events?token={world.token('admin')}&types=import.*"
        async with websockets.connect(url) as ws:
            async with asyncio.timeout(5):
                while not world.ctx.bus._subscriptions:  # type: ignore[attr-defined]
                    await asyncio.sleep(0.01)
            admin = httpx.AsyncClient(
                base_url=f"http://{host}",
                headers={"Authorization": f"Bearer {world.token('admin')}"},
            )
            async with admin:
                params = {"product": "azuracast", "station": "night_owl", "path": str(backup)}
                started = await admin.post("/api/v1/imports", params=params)
                assert started.status_code == 202
                import_id = started.json()["id"]
                frames: list[dict[str, Any]] = []
                async with asyncio.timeout(60):
                    while not frames or frames[-1]["type"] != IMPORT_FINISHED:
                        frames.append(json.loads(await ws.recv()))
    parts = [f["data"]["part"] for f in frames if f["type"] == IMPORT_PROGRESS]
    assert parts[0] == "station"
    assert "media" in parts
    assert parts[-1] == "show"
    assert all(f["data"]["import_id"] == import_id for f in frames)
    assert frames[-1]["data"] == {"import_id": import_id, "state": "done", "error": None}


async def test_libretime_dump_on_the_server(world: ApiWorld, libretime_backup: Backup) -> None:
    lt = libretime_backup
    admin = world.client("admin")
    params = {"product": "libretime", "path": str(lt.dump), "storage": str(lt.storage)}
    refused = await admin.post("/api/v1/imports", params={**params, "storage": "/nowhere"})
    assert refused.status_code == 422
    assert "is not a folder on the server" in refused.text
    started = await admin.post("/api/v1/imports", params={**params, "config": str(lt.config)})
    assert started.status_code == 202
    done = await finished(admin, started.json()["id"])
    assert done["state"] == "done", done
    assert done["report"]["station"]["name"] == "Radio Nordlicht"
    assert done["report"]["counts"]["show"]["created"] == 6
