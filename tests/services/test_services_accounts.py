"""Users, members, API keys and stations through the services the API and the CLI
share, and the routes over them answering as they did before the move (issue 16)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from grimnir.domain import ConfigError, ConflictError, NotFoundError, Role
from grimnir.services import accounts, authentication, memberships, stations, tokens
from tests._api import PASSWORD, ApiWorld, api_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


async def test_users(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        user = await accounts.create_user(
            session, username="newbie", password=PASSWORD, display_name="New Bie"
        )
        assert user.display_name == "New Bie"
        with pytest.raises(ConflictError, match="already exists"):
            await accounts.create_user(session, username="newbie", password=PASSWORD)
        assert await accounts.find_user(session, "newbie") is user
        assert await accounts.find_user(session, "nobody") is None
        assert await accounts.get_user(session, user.id) is user
        with pytest.raises(NotFoundError, match="no user with id"):
            await accounts.get_user(session, uuid.uuid4())
        rows, total = await accounts.users_page(session, limit=2, offset=2)
        assert total == 6
        assert [u.username for u in rows] == ["manager", "newbie"]
        with pytest.raises(ConfigError, match="too short"):
            accounts.update_user(user, password="short", email="a@example.org")
        assert user.email is None  # a bad password changes nothing
        accounts.update_user(user, password="a-longer-one", is_admin=True)
        assert accounts.verify_password(user.password_hash, "a-longer-one")
        assert user.is_admin
        await accounts.delete_user(session, user)
        await session.flush()
        assert await accounts.find_user(session, "newbie") is None
        await session.rollback()


async def test_sign_in_stamps_the_login_time(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        assert await authentication.sign_in(session, "dj", "wrong password") is None
        user = await authentication.sign_in(session, "dj", PASSWORD)
        assert user is not None
        assert user.last_login_at is not None


async def test_members_and_roles(world: ApiWorld) -> None:
    station, dj = world.stations["wgmr"], world.users["dj"]
    outsider = world.users["outsider"]
    async with world.ctx.sessions() as session:
        listed = await memberships.list_members(session, station)
        assert [(m.username, m.role) for m in listed] == [
            ("dj", Role.DJ),
            ("manager", Role.MANAGER),
        ]
        await memberships.set_role(session, outsider, station, Role.DJ)
        await memberships.set_role(session, dj, station, Role.MANAGER)
        await session.flush()
        assert await authentication.membership_role(session, dj, station) is Role.MANAGER
        assert await authentication.station_roles(session, outsider) == {station: Role.DJ}
        await memberships.remove(session, outsider, station)
        await session.flush()
        assert await authentication.membership_role(session, outsider, station) is None
        with pytest.raises(NotFoundError, match="is not a member"):
            await memberships.remove(session, outsider, station)


async def test_api_keys(world: ApiWorld) -> None:
    owner, other = world.users["manager"], world.users["dj"]
    async with world.ctx.sessions() as session:
        new = await tokens.create_api_key(session, owner, "script")
        assert [k.name for k in await tokens.list_api_keys(session, owner)] == ["script"]
        assert await tokens.list_api_keys(session, other) == []
        used = await tokens.use_api_key(session, new.secret)
        assert used.last_used_at is not None
        with pytest.raises(NotFoundError):
            await tokens.revoke_api_key(session, other, new.row.id)
        assert (await tokens.revoke_api_key(session, owner, new.row.id))[1] is True
        assert (await tokens.revoke_api_key(session, owner, new.row.id))[1] is False
        with pytest.raises(tokens.TokenError, match="revoked"):
            await tokens.check_api_key(session, new.secret)


async def test_stations(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        assert [s.short_name for s in await stations.list_stations(session)] == [
            "other",
            "wgmr",
        ]
        wgmr = await stations.get_station(session, "wgmr")
        assert await stations.find_station(session, wgmr.id) is wgmr
        assert await stations.find_station_named(session, "wgmr") is wgmr
        assert await stations.find_station_named(session, "nope") is None
        detail = await stations.station_with_outputs(session, wgmr.id)
        assert detail.mounts
        assert detail.mounts[0].outputs
        with pytest.raises(NotFoundError, match="no station"):
            await stations.station_with_outputs(session, uuid.uuid4())
        await stations.delete_station(session, wgmr)
        await session.flush()
        assert await stations.find_station_named(session, "wgmr") is None


async def test_the_routes_answer_as_before(world: ApiWorld) -> None:
    missing = uuid.uuid4()
    async with world.client("admin") as admin, world.client("manager") as manager:
        r = await admin.get("/api/v1/users", params={"limit": 2, "offset": 1})
        assert r.status_code == 200
        page = r.json()
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
        assert [u["username"] for u in page["items"]] == ["dj", "manager"]
        r = await admin.get(f"/api/v1/users/{missing}")
        assert r.status_code == 404
        assert r.json()["detail"] == f"no user with id {missing}: see GET /api/v1/users"
        r = await admin.post(
            "/api/v1/users",
            json={"username": "newbie", "password": PASSWORD, "display_name": "N"},
        )
        assert r.status_code == 201
        assert r.json()["display_name"] == "N"
        newbie = r.json()["id"]
        r = await admin.post("/api/v1/users", json={"username": "newbie", "password": PASSWORD})
        assert r.status_code == 409
        r = await admin.patch(f"/api/v1/users/{newbie}", json={"password": "short"})
        assert r.status_code == 422
        assert "too short" in r.json()["detail"]
        r = await admin.patch(f"/api/v1/users/{world.users['admin']}", json={"disabled": True})
        assert r.status_code == 409

        r = await manager.put(f"/api/v1/stations/wgmr/members/{newbie}", json={"role": "dj"})
        assert r.status_code == 200
        assert r.json() == {"user_id": newbie, "username": "newbie", "role": "dj"}
        r = await manager.get("/api/v1/stations/wgmr/members")
        assert [m["username"] for m in r.json()] == ["dj", "manager", "newbie"]
        r = await manager.put(f"/api/v1/stations/wgmr/members/{missing}", json={"role": "dj"})
        assert r.status_code == 404
        r = await manager.delete(f"/api/v1/stations/wgmr/members/{newbie}")
        assert r.status_code == 204
        r = await manager.delete(f"/api/v1/stations/wgmr/members/{newbie}")
        assert r.status_code == 404
        assert r.json()["detail"] == f"user {newbie} is not a member of wgmr"

        r = await manager.put(
            "/api/v1/me/password",
            json={"current_password": "wrong password", "new_password": "another-one"},
        )
        assert r.status_code == 403
        r = await manager.delete(f"/api/v1/me/api-keys/{missing}")
        assert r.status_code == 404
        assert r.json()["detail"] == (f"you have no API key {missing}: see GET /api/v1/me/api-keys")

        r = await admin.delete(f"/api/v1/users/{newbie}")
        assert r.status_code == 204
        r = await admin.get("/api/v1/stations")
        assert [s["short_name"] for s in r.json()] == ["other", "wgmr"]
        r = await admin.delete("/api/v1/stations/other")
        assert r.status_code == 204
        r = await admin.get("/api/v1/stations")
        assert [s["short_name"] for s in r.json()] == ["wgmr"]
