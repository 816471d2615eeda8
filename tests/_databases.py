"""Throwaway databases for test modules outside tests/store, migrated to head.

The store suite's ``DatabaseServer`` makes them (SQLite files, or fresh
databases on the PostgreSQL/MariaDB servers); its conftest is loaded here
under its own name, because pytest imported it as "conftest" for tests/store/.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from grimnir.store import create_engine, upgrade


def store_conftest() -> ModuleType:
    name = "grimnir_tests_store_conftest"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_store = store_conftest()
DatabaseServer = _store.DatabaseServer
run_async = _store.run_async


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a fresh ``backend`` database at the newest schema; dropped after."""
    server = DatabaseServer(backend, folder)
    server.check_reachable()
    try:
        url = server.create()

        async def migrate() -> None:
            engine = create_engine(url)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()

        run_async(migrate)
        yield url
    finally:
        server.drop_all()
