"""Every test runs with home, data dir and settings pointing at a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
