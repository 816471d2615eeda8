"""The ``backup`` fixture (import it into a test module), built once per module from
LibreTime's real schema: the station in a live PostgreSQL database and its backup
(dump, storage, config)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._databases import DatabaseServer
from tests._require import skip_or_fail
from tests.importers.libretime.make_dump import (
    CONFIG_YML,
    database_url,
    libretime_database,
    pg_dump,
    write_storage,
)


@dataclass(frozen=True)
class Backup:
    """A LibreTime backup on disk, plus the database it was dumped from (alive
    for the module)."""

    dump: Path
    inserts_dump: Path
    storage: Path
    config: Path
    url: str
    database: str
    folder: Path


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backup]:
    folder = tmp_path_factory.mktemp("libretime")
    DatabaseServer("postgresql", folder).check_reachable()
    for program in ("psql", "pg_dump", "ffmpeg"):
        if shutil.which(program) is None:
            skip_or_fail(f"{program} is not installed (apt-get install postgresql-client ffmpeg)")
    config = folder / "config.yml"
    config.write_text(CONFIG_YML, encoding="utf-8")
    storage = write_storage(folder / "storage")
    with libretime_database() as name:
        yield Backup(
            dump=pg_dump(name, folder / "libretime.sql"),
            inserts_dump=pg_dump(name, folder / "libretime-inserts.sql", inserts=True),
            storage=storage,
            config=config,
            url=database_url(name),
            database=name,
            folder=folder,
        )
