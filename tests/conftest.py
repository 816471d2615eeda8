"""Every test runs with home, data dir and settings pointing at a temp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._peers import IcecastServer, Senders, icecast_server
from tests._require import require_peer


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
