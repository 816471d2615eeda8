"""Fixtures the importer tests share."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.store import create_engine, session_factory
from tests._require import require_peer, skip_or_fail
from tests.importers.azuracast import make_backup as mb


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the module's ``db_url`` (a migrated database)."""
    engine = create_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The AzuraCast fixture backup zip (``azuracast/make_backup.py``), made once per module."""
    require_peer("ffmpeg")
    require_peer("zip")
    if shutil.which("mariadb") is None or shutil.which("mariadb-dump") is None:
        skip_or_fail(
            "needs the MariaDB client (mariadb, mariadb-dump): apt-get install mariadb-client"
        )
    if not mb.reachable():
        skip_or_fail(
            "needs MariaDB on 127.0.0.1:3306 (root, no password): apt-get install mariadb-server"
        )
    return mb.make_backup(tmp_path_factory.mktemp("azuracast") / "backup.zip")
