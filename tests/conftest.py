"""Every test runs with home, data dir and settings pointing at a temp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._peers import IcecastServer, Senders, icecast_server
from tests._require import require_peer

# -- spreading the run over pytest-xdist workers -----------------------------------------

SPREAD = {"tests/simulation/test_scenarios.py": 60.0, "tests/api/test_api_schemathesis.py": 100.0}
"""Files whose tests each take minutes: handed to workers one test at a time, longest
first (rough seconds per test: a scenario's station hours x 60, or the figure here),
then the end-to-end files, so no worker is left with a long file at the end of the run."""


def _weight(item: pytest.Item) -> float:
    file = item.nodeid.split("::", 1)[0]
    if file not in SPREAD:
        # the end-to-end files (tests/test_*.py: whole stations in processes) next
        return 1.0 if file.count("/") == 1 else 0.0
    callspec = getattr(item, "callspec", None)
    path = None if callspec is None else callspec.params.get("path")
    if isinstance(path, Path):
        from tests.simulation._scenario import load

        return load(path).duration_s / 3600 * SPREAD[file]
    return SPREAD[file]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -_weight(item))  # NOTE: stable: the rest keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile`` as usual (a file's tests share a worker and its module
    fixtures), except the files in ``SPREAD``, and in collection order (longest first)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Spread(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if file in SPREAD else file

    config.option.loadscopereorder = False
    return Spread(config, log)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@peer("ffmpeg", …)``: each program must be there (skip locally, fail in CI)."""
    for mark in item.iter_markers("peer"):
        for name in mark.args:
            require_peer(name)


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for key in list(os.environ):
        # NOTE: GRIMNIR_TEST_* point the suite at its peers and must survive.
        if key.startswith("GRIMNIR_") and not key.startswith("GRIMNIR_TEST_"):
            monkeypatch.delenv(key)
    return home


@pytest.fixture
def icecast() -> Iterator[IcecastServer]:
    """A real icecast2 on a free loopback port (source/admin password ``PASSWORD``)."""
    yield from icecast_server()


@pytest.fixture
def senders(icecast: IcecastServer) -> Iterator[Senders]:
    """ffmpeg processes pushing tones to mounts of a real icecast2."""
    require_peer("ffmpeg")
    group = Senders(icecast)
    try:
        yield group
    finally:
        group.kill_all()
