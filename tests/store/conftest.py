"""Store fixtures: every store test runs on SQLite, PostgreSQL and MariaDB.

Server databases are throwaway: each run creates uniquely named databases
(``grimnir_t_<hex>``) through the admin URL and drops them at the end. Set
``GRIMNIR_TEST_POSTGRES_URL`` / ``GRIMNIR_TEST_MARIADB_URL`` to point elsewhere.
Without a server the tests skip, except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from grimnir.store import create_engine, mask_url, session_factory, upgrade
from grimnir.store.models import Station
from tests._require import skip_or_fail

T = TypeVar("T")

_ADMIN_URLS = {
    "postgresql": ("GRIMNIR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mariadb": ("GRIMNIR_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
_NAMES = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}
_CONNECT_TIMEOUT_S = 10.0


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to completion on a private event loop in a worker thread, so it
    never meets the loop pytest-asyncio runs the tests on."""

    async def main() -> T:
        return await fn()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


class DatabaseServer:
    """Hands out fresh, empty databases of one backend and drops them afterwards."""

    def __init__(self, backend: str, tmp_dir: Path) -> None:
        self.backend = backend
        self._tmp_dir = tmp_dir
        self._created: list[str] = []
        self.admin_url = ""
        if backend in _ADMIN_URLS:
            env, default = _ADMIN_URLS[backend]
            self.admin_url = os.environ.get(env, default)

    async def _admin(self, *statements: str) -> None:
        engine = create_engine(self.admin_url)
        try:
            # CREATE/DROP DATABASE refuse to run inside a transaction
            admin = engine.execution_options(isolation_level="AUTOCOMMIT")
            async with asyncio.timeout(_CONNECT_TIMEOUT_S), admin.connect() as conn:
                for statement in statements:
                    await conn.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    def check_reachable(self) -> None:
        if self.backend == "sqlite":
            return
        try:
            run_async(lambda: self._admin("SELECT 1"))
        except Exception as e:  # any failure means the server is not usable
            env, _ = _ADMIN_URLS[self.backend]
            cause = getattr(e, "orig", None) or e  # the driver's words, not SQLAlchemy's wrapper
            reason = (
                f"{_NAMES[self.backend]} not reachable at {mask_url(self.admin_url)} "
                f"({type(cause).__name__}: {cause}): start it or set {env}"
            )
            skip_or_fail(reason)

    def create(self) -> str:
        """The URL of a new, empty database."""
        name = f"grimnir_t_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self._tmp_dir / name}.db"
        if self.backend == "postgresql":
            run_async(lambda: self._admin(f"CREATE DATABASE {name} ENCODING 'UTF8'"))
        else:
            run_async(
                lambda: self._admin(
                    f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
        self._created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._created:
            return
        force = " WITH (FORCE)" if self.backend == "postgresql" else ""
        run_async(
            lambda: self._admin(*(f"DROP DATABASE IF EXISTS {n}{force}" for n in self._created))
        )
        self._created.clear()


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
    ],
)
def db_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseServer]:
    """One backend; the parameter that runs every store test on each database."""
    server = DatabaseServer(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    server.check_reachable()
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def migrated_url(db_server: DatabaseServer) -> str:
    """A database of this run, migrated to head once and shared by the tests
    (which therefore use unique names and never assume empty tables)."""
    url = db_server.create()

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run_async(migrate)
    return url


@pytest.fixture
def empty_url(db_server: DatabaseServer) -> str:
    """A brand-new database without any tables, for this test alone."""
    return db_server.create()


@pytest.fixture
def backend(db_server: DatabaseServer) -> str:
    return db_server.backend


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own per test (engines must not outlive their event loop)."""
    engine = create_engine(migrated_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def station(sessions: async_sessionmaker[AsyncSession]) -> Station:
    """A committed station with a unique short name."""
    short = f"st-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        row = Station(short_name=short, name=f"Station {short}", timezone="Europe/Oslo")
        session.add(row)
    return row
