"""Signing in, tokens and API keys, against the real app and database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.api.tokens import issue_access
from tests._api import PASSWORD, SECRET, ApiWorld, api_world


async def _login(world: ApiWorld, name: str, password: str = PASSWORD) -> dict[str, object]:
    async with world.client() as client:
        r = await client.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_login_gives_tokens_that_work(world: ApiWorld) -> None:
    pair = await _login(world, "dj")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    async with world.client() as client:
        r = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
    assert r.status_code == 200
    me = r.json()
    assert me["username"] == "dj"
    assert not me["is_admin"]
    assert [(s["short_name"], s["role"]) for s in me["stations"]] == [("wgmr", "dj")]


async def test_wrong_password_and_unknown_user_look_the_same(world: ApiWorld) -> None:
    async with world.client() as client:
        a = await client.post("/api/v1/auth/login", json={"username": "dj", "password": "nope"})
        b = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert a.status_code == b.status_code == 401
    assert a.headers["content-type"] == "application/problem+json"
    assert a.json()["detail"] == b.json()["detail"]


async def test_refresh_rotates_and_a_replay_revokes_the_sign_in(world: ApiWorld) -> None:
    first = await _login(world, "manager")
    async with world.client() as client:
        r1 = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert r1.status_code == 200
        second = r1.json()
        assert second["refresh_token"] != first["refresh_token"]
        # the old one again: refused, and it takes the new one down with it
        replay = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert replay.status_code == 401
        assert "already used" in replay.json()["detail"]
        after = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
        assert after.status_code == 401


async def test_logout_ends_the_refresh_token(world: ApiWorld) -> None:
    pair = await _login(world, "dj")
    async with world.client() as client:
        r = await client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 204
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_bad_tokens_get_401(world: ApiWorld) -> None:
    user = str(world.users["admin"])
    now = datetime.now(UTC)
    good = issue_access(SECRET, world.users["admin"])
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = ".".join([head, _b64({**claims, "sub": str(world.users["dj"])}), sig])
    expired = issue_access(SECRET, world.users["admin"], now=now - timedelta(hours=1))
    none_alg = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64({**claims, "sub": user}), ""])
    wrong_key = jwt.encode(
        {**claims, "exp": int((now + timedelta(minutes=5)).timestamp())},
        b"another key entirely, 32 bytes long!",
        algorithm="HS256",
    )
    not_access = jwt.encode({**claims, "typ": "refresh"}, SECRET, algorithm="HS256")
    async with world.client() as client:
        ok = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200
        for token in [tampered, expired, none_alg, wrong_key, not_access, "garbage", "a.b.c"]:
            r = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, token
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["detail"]
        r = await client.get("/api/v1/users", headers={"Authorization": "Basic abc"})
        assert r.status_code == 401
        r = await client.get("/api/v1/users")
        assert r.status_code == 401
        assert "sign in" in r.json()["detail"]


async def test_login_brute_force_is_rate_limited(tmp_path: Path) -> None:
    limits = Limits(login=RateLimiter(Limit(0.2, 5)))
    async with api_world(tmp_path, limits=limits) as world, world.client() as client:
        codes = []
        for _ in range(8):
            r = await client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": "guess"}
            )
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429] * 3
        assert int(r.headers["retry-after"]) >= 1
        # the right password does not get through either while limited
        r = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        assert r.status_code == 429


async def test_api_keys_are_shown_once_work_and_can_be_revoked(world: ApiWorld) -> None:
    async with world.client("manager") as client:
        r = await client.post("/api/v1/me/api-keys", json={"name": "scheduler script"})
        assert r.status_code == 201
        key = r.json()["key"]
        assert key.startswith("grk_")
        listed = (await client.get("/api/v1/me/api-keys")).json()
        assert [k["name"] for k in listed] == ["scheduler script"]
        assert "key" not in listed[0]
    async with world.client(headers={"X-API-Key": key}) as by_key:
        r = await by_key.get("/api/v1/auth/me")
        assert r.status_code == 200
        assert r.json()["via"] == "api_key"
        r = await by_key.get("/api/v1/stations/wgmr")
        assert r.status_code == 200
        r = await by_key.get("/api/v1/users")
        assert r.status_code == 403
    async with world.client("manager") as client:
        r = await client.delete(f"/api/v1/me/api-keys/{listed[0]['id']}")
        assert r.status_code == 204
    async with world.client(headers={"Authorization": f"Bearer {key}"}) as by_key:
        r = await by_key.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert "revoked" in r.json()["detail"]
        r = await by_key.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}x"})
        assert r.status_code == 401


async def test_disabled_user_is_locked_out_at_once(world: ApiWorld) -> None:
    async with world.client("dj") as dj, world.client("admin") as admin:
        assert (await dj.get("/api/v1/auth/me")).status_code == 200
        r = await admin.patch(f"/api/v1/users/{world.users['dj']}", json={"disabled": True})
        assert r.status_code == 200
        assert (await dj.get("/api/v1/auth/me")).status_code == 401
