"""Make an AzuraCast backup zip the way ``azuracast:backup`` makes one.

``schema.sql`` (AzuraCast's schema, see ``make_schema.py``) is loaded into a
fresh, uniquely named MariaDB database on 127.0.0.1:3306 (root, no password);
two stations are inserted through SQL; the database is dumped with the options
``BackupCommand`` passes (``mariadb-dump --add-drop-table
--default-character-set=UTF8MB4`` into ``tmp/azuracast_backup_mariadb/db.sql``)
and zipped with ``zip -r -n .mp3:…`` together with the uploads folder and each
station's storage locations, paths relative to ``/`` as the command lays them
out. The database is dropped afterwards.

``python -m tests.importers.azuracast.make_backup OUT.zip [--size N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from mutagen.id3 import ID3, TALB, TIT2, TPE1

from tests.importers.azuracast._station import (
    NIGHT_OWL_TRACK,
    TRACKS,
    fixture_sql,
    generated_tracks,
    unique_id,
)

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema.sql"
HOST = ["-h127.0.0.1", "-P3306", "-uroot"]
DONT_COMPRESS = [".tar.gz", ".zip", ".jpg", ".mp3", ".ogg", ".flac", ".aac", ".wav"]


def tool(name: str) -> str:
    """The full path of program ``name`` (ffmpeg, zip, mariadb, mariadb-dump)."""
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"needs {name} on PATH (apt-get install {name})")
    return path


def mariadb(sql: str, database: str | None = None) -> None:
    cmd = [tool("mariadb"), *HOST] + ([database] if database else [])
    subprocess.run(cmd, input=sql.encode(), check=True, capture_output=True)


def reachable() -> bool:
    """Whether the MariaDB server on 127.0.0.1:3306 answers as root."""
    try:
        mariadb("SELECT 1")
    except (OSError, subprocess.CalledProcessError):  # FileNotFoundError: no client
        return False
    return True


def tone(path: Path, hz: int, seconds: float) -> None:
    """A short mono MP3 sine at ``hz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            tool("ffmpeg"),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={hz}:duration={seconds}:sample_rate=44100",
            "-ac",
            "1",
            "-b:a",
            "64k",
            str(path),
        ],
        check=True,
    )


def album_art(path: Path) -> None:
    """A small JPEG cover."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            tool("ffmpeg"),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=0x3355aa:s=64x64:d=1",
            "-frames:v",
            "1",
            str(path),
        ],
        check=True,
    )


def newest_migration() -> str:
    for line in SCHEMA.read_text().splitlines()[:10]:
        if line.startswith("-- newest migration: "):
            return line.removeprefix("-- newest migration: ").strip()
    raise RuntimeError(f"{SCHEMA} has no '-- newest migration:' header")


def make_backup(out: Path, *, size: int = 0) -> Path:
    """Write the backup zip to ``out``: the fixture station plus ``size`` generated
    tracks (each the same short tone, its ID3 tags made distinct). Returns ``out``."""
    database = f"azuracast_fixture_{uuid.uuid4().hex[:12]}"
    extra = generated_tracks(size)
    with tempfile.TemporaryDirectory(prefix="azuracast-backup-") as tmp:
        root = Path(tmp)
        (root / "var/azuracast/uploads").mkdir(parents=True)
        (root / "var/azuracast/uploads/.keep").write_text("")
        for short in ("grimnir_fm", "night_owl"):
            for sub in ("media", "recordings", "podcasts"):
                (root / f"var/azuracast/stations/{short}/{sub}").mkdir(parents=True)
        media = root / "var/azuracast/stations/grimnir_fm/media"
        for t in TRACKS:
            if t.tone_hz is None:
                continue
            if t.id == 4:
                shutil.copyfile(media / TRACKS[2].path, media / t.path)
            else:
                tone(media / t.path, t.tone_hz, t.length)
        album_art(media / ".albumart" / f"{unique_id(1)}.jpg")
        tone(root / "var/azuracast/stations/night_owl/media" / NIGHT_OWL_TRACK.path, 990, 2.0)
        if extra:
            template = root / "template.mp3"
            tone(template, 1000, 2.0)
            for t in extra:
                target = media / t.path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(template, target)
                tags = ID3()  # type: ignore[no-untyped-call]
                for frame, value in ((TIT2, t.title), (TPE1, t.artist), (TALB, t.album)):
                    tags.add(frame(encoding=3, text=value))  # type: ignore[no-untyped-call]
                tags.save(target)
            template.unlink()
        mariadb(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        try:
            mariadb(SCHEMA.read_text(), database)
            mariadb(fixture_sql(TRACKS + extra, newest_migration()), database)
            dump_dir = root / "tmp/azuracast_backup_mariadb"
            dump_dir.mkdir(parents=True)
            with (dump_dir / "db.sql").open("wb") as fh:
                subprocess.run(
                    [
                        tool("mariadb-dump"),
                        *HOST,
                        "--add-drop-table",
                        "--default-character-set=UTF8MB4",
                        database,
                    ],
                    stdout=fh,
                    check=True,
                )
        finally:
            mariadb(f"DROP DATABASE IF EXISTS `{database}`")
        out = out.resolve()
        out.unlink(missing_ok=True)
        subprocess.run(
            [
                tool("zip"),
                "-q",
                "-r",
                "-n",
                ":".join(DONT_COMPRESS),
                str(out),
                "var/azuracast/uploads",
                "var/azuracast/stations/grimnir_fm/media",
                "var/azuracast/stations/grimnir_fm/recordings",
                "var/azuracast/stations/grimnir_fm/podcasts",
                "var/azuracast/stations/night_owl/media",
                "var/azuracast/stations/night_owl/recordings",
                "var/azuracast/stations/night_owl/podcasts",
                "tmp/azuracast_backup_mariadb/db.sql",
            ],
            cwd=root,
            check=True,
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=0, help="extra generated tracks")
    args = parser.parse_args()
    print(make_backup(args.out, size=args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
