"""An API over a fresh SQLite database with known users and stations, for tests.

Users (password ``correct horse battery``): ``admin`` (administrator),
``manager`` and ``dj`` (members of station ``wgmr`` with those roles),
``outsider`` (no membership) and ``rival`` (manager of station ``other``).
``ApiWorld.client(name)`` is an httpx client signed in as that user (``None``:
anonymous), talking to the app in process.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from grimnir.api import ApiContext, OnAir, create_app
from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.api.tokens import issue_access
from grimnir.bus import EventBus, MemoryBus
from grimnir.config.settings import Settings
from grimnir.config.station import StationConfig
from grimnir.domain import Role
from grimnir.engine.client import EngineClient, InProcessEngineClient
from grimnir.engine.clock import VirtualClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine
from grimnir.executor.station import StationExecutor
from grimnir.services.accounts import create_user
from grimnir.services.stations import register_station
from grimnir.store import create_engine, upgrade
from grimnir.store.db import session_factory
from grimnir.store.models import Membership

PASSWORD = "correct horse battery"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "station-wgmr.yaml"
SECRET = b"k" * 64
OTHER_ID = uuid.UUID("00000000-0000-4000-8000-00000000beef")


def example_config(**station: Any) -> dict[str, Any]:
    """The shared example station config as JSON, with ``station`` fields replaced."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["station"].update(station)
    return raw


async def _populate(path: Path) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            main, _ = await register_station(
                session, StationConfig.model_validate(example_config(short_name="wgmr"))
            )
            other, _ = await register_station(
                session,
                StationConfig.model_validate(
                    example_config(id=str(OTHER_ID), name="Other FM", short_name="other")
                ),
            )
            stations = {"wgmr": main.id, "other": other.id}
            users: dict[str, uuid.UUID] = {}
            for name, admin in [
                ("admin", True),
                ("manager", False),
                ("dj", False),
                ("outsider", False),
                ("rival", False),
            ]:
                user = await create_user(session, username=name, password=PASSWORD, is_admin=admin)
                users[name] = user.id
            for name, station, role in [
                ("manager", main.id, Role.MANAGER),
                ("dj", main.id, Role.DJ),
                ("rival", other.id, Role.MANAGER),
            ]:
                session.add(Membership(user_id=users[name], station_id=station, role=role))
            await session.commit()
    finally:
        await engine.dispose()
    return users, stations


@dataclass
class _Template:
    path: Path
    users: dict[str, uuid.UUID]
    stations: dict[str, uuid.UUID]


_TEMPLATE: list[_Template] = []


async def template_database(folder: Path) -> _Template:
    """A migrated database with the users and stations, made once per test session
    (hashing five passwords and registering two stations is the slow part) and
    copied for each test."""
    if not _TEMPLATE:
        path = folder / "api-template.sqlite"
        users, stations = await _populate(path)
        _TEMPLATE.append(_Template(path, users, stations))
    return _TEMPLATE[0]


@dataclass
class ApiWorld:
    app: FastAPI
    ctx: ApiContext
    db: AsyncEngine
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    stations: dict[str, uuid.UUID] = field(default_factory=dict)
    _clients: list[httpx.AsyncClient] = field(default_factory=list)
    db_path: Path | None = None

    async def reset_database(self) -> None:
        """Back to the template's users and stations (the app and its caches stay):
        far cheaper than a new world, whose app builds every route again."""
        assert self.db_path is not None
        assert _TEMPLATE
        await self.db.dispose()
        shutil.copy(_TEMPLATE[0].path, self.db_path)

    def token(self, name: str) -> str:
        return issue_access(self.ctx.secret, self.users[name])

    def client(
        self, name: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.AsyncClient:
        headers = dict(headers or {})
        if name is not None:
            headers["Authorization"] = f"Bearer {self.token(name)}"
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver",
            headers=headers,
            **kwargs,
        )
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        await self.ctx.bus.close()
        await self.db.dispose()


def unlimited() -> Limits:
    """Rate limits off (tests of the limits build their own)."""
    off = Limit(0, 0)
    return Limits(login=RateLimiter(off), harbor=RateLimiter(off), public=RateLimiter(off))


@asynccontextmanager
async def api_world(
    folder: Path,
    *,
    on_air: OnAir | None = None,
    limits: Limits | None = None,
    bus: EventBus | None = None,
) -> AsyncIterator[ApiWorld]:
    """A fresh database with the users and stations above, and the app over it."""
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "api.sqlite"
    template = await template_database(folder.parent)
    shutil.copy(template.path, db_path)
    db = create_engine(f"sqlite:///{db_path}")
    sessions = session_factory(db)
    the_bus = bus or MemoryBus()
    await the_bus.connect()
    ctx = ApiContext(
        settings=Settings(data_dir=folder, database_url=f"sqlite:///{db_path}"),
        sessions=sessions,
        bus=the_bus,
        secret=SECRET,
        limits=limits or unlimited(),
    )
    if on_air is not None:
        ctx.on_air = on_air
    world = ApiWorld(create_app(ctx), ctx, db, db_path=db_path)
    world.users = dict(template.users)
    world.stations = dict(template.stations)
    try:
        yield world
    finally:
        await world.close()


def in_lockstep(
    world: ApiWorld, engine: Engine, station: str = "wgmr"
) -> tuple[EngineClient, StationExecutor]:
    """A client of ``engine`` (in process, on its virtual clock) and ``station``'s
    executor driving it in lock-step (the test steps the engine)."""
    station_id = world.stations[station]
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    client = InProcessEngineClient(LocalControl(engine, str(station_id)))
    executor = StationExecutor(
        station_id,
        world.ctx.sessions,
        client,
        world.ctx.bus,
        clock=lambda: clock.time_at(clock.frame),
        preload_s=10.0,
        lockstep=True,
    )
    return client, executor
