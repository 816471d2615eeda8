"""Web streams over HTTP: CRUD with validation, reset, and a forced failover of a
stream on air (real executor and in-process engine; the stream's URLs point at
closed loopback ports, so the engine's chain keeps trying them: it is on air)."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from grimnir.domain import EntryKind, EntryStatus, Timing
from grimnir.store.models import AuditLog, TimelineEntry, Webstream
from grimnir.store.repos import allocate_timeline_seq
from tests._api import ApiWorld
from tests.api.test_api_playout import ORIGIN, Air, air  # noqa: F401 — the fixture

BASE = "/api/v1/stations/wgmr/webstreams"


def _closed_port_url(name: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def _stream(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Relay",
        "urls": ["https://primary.example/live", "http://user:secret@backup.example:8000/b"],
        "stall_timeout_ms": 3000,
    }
    body.update(changes)
    return body


async def test_crud_with_roles_masking_and_audit(world: ApiWorld) -> None:
    manager, dj = world.client("manager"), world.client("dj")
    r = await dj.post(BASE, json=_stream())
    assert r.status_code == 403
    r = await manager.post(BASE, json=_stream())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["urls"][1] == "http://user:***@backup.example:8000/b"
    assert created["health"] == "unknown"
    stream_id = created["id"]
    r = await manager.post(BASE, json=_stream())
    assert r.status_code == 409
    assert "pick another name" in r.json()["detail"]
    r = await dj.get(BASE)
    assert r.status_code == 200
    assert r.json()["total"] == 1
    assert [s["name"] for s in r.json()["items"]] == ["Relay"]
    r = await dj.get(f"{BASE}/{stream_id}")
    assert r.json()["stall_timeout_ms"] == 3000
    r = await dj.patch(f"{BASE}/{stream_id}", json={"grace_ms": 100})
    assert r.status_code == 403
    r = await manager.patch(
        f"{BASE}/{stream_id}", json={"grace_ms": 100, "urls": ["https://only.example/x"]}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["grace_ms"], r.json()["urls"]) == (100, ["https://only.example/x"])
    assert r.json()["name"] == "Relay"
    r = await world.client("rival").get(f"/api/v1/stations/other/webstreams/{stream_id}")
    assert r.status_code == 404  # another station's id is not found there
    r = await manager.delete(f"{BASE}/{stream_id}")
    assert r.status_code == 204
    r = await manager.get(f"{BASE}/{stream_id}")
    assert r.status_code == 404
    async with world.ctx.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["webstream.add", "webstream.edit", "webstream.delete"]


async def test_bad_input_is_refused_with_what_to_fix(world: ApiWorld) -> None:
    manager = world.client("manager")
    bad: list[dict[str, Any]] = [
        _stream(urls=["ftp://files.example/a"]),
        _stream(urls=["not a url at all"]),
        _stream(urls=["http://"]),
        _stream(urls=["http://host.example:99999/x"]),
        _stream(urls=[]),
        _stream(urls=[f"https://h{i}.example/s" for i in range(11)]),
        _stream(stall_timeout_ms=0),
        _stream(grace_ms=-1),
        _stream(name=""),
    ]
    for body in bad:
        r = await manager.post(BASE, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = await manager.post(BASE, json=_stream(urls=["ftp://files.example/a"]))
    assert "http(s) URL" in r.json()["detail"]
    r = await manager.post(BASE, json=_stream(urls=["https://a.example/s"] * 2))
    assert r.status_code == 422
    assert "same URL twice" in r.json()["detail"]
    r = await manager.patch(f"{BASE}/{uuid.uuid4()}", json={"grace_ms": 1})
    assert r.status_code == 404


async def test_reset_clears_health_and_failover_needs_the_station_on_air(
    world: ApiWorld,
) -> None:
    manager = world.client("manager")
    r = await manager.post(BASE, json=_stream())
    stream_id = r.json()["id"]
    async with world.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Webstream)
            .where(Webstream.id == uuid.UUID(stream_id))
            .values(health="down", last_error="refused", active_url="https://x.example/b")
        )
    r = await manager.post(f"{BASE}/{stream_id}/reset")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["switched"] is False
    assert body["webstream"]["health"] == "unknown"
    assert body["webstream"]["last_error"] is None
    assert body["webstream"]["active_url"] is None
    r = await manager.post(f"{BASE}/{stream_id}/failover")
    assert r.status_code == 409
    assert "grimnir up" in r.json()["detail"]


async def _stream_entry(on: Air, urls: list[str]) -> str:
    """A web stream and a 20 s timeline entry for it after the three tracks (12 s)."""
    async with on.world.ctx.sessions() as session, session.begin():
        stream = Webstream(station_id=on.station, name="Relay", urls=urls)
        session.add(stream)
        await session.flush()
        start = ORIGIN + timedelta(seconds=12)
        session.add(
            TimelineEntry(
                station_id=on.station,
                seq=await allocate_timeline_seq(session, on.station),
                starts_at=start,
                ends_at=start + timedelta(seconds=20),
                kind=EntryKind.WEBSTREAM,
                status=EntryStatus.PLANNED,
                timing=Timing.SOFT,
                webstream_id=stream.id,
                title="Relay",
            )
        )
    return str(stream.id)


async def test_failover_moves_the_stream_on_air_to_the_next_url(air: Air) -> None:  # noqa: F811
    urls = [_closed_port_url(name) for name in ("primary", "backup", "third")]
    stream_id = await _stream_entry(air, urls)
    manager = air.world.client("manager")
    await air.run(1.0)
    r = await manager.post(f"{BASE}/{stream_id}/failover")
    assert r.status_code == 409  # a track plays, not the stream
    assert "is not playing now" in r.json()["detail"]
    sub = await air.world.ctx.bus.subscribe(["webstream.*"])
    await air.run(12.0)
    r = await manager.get("/api/v1/stations/wgmr/executor")
    relay_entry = r.json()["current"]["entry_id"]
    assert r.json()["current"]["kind"] == "webstream"

    r = await manager.post(f"{BASE}/{stream_id}/failover")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["switched"] is True
    assert body["url"] == urls[1]
    assert body["webstream"]["active_url"] == urls[1]
    assert body["item_id"].startswith(f"relay-{relay_entry}-1-")
    await air.run(0.5)
    r = await manager.get("/api/v1/stations/wgmr/executor")
    current = r.json()["current"]
    assert current["item_id"] == body["item_id"]
    assert current["entry_id"] == relay_entry  # the same entry carries on
    event = await sub.get(timeout=1.0)
    assert (event.type, event.data["from"], event.data["to"]) == (
        "webstream.failover",
        urls[0],
        urls[1],
    )

    r = await manager.post(f"{BASE}/{stream_id}/failover")
    assert r.json()["url"] == urls[2]
    await air.run(0.5)
    r = await manager.post(f"{BASE}/{stream_id}/reset")
    assert r.status_code == 200, r.text
    assert r.json()["switched"] is True
    assert r.json()["url"] == urls[0]
    back = r.json()["item_id"]
    assert back.startswith(f"relay-{relay_entry}-0-")
    await air.run(0.5)
    r = await manager.get("/api/v1/stations/wgmr/executor")
    assert r.json()["current"]["item_id"] == back
    r = await manager.post(f"{BASE}/{stream_id}/reset")
    assert r.json()["switched"] is False  # already on the primary
    r = await manager.get("/api/v1/stations/wgmr/asrun")
    relay_rows = [row for row in r.json()["items"] if row["timeline_entry_id"] == relay_entry]
    # the relay stays one timeline entry in the log: its rows start with the slot
    # and exactly one (the URL on air now) is still open
    assert min(row["started_at"] for row in relay_rows) == "2030-01-07T06:00:12Z"
    assert [row["ended_at"] for row in relay_rows].count(None) == 1
