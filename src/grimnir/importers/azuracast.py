"""Read an AzuraCast backup: the zip ``azuracast:backup`` writes.

The zip holds the MariaDB dump at ``tmp/azuracast_backup_mariadb/db.sql`` and
each station's local storage folders under their own paths
(``var/azuracast/stations/<short name>/media/…``; album art in the media
folder's ``.albumart/<unique id>.jpg``). We parse the dump ourselves, streaming
it out of the zip (no database server needed), check that it is AzuraCast's and
of a schema we read, then copy each station's media out of the zip into a work
folder and return one :class:`Snapshot` per station.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grimnir.importers import _azuracast_links as links
from grimnir.importers import _azuracast_map as amap
from grimnir.importers import _azuracast_people as people
from grimnir.importers._azuracast_sql import Dump, read_dump
from grimnir.importers.errors import BackupError
from grimnir.importers.model import Finding, Media, Snapshot

DUMP_PATH = "tmp/azuracast_backup_mariadb/db.sql"
"""Where ``BackupCommand`` puts the database dump (``/`` stripped)."""
OLDEST = "Version20240912014811"
"""The oldest schema we read: AzuraCast of September 2024, the first with cue
points, fades and amplification all in ``station_media.extra_metadata``."""
NEWEST_KNOWN = "Version20260807193430"
"""The newest migration of the schema our fixtures are made from."""

_TABLES = {
    "app_migrations", "storage_location", "station", "station_mounts", "station_remotes",
    "station_media", "custom_field", "station_media_custom_field", "station_playlists",
    "station_playlist_media", "station_schedules", "station_streamers", "station_webhooks",
    "users", "role_permissions", "user_has_role",
}  # fmt: skip
_VERSION = re.compile(r"Version(\d{14})$")
_READ_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, OSError)


def read_backup(backup: Path, work: Path, *, station: str | None = None) -> list[Snapshot]:
    """One Snapshot per station in the AzuraCast backup zip ``backup`` (only the
    station with short name ``station`` when given), media files copied into
    ``work/<short name>/``. Raises :class:`BackupError` for a zip that cannot be
    read, one without AzuraCast's dump, a dump of another product or of a schema
    older than :data:`OLDEST`, and an unknown ``station``; nothing is left in
    ``work`` then."""
    try:
        archive = zipfile.ZipFile(backup)
    except FileNotFoundError as exc:
        raise BackupError(f"{backup}: no such file") from exc
    except _READ_ERRORS as exc:
        raise BackupError(
            f"{backup.name} is not a readable zip ({exc}): it may be truncated or damaged; "
            "copy it again, or make a new backup with azuracast:backup"
        ) from exc
    with archive:
        dump = _read_database(archive, backup.name)
        version = _schema_version(dump, backup.name)
        stations = list(dump.rows("station"))
        if not stations:
            raise BackupError(f"{backup.name}: the AzuraCast database holds no station")
        if station is not None:
            stations = [s for s in stations if amap.text(s.get("short_name")) == station]
            if not stations:
                present = ", ".join(
                    sorted(amap.text(s.get("short_name")) or "?" for s in dump.rows("station"))
                )
                raise BackupError(
                    f"{backup.name} has no station {station!r}; its stations are: {present}"
                )
        perms = people.permissions(dump)
        made: list[Path] = []
        try:
            return [
                _snapshot(archive, dump, row, work, made, backup.name, version, perms)
                for row in stations
            ]
        except BaseException:
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
            raise


def _read_database(archive: zipfile.ZipFile, name: str) -> Dump:
    """Find the dump in the zip and parse the tables we read."""
    names = archive.namelist()
    member = (
        DUMP_PATH if DUMP_PATH in names else next((n for n in names if n.endswith(".sql")), None)
    )
    if member is None:
        raise BackupError(
            f"{name} holds no MariaDB dump ({DUMP_PATH}): it is not a backup made by "
            "AzuraCast's azuracast:backup (Administration → Backups)"
        )
    where = f"{name}:{member}"
    try:
        with archive.open(member) as fh:
            head = fh.read(4096)
        if b"PostgreSQL database dump" in head:
            raise BackupError(
                f"{where} is a PostgreSQL dump (LibreTime's?), not AzuraCast's MariaDB "
                "dump: import it with grimnir import libretime"
            )
        with archive.open(member) as fh:
            dump = read_dump(fh, _TABLES, where)
    except _READ_ERRORS as exc:
        raise BackupError(
            f"{where} cannot be read out of the zip ({exc}): the backup is truncated or "
            "damaged; copy it again, or make a new one with azuracast:backup"
        ) from exc
    if "station" not in dump.tables and "app_migrations" not in dump.tables:
        raise BackupError(
            f"{where} is not AzuraCast's database dump (it has no station and app_migrations "
            "tables): is this the backup of another product?"
        )
    if not dump.complete:
        raise BackupError(
            f"{where} ends early (no '-- Dump completed' line): the backup is truncated; "
            "make a new one with azuracast:backup"
        )
    if dump.error is not None:
        raise dump.error
    if "station" not in dump.tables or "app_migrations" not in dump.tables:
        raise BackupError(
            f"{where} lacks AzuraCast's station or app_migrations table: it is not a "
            "complete AzuraCast database; make a new backup with azuracast:backup"
        )
    return dump


def _schema_version(dump: Dump, name: str) -> str:
    """The newest migration applied (``Version20260807193430``), checked against
    the oldest schema we read."""
    versions = []
    for row in dump.rows("app_migrations"):
        m = _VERSION.search(amap.text(row.get("version")) or "")
        if m:
            versions.append(m.group(0))
    if not versions:
        raise BackupError(
            f"{name}: the dump records no AzuraCast migration (app_migrations is empty): "
            "it is not a complete AzuraCast database"
        )
    newest = max(versions)
    if newest < OLDEST:
        raise BackupError(
            f"{name}: AzuraCast schema {newest} is older than the oldest we read ({OLDEST}, "
            "September 2024): update AzuraCast, then make a new backup"
        )
    return newest


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's members by their real names. Info-ZIP outside a UTF-8 locale stores
    UTF-8 names without the flag that says so, and Python reads those as CP437:
    read them back as UTF-8 when they are."""
    out: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if not info.flag_bits & 0x800:
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                name = name.encode("cp437").decode("utf-8")
        out[name] = info
    return out


def _safe(relative: str) -> PurePosixPath | None:
    """``relative`` as a path inside a folder, or None when it would leave it."""
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> bool:
    """Copy one zip member to ``target``; False when it is damaged."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(member) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, EOFError, zlib.error):
        target.unlink(missing_ok=True)
        return False
    return True


def _snapshot(
    archive: zipfile.ZipFile,
    dump: Dump,
    row: amap.Row,
    work: Path,
    made: list[Path],
    source: str,
    version: str,
    perms: dict[int, list[tuple[int | None, str]]],
) -> Snapshot:
    short = amap.text(row.get("short_name")) or ""
    safe = _safe(short)
    folder = work / (
        short if safe is not None and len(safe.parts) == 1 else f"station_{row['id']!s}"
    )
    name = amap.text(row.get("name")) or short
    findings: list[Finding] = []
    snap = Snapshot(
        product="azuracast",
        source=source,
        schema_version=version,
        key=str(row["id"]),
        short_name=short,
        name=name,
        timezone=amap.text(row.get("timezone")) or "UTC",
        description=amap.text(row.get("description")),
        findings=findings,
    )
    if version > NEWEST_KNOWN:
        findings.append(
            Finding(
                "station",
                name,
                f"AzuraCast schema {version} is newer than the newest we know "
                f"({NEWEST_KNOWN}): check the report closely",
                skipped=False,
            )
        )
    snap.outputs = links.outputs(dump, row, findings)
    if not folder.exists():
        made.append(folder)
    snap.media = _media(archive, dump, row, folder, findings)
    keys = {m.key for m in snap.media}
    snap.playlists, snap.webstreams = amap.playlists(dump, row, keys, findings)
    streamers, names = people.streamers(dump, row, findings)
    snap.users = people.users(dump, row, perms, findings) + streamers
    amap.streamer_schedules(dump, names, findings)
    snap.webhooks = links.webhooks(dump, row, findings)
    return snap


def _media(
    archive: zipfile.ZipFile, dump: Dump, station: amap.Row, folder: Path, findings: list[Finding]
) -> list[Media]:
    """The station's media rows, their files and album art copied under ``folder``."""
    location_id = station.get("media_storage_location_id")
    location = next((r for r in dump.rows("storage_location") if r["id"] == location_id), None)
    local = location is not None and amap.text(location.get("adapter")) == "local"
    prefix = (amap.text(location.get("path")) or "").strip("/") + "/" if location else ""
    if location is not None and not local:
        findings.append(
            Finding(
                "station",
                amap.text(station.get("name")) or "",
                f"media is on {amap.text(location.get('adapter'))} storage, which "
                "AzuraCast's backup does not include: every media file is missing",
            )
        )
    rows = [r for r in dump.rows("station_media") if r.get("storage_location_id") == location_id]
    present = _members(archive) if local else {}
    custom = amap.custom_fields(dump, {amap.integer(r["id"]) or 0 for r in rows})
    out: list[Media] = []
    for r in rows:
        path = amap.text(r.get("path")) or ""
        rel = _safe(path)
        file: Path | None = None
        missing = f"file missing from the backup ({path})"
        if rel is not None and prefix + path in present:
            target = folder / "media" / rel
            if _extract(archive, present[prefix + path], target):
                file = target
            else:
                missing = f"file damaged in the backup ({path}): copy the backup again"
        art: Path | None = None
        uid = amap.text(r.get("unique_id")) or ""
        art_member = f"{prefix}.albumart/{uid}.jpg"
        if amap.integer(r.get("art_updated_at")) and _safe(uid) and art_member in present:
            target = folder / "albumart" / f"{uid}.jpg"
            if _extract(archive, present[art_member], target):
                art = target
        out.append(
            amap.media_row(
                r, custom.get(amap.integer(r["id"]) or 0, {}), file, art, missing, findings
            )
        )
    return out
