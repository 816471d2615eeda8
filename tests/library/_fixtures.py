"""Helpers for the ingest, pool and CLI tests (L1 owns ``conftest.py`` here).

Task functions are top level so the pool can pickle them to its workers;
they are real functions doing real things (sleeping, crashing, raising),
which is what the pool's mechanics must cope with. Media files are written
by the ffmpeg CLI from its own signal generators, so every test file is a
genuine encoder's output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain.errors import LibraryError
from grimnir.library.pool import AnalysisPool
from grimnir.store import create_engine, session_factory
from grimnir.store.models import Station
from tests._databases import migrated_database
from tests._require import require_peer

# -- pool task functions ------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def whoami() -> int:
    return os.getpid()


def nap(seconds: float, value: object = None) -> object:
    time.sleep(seconds)
    return value


def sleep_forever() -> None:
    while True:
        time.sleep(3600)


def fail_with(message: str) -> None:
    raise LibraryError(message)


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def crash_first_time(marker: str, value: object) -> object:
    """Die the first time (leaving ``marker`` behind), succeed on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return value


class _Odd(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"odd {a} {b}")


def raise_unpicklable() -> None:
    raise _Odd(1, 2)


def return_unpicklable() -> object:
    return lambda: None


# -- media files --------------------------------------------------------------

_CODEC_ARGS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "m4a": ["-c:a", "aac", "-b:a", "160k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
    "opus": ["-c:a", "libopus", "-b:a", "128k"],
    "flac": ["-c:a", "flac"],
    "wav": ["-c:a", "pcm_s16le"],
}
FORMATS = tuple(_CODEC_ARGS)


def ffmpeg() -> str:
    return require_peer("ffmpeg")


def make_audio(
    path: Path,
    *,
    seconds: float,
    fmt: str | None = None,
    freq_hz: float = 440.0,
    level_db: float = -12.0,
    head_s: float = 0.0,
    tail_s: float = 0.0,
    silent: bool = False,
    metadata: dict[str, str] | None = None,
    rate: int = 44100,
) -> Path:
    """Write a tone (``seconds`` in all, silences included) in ``fmt`` (from the suffix).

    ``level_db`` is the sine's peak; ``head_s``/``tail_s`` are digital
    silence before and after it; ``silent`` writes only silence.
    """
    fmt = fmt or path.suffix.lstrip(".")
    body = max(0.0, seconds - head_s - tail_s)
    if silent:
        source = f"anullsrc=r={rate}:cl=stereo,atrim=duration={seconds}"
    else:
        gain = 10 ** (level_db / 20) * 8  # lavfi's sine peaks at 1/8 (-18 dBFS)
        source = (
            f"sine=f={freq_hz}:r={rate}:d={body},volume={gain:.6f},"
            f"pan=stereo|c0=c0|c1=c0,"
            f"adelay={int(head_s * 1000)}|{int(head_s * 1000)},apad=pad_dur={tail_s}"
        )
    tags: list[str] = []
    for key, value in (metadata or {}).items():
        tags += ["-metadata", f"{key}={value}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg(),
            *["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source],
            *_CODEC_ARGS[fmt],
            *tags,
            *(["-f", "ogg"] if fmt == "opus" else []),
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


# -- databases ----------------------------------------------------------------
# NOTE: the store suite's DatabaseServer makes the throwaway databases; its
# conftest is loaded under another name because pytest already imported it
# as "conftest" for tests/store/.


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def library_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh database migrated to head, per backend and test module."""
    with migrated_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture
async def sessions(library_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(library_db)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def station_id(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    """A committed station with a unique short name."""
    short = f"st-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        row = Station(short_name=short, name=f"Station {short}", timezone="UTC")
        session.add(row)
    return row.id


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalysisPool]:
    """Two workers shared by a module's tests (one per core of these machines)."""
    with AnalysisPool(workers=2, timeout_s=60) as shared:
        yield shared
