"""Live routes: tokens (who may make, see and withdraw them), sessions, status,
and the answers of handover and kick (on a real engine in test_harbor_callback)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from grimnir.domain import EntryKind, EntryStatus, Timing
from grimnir.store.models import LiveSession, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import PASSWORD, ApiWorld
from tests.api.test_harbor_callback import (
    AUTH,
    dj,
    engine_headers,
    finished,
    login,
    needs_ffmpeg,
    on_air,
    until,
)

LIVE = "/api/v1/stations/wgmr/live"


async def test_a_dj_makes_tokens_for_themselves_a_manager_for_members(world: ApiWorld) -> None:
    r = await world.client("dj").post(f"{LIVE}/tokens", json={"label": "Friday"})
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["token"].startswith("glt_")
    assert (mine["username"], mine["label"], mine["mount"]) == ("dj", "Friday", None)
    expires = datetime.fromisoformat(mine["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    other = {"user_id": str(world.users["manager"])}
    r = await world.client("dj").post(f"{LIVE}/tokens", json=other)
    assert r.status_code == 403
    assert "only a manager" in r.json()["detail"]
    r = await world.client("manager").post(
        f"{LIVE}/tokens", json={"user_id": str(world.users["dj"]), "ttl_minutes": 30}
    )
    assert r.status_code == 201
    assert r.json()["username"] == "dj"
    for name in ("outsider", "rival"):
        r = await world.client("manager").post(
            f"{LIVE}/tokens", json={"user_id": str(world.users[name])}
        )
        assert r.status_code == 422
        assert "not a member" in r.json()["detail"]
    r = await world.client("manager").post(f"{LIVE}/tokens", json={"mount": "/studio"})
    assert r.status_code == 422
    assert "not a harbor mount" in r.json()["detail"]
    r = await world.client("dj").post(f"{LIVE}/tokens", json={"ttl_minutes": 0})
    assert r.status_code == 422
    for name in ("outsider", "rival"):
        assert (await world.client(name).post(f"{LIVE}/tokens", json={})).status_code == 403
    assert (await world.client().post(f"{LIVE}/tokens", json={})).status_code == 401


async def test_listing_and_withdrawing_tokens(world: ApiWorld) -> None:
    dj_client, manager = world.client("dj"), world.client("manager")
    own = (await dj_client.post(f"{LIVE}/tokens", json={})).json()
    theirs = (await manager.post(f"{LIVE}/tokens", json={})).json()
    used = (await dj_client.post(f"{LIVE}/tokens", json={})).json()
    engine = world.client(headers=engine_headers(world))
    assert (await engine.post(AUTH, json=login(world, password=used["token"]))).status_code == 200

    listed = (await dj_client.get(f"{LIVE}/tokens")).json()
    assert [t["id"] for t in listed] == [own["id"]]  # own, unused only
    assert "token" not in listed[0]
    listed = (await manager.get(f"{LIVE}/tokens")).json()
    assert {t["id"] for t in listed} == {own["id"], theirs["id"]}

    r = await dj_client.delete(f"{LIVE}/tokens/{theirs['id']}")
    assert r.status_code == 404
    assert (await manager.delete(f"{LIVE}/tokens/{own['id']}")).status_code == 204
    assert (await dj_client.get(f"{LIVE}/tokens")).json() == []
    r = await engine.post(AUTH, json=login(world, password=own["token"]))
    assert r.status_code == 401  # withdrawn
    rival = world.client("rival")
    r = await rival.delete(f"/api/v1/stations/other/live/tokens/{theirs['id']}")
    assert r.status_code == 404  # not a token of that station


async def _live_entry(world: ApiWorld, kind: EntryKind, minutes: float) -> TimelineEntry:
    now = datetime.now(UTC)
    async with world.ctx.sessions() as session, session.begin():
        station = world.stations["wgmr"]
        row = TimelineEntry(
            station_id=station,
            seq=await allocate_timeline_seq(session, station),
            starts_at=now + timedelta(minutes=minutes),
            ends_at=now + timedelta(minutes=minutes + 60),
            kind=kind,
            status=EntryStatus.PLANNED,
            timing=Timing.HARD,
            title="Morning Live",
            meta={"mount": "/live"},
        )
        session.add(row)
    return row


async def test_a_token_for_a_live_show_expires_when_the_show_ends(world: ApiWorld) -> None:
    show = await _live_entry(world, EntryKind.LIVE, 10)
    r = await world.client("dj").post(f"{LIVE}/tokens", json={"entry_id": str(show.id)})
    assert r.status_code == 201
    assert datetime.fromisoformat(r.json()["expires_at"]) == show.ends_at
    assert (r.json()["mount"], r.json()["label"]) == ("/live", "Morning Live")
    track = await _live_entry(world, EntryKind.TRACK, 10)
    over = await _live_entry(world, EntryKind.LIVE, -120)
    for entry_id in (track.id, over.id, uuid.uuid4()):
        r = await world.client("dj").post(f"{LIVE}/tokens", json={"entry_id": str(entry_id)})
        assert r.status_code == 422, r.text


async def test_sessions_page_and_the_status_from_the_database(world: ApiWorld) -> None:
    engine = world.client(headers=engine_headers(world))
    for name in ("dj", "manager", "dj"):
        body = login(world, user=name, password=PASSWORD)
        assert (await engine.post(AUTH, json=body)).status_code == 200
    page = (await world.client("dj").get(f"{LIVE}/sessions?limit=2")).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 0, 2)
    assert page["items"][0]["username"] == "dj"
    assert page["items"][0]["remote_addr"] is None  # managers only
    page = (await world.client("manager").get(f"{LIVE}/sessions?offset=2")).json()
    assert [i["username"] for i in page["items"]] == ["dj"]
    assert page["items"][0]["remote_addr"] == "192.0.2.7"
    assert (await world.client("dj").get(f"{LIVE}/sessions?limit=0")).status_code == 422
    assert (await world.client("outsider").get(f"{LIVE}/sessions")).status_code == 403

    status = (await world.client("dj").get(f"{LIVE}/status")).json()
    assert status["engine"] is False
    assert status["mounts"] == ["/live"]
    assert [(c["mount"], c["username"]) for c in status["connections"]] == [("/live", "dj")]
    async with world.ctx.sessions() as session, session.begin():
        await session.execute(update(LiveSession).values(disconnected_at=datetime.now(UTC)))
    status = (await world.client("dj").get(f"{LIVE}/status")).json()
    assert status["connections"] == []


async def test_handover_and_kick_need_the_station_on_air_here(world: ApiWorld) -> None:
    for path, body in [("handover", {"mount": "/live"}), ("kick", {})]:
        r = await world.client("manager").post(f"{LIVE}/{path}", json=body)
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert "is not on air in this process" in r.json()["detail"]
    r = await world.client("dj").post(f"{LIVE}/handover", json={"mount": None})
    assert r.status_code == 403
    r = await world.client("manager").post(f"{LIVE}/handover", json={"mount": "live"})
    assert r.status_code == 422  # a mount path starts with /


@needs_ffmpeg
async def test_handover_and_kick_on_a_real_engine(tmp_path: Path) -> None:
    async with on_air(tmp_path) as live:
        world = live.world
        manager, dj_client = world.client("manager"), world.client("dj")
        r = await manager.post(f"{LIVE}/handover", json={"mount": "/live"})
        assert r.status_code == 409  # nobody connected yet
        process = await dj(live.harbor_port, PASSWORD.replace(" ", "%20"), 30)
        try:
            assert await until(lambda: live.runtime.status().on_air == "live")
            status = (await dj_client.get(f"{LIVE}/status")).json()
            assert status["engine"] is True
            assert status["live_mount"] == "/live"
            [conn] = status["connections"]
            assert (conn["mount"], conn["login"], conn["username"]) == ("/live", "dj", "dj")

            r = await manager.post(f"{LIVE}/handover", json={"mount": None})
            assert r.status_code == 200, r.text
            assert r.json()["routed"] is None
            assert await until(lambda: live.runtime.engine.live is None)
            r = await manager.post(f"{LIVE}/handover", json={"mount": "/live"})
            assert r.json()["routed"] == "/live"
            assert await until(lambda: live.runtime.engine.live_label == "/live")

            other_dj = world.client("admin")
            assert (await other_dj.post(f"{LIVE}/kick", json={"mount": "/x"})).status_code == 409
            r = await dj_client.post(f"{LIVE}/kick", json={})  # the DJ on air leaves
            assert r.status_code == 204, r.text
            code, _ = await finished(process)
            assert code != 0
            assert await until(lambda: "/live" not in live.connected())
            r = await manager.post(f"{LIVE}/kick", json={})
            assert r.status_code == 409
            assert "nobody is connected" in r.json()["detail"]
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()


@needs_ffmpeg
async def test_a_dj_cannot_kick_someone_else(tmp_path: Path) -> None:
    async with on_air(tmp_path) as live:
        process = await dj(live.harbor_port, PASSWORD.replace(" ", "%20"), 30, user="manager")
        try:
            assert await until(lambda: "/live" in live.connected())
            r = await live.world.client("dj").post(f"{LIVE}/kick", json={"mount": "/live"})
            assert r.status_code == 403
            r = await live.world.client("manager").post(f"{LIVE}/kick", json={"mount": "/live"})
            assert r.status_code == 204
        finally:
            if process.returncode is None:
                process.kill()
            await process.communicate()
