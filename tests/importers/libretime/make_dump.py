"""A small LibreTime station as LibreTime's backup has it: a ``pg_dump`` plain SQL file,
the storage folder with the audio and ``config.yml``.

    python -m tests.importers.libretime.make_dump OUT_DIR

``schema.sql`` (``make_schema.py``: LibreTime's own schema) is loaded into a fresh,
uniquely named PostgreSQL database on 127.0.0.1:5432, the station below is
inserted with SQL the way LibreTime writes its rows (passwords as the MD5 hex
digest its PHP ``md5()`` and its API's ``hashlib.md5`` store; ``last_show`` the
day after a show's end; an edited occurrence as a ``modified_instance`` plus a
non-repeating ``cc_show_days`` row and a new instance), then the database is
dumped as LibreTime's backup guide says (``pg_dump --no-owner --no-privileges``)
and dropped. Audio files are short distinct tones made with ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.importers.libretime._station import CONFIG_YML, FILES, station_sql

__all__ = [
    "CONFIG_YML",
    "Fixture",
    "database_url",
    "libretime_database",
    "make",
    "pg_dump",
    "write_storage",
]

SCHEMA = Path(__file__).resolve().parent / "schema.sql"
ADMIN_URL = os.environ.get("GRIMNIR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
PSQL = shutil.which("psql") or "/usr/bin/psql"
PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


@dataclass(frozen=True)
class Fixture:
    """What a LibreTime backup consists of, on disk."""

    dump: Path
    storage: Path
    config: Path


def md5(password: str) -> str:
    """A password as LibreTime stores it in ``cc_subjs.pass``."""
    return hashlib.md5(password.encode()).hexdigest()  # noqa: S324 - LibreTime's own format


def _psql(database: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [PSQL, *_PG, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-X", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"psql on {database} failed: {done.stderr.strip()}")
    return done.stdout


@contextmanager
def libretime_database() -> Iterator[str]:
    """The name of a fresh database holding LibreTime's schema and the station;
    dropped afterwards."""
    name = f"lt_fixture_{uuid.uuid4().hex[:12]}"
    _psql("postgres", "-c", f"CREATE DATABASE {name} ENCODING 'UTF8'")
    try:
        _psql(name, "-f", str(SCHEMA))
        _psql(name, stdin=station_sql())
        yield name
    finally:
        _psql("postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def pg_dump(database: str, out: Path, *, inserts: bool = False) -> Path:
    """``pg_dump --no-owner --no-privileges`` (LibreTime's backup guide) to ``out``."""
    extra = ["--inserts"] if inserts else []
    subprocess.run(
        [PG_DUMP, *_PG, "--no-owner", "--no-privileges", *extra, "-f", str(out), database],
        check=True,
        capture_output=True,
    )
    return out


def write_storage(folder: Path) -> Path:
    """The storage folder: each file of ``FILES`` at its ``filepath`` (relative to
    the folder; an absolute one under /srv/libretime goes to its relative place),
    except those marked missing; identical files are byte-for-byte copies."""
    made: dict[str, Path] = {}
    for f in FILES:
        if f.missing:
            continue
        relative = f.path.removeprefix("/srv/libretime/")
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.same_as is not None:
            shutil.copyfile(made[f.same_as], target)
        else:
            _tone(target, f.tone_hz, f.seconds)
        made[f.key] = target
    return folder


def _tone(target: Path, hz: int, seconds: float) -> None:
    subprocess.run(
        [
            FFMPEG, "-nostdin", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"sine=frequency={hz}:duration={seconds}:sample_rate=44100",
            "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
            str(target),
        ],
        check=True,
    )  # fmt: skip


def make(out: Path, *, inserts: bool = False) -> Fixture:
    """A whole LibreTime backup in ``out``: ``libretime.sql``, ``storage/``, ``config.yml``."""
    out.mkdir(parents=True, exist_ok=True)
    with libretime_database() as name:
        dump = pg_dump(name, out / "libretime.sql", inserts=inserts)
    config = out / "config.yml"
    config.write_text(CONFIG_YML, encoding="utf-8")
    return Fixture(dump=dump, storage=write_storage(out / "storage"), config=config)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_dump.py OUT_DIR")
    fixture = make(Path(sys.argv[1]))
    print(f"wrote {fixture.dump}, {fixture.storage}, {fixture.config}")
