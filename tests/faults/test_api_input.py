"""Hostile input to the API: bodies too large to read, and text no database can store.

Oversize bodies are refused with 413 before they are read (from ``Content-Length``)
or the moment they pass the limit (chunked), whoever sends them; uploads keep their
own, larger limit. NUL and lone surrogates anywhere in a request are a 422 naming
the field, on SQLite and on PostgreSQL (where NUL used to be a 500).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from grimnir.api import ApiContext, create_app
from grimnir.api._body_limit import BODY_LIMIT
from grimnir.api.tokens import issue_access
from grimnir.bus import MemoryBus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.services.accounts import create_user
from grimnir.services.stations import register_station
from grimnir.store import create_engine, session_factory
from tests._api import PASSWORD, SECRET, ApiWorld, api_world, example_config, unlimited
from tests._databases import migrated_database
from tests._require import require_peer

LOGIN = "/api/v1/auth/login"
W = "/api/v1/stations/wgmr"
CHUNK = 64 * 1024


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


@dataclass
class Sender:
    """A request body of ``size`` bytes made as it is pulled, counting what was pulled."""

    size: int
    pulled: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        while self.pulled < self.size:
            piece = b"x" * min(CHUNK, self.size - self.pulled)
            self.pulled += len(piece)
            yield piece


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


def post_json(client: httpx.AsyncClient, url: str, document: Any) -> Any:
    """POST ``document`` as JSON with every non-ASCII character escaped, as a client
    would send a lone surrogate (httpx's own encoding cannot)."""
    content = json.dumps(document).encode("ascii")
    return client.post(url, content=content, headers={"content-type": "application/json"})


# -- body limits ------------------------------------------------------------------------


async def test_content_length_over_the_limit_is_413_before_the_body_is_read(
    world: ApiWorld,
) -> None:
    body = Sender(200 * 1024 * 1024)
    headers = {"content-type": "application/json", "content-length": str(body.size)}
    r = await world.client().post(LOGIN, content=body.stream(), headers=headers)
    detail = problem(r, 413)["detail"]
    assert "1 MiB" in detail
    assert f"POST {LOGIN}" in detail
    assert r.headers["connection"] == "close"  # the unread rest cannot share the connection
    assert body.pulled <= CHUNK, f"{body.pulled} bytes read of a body refused unread"


async def test_chunked_body_is_cut_off_once_past_the_limit(world: ApiWorld) -> None:
    body = Sender(64 * 1024 * 1024)
    r = await world.client().post(
        LOGIN, content=body.stream(), headers={"content-type": "application/json"}
    )
    detail = problem(r, 413)["detail"]
    assert "1 MiB" in detail
    assert f"POST {LOGIN}" in detail
    assert BODY_LIMIT < body.pulled <= BODY_LIMIT + CHUNK, body.pulled  # not drained


async def test_a_body_under_the_limit_still_gets_through(world: ApiWorld) -> None:
    r = await world.client().post(LOGIN, json={"username": "dj", "password": "x" * 600_000})
    # refused by the route (the field's own limit), not by the body limit
    assert r.status_code == 422, r.text


async def test_upload_route_takes_a_file_larger_than_the_json_limit(
    world: ApiWorld, tmp_path: Path
) -> None:
    path = tmp_path / "long.wav"
    subprocess.run(
        [
            *(require_peer("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "lavfi"),
            *("-i", "sine=f=440:r=44100:d=8", "-ac", "2", "-c:a", "pcm_s16le", str(path)),
        ],
        check=True,
        timeout=60,
    )
    data = path.read_bytes()
    assert len(data) > BODY_LIMIT
    manager = world.client("manager")
    r = await manager.post(f"{W}/media", files={"file": ("long.wav", data, "audio/wav")})
    assert r.status_code == 201, r.text
    assert r.json()["size_bytes"] == len(data)
    # its own limit is the upload limit of the moment, and holds before reading too
    world.ctx.max_upload_bytes = 2 * 1024 * 1024
    body = Sender(200 * 1024 * 1024)
    headers = {"content-type": "multipart/form-data; boundary=x", "content-length": str(body.size)}
    r = await world.client().post(f"{W}/media", content=body.stream(), headers=headers)
    detail = problem(r, 413)["detail"]
    assert f"POST {W}/media" in detail
    assert "at most 2 MiB" in detail
    assert body.pulled <= CHUNK


# -- unstorable text ----------------------------------------------------------------------

_NUL = "\x00"
_LONE = "\ud800"


@pytest.mark.parametrize(
    ("route", "document", "loc"),
    [
        pytest.param("playlists", {"name": f"Morning{_NUL}Show"}, ["body", "name"], id="nul"),
        pytest.param(
            "playlists",
            {"name": "Morning", "description": f"half an emoji {_LONE}"},
            ["body", "description"],
            id="lone-surrogate",
        ),
        pytest.param(
            "smart-blocks",
            {
                "name": "Rock",
                "rules": {"groups": [[{"field": "genre", "modifier": "is", "value": f"ro{_NUL}"}]]},
            },
            ["body", "rules", "groups", "0", "0", "value"],
            id="nul-deep-in-free-json",
        ),
        pytest.param(
            "smart-blocks",
            {"name": "Rock", "rules": {"separation": {f"art{_NUL}ist": 30}}},
            ["body", "rules", "separation", "art\\u0000ist"],
            id="nul-in-a-key",
        ),
    ],
)
async def test_unstorable_text_in_a_body_is_422_naming_the_field(
    world: ApiWorld, route: str, document: dict[str, Any], loc: list[str]
) -> None:
    manager = world.client("manager")
    body = problem(await post_json(manager, f"{W}/{route}", document), 422)
    assert [e["loc"] for e in body["errors"]] == [loc]
    assert "cannot be stored" in body["errors"][0]["msg"]
    assert ".".join(loc) in body["detail"]
    listed = (await manager.get(f"{W}/{route}")).json()
    assert listed["items"] == []


async def test_unstorable_text_in_path_and_query_is_422(world: ApiWorld) -> None:
    manager = world.client("manager")
    in_path = problem(await manager.get("/api/v1/stations/wg%00mr"), 422)
    assert [e["loc"] for e in in_path["errors"]] == [["path"]]
    in_query = problem(await manager.get(f"{W}/media", params={"artist": f"A{_NUL}"}), 422)
    assert [e["loc"] for e in in_query["errors"]] == [["query", "artist"]]
    assert "NUL" in in_query["detail"]


# -- on PostgreSQL, where NUL was a 500 -----------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database("postgresql", tmp_path_factory.mktemp("db-postgresql")) as url:
        yield url


@asynccontextmanager
async def postgres_client(url: str, folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of an app over the PostgreSQL database at ``url``, which
    gets station ``wgmr``."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    bus = MemoryBus()
    try:
        async with sessions() as session:
            config = StationConfig.model_validate(example_config(short_name="wgmr"))
            await register_station(session, config)
            admin = await create_user(session, username="admin", password=PASSWORD, is_admin=True)
            await session.commit()
        await bus.connect()
        settings = Settings(data_dir=folder, database_url=url)
        app = create_app(ApiContext(settings, sessions, bus, SECRET, limits=unlimited()))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {issue_access(SECRET, admin.id)}"},
        ) as client:
            yield client
    finally:
        await bus.close()
        await engine.dispose()


@pytest.mark.postgres
async def test_unstorable_text_is_422_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    async with postgres_client(postgres_url, tmp_path) as client:
        for document, loc in [
            ({"name": f"Morning{_NUL}Show"}, ["body", "name"]),
            ({"name": "Morning", "description": _LONE}, ["body", "description"]),
        ]:
            body = problem(await post_json(client, f"{W}/playlists", document), 422)
            assert [e["loc"] for e in body["errors"]] == [loc]
        in_path = problem(await client.get("/api/v1/stations/wg%00mr"), 422)
        assert in_path["errors"][0]["loc"] == ["path"]
        # the same request without the NUL is stored: the database is really there
        r = await post_json(client, f"{W}/playlists", {"name": "Morning Show"})
        assert r.status_code == 201, r.text
