"""One way for a test to need a peer: skip locally with what to install, fail in CI.

``scripts/test-peers.sh`` installs every peer before CI runs the suite, so a
missing one there is a broken set-up, never a reason to skip quietly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

#: Programs the suite runs, and how to get each.
PEERS: dict[str, str] = {
    "ffmpeg": "apt-get install ffmpeg",
    "ffprobe": "apt-get install ffmpeg",
    "icecast2": "apt-get install icecast2",
    "srt-live-transmit": "apt-get install srt-tools",
    "espeak-ng": "apt-get install espeak-ng",
    "mpg123": "apt-get install mpg123",
    "chromium": "apt-get install chromium",
    "redis-server": "apt-get install redis-server",
    "bash": "apt-get install bash",
    "promtool": "apt-get install prometheus",
    "amtool": "apt-get install prometheus-alertmanager",
    "prometheus": "apt-get install prometheus",
}

#: ../shared beside the checkout (the roadmap's files the project must accept as is).
SHARED = Path(__file__).resolve().parents[2] / "shared"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> NoReturn:
    """Skip locally; fail under ``CI`` (set), where every peer is installed."""
    if in_ci():
        pytest.fail(f"{reason} (CI installs it with scripts/test-peers.sh)", pytrace=False)
    pytest.skip(reason)


def peer_path(name: str) -> str | None:
    """Where program ``name`` is, or ``None``."""
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


def require_peer(name: str) -> str:
    """The path of program ``name``; a missing one skips (locally) or fails (CI)."""
    path = peer_path(name)
    if path is None:
        skip_or_fail(f"needs {name}: {PEERS.get(name, f'install {name}')}")
        raise AssertionError("unreachable")  # skip_or_fail raises
    return path


def require_shared(name: str) -> Path:
    """A file of ../shared; its absence skips locally and fails in CI (CI lays it beside)."""
    path = SHARED / name
    if not path.exists():
        skip_or_fail(f"needs {path}: the shared/ folder beside the checkout")
    return path


def peer(*names: str) -> pytest.MarkDecorator:
    """Mark a test as needing programs ``names`` (checked by ``tests/conftest.py``)."""
    return pytest.mark.peer(*names)


#: The ffmpeg CLI (a bare name when missing, so a command line still reads well;
#: tests that run it carry ``peer("ffmpeg")`` or call ``require_peer``).
FFMPEG_PATH: str = peer_path("ffmpeg") or "ffmpeg"
