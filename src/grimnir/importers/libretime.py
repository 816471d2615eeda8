"""Read a LibreTime station: its PostgreSQL database (a ``pg_dump`` plain-format file
or the live server), its storage folder and, optionally, its ``config.yml``.

    snapshot = read_dump(Path("libretime.sql"), Path("/srv/libretime"), config=Path("config.yml"))
    snapshot = await read_database("postgresql://libretime:…@host/libretime", storage)

LibreTime keeps one station per database in the legacy ``cc_*`` tables (its Django
API maps models onto them); ``cc_pref.schema_version`` names the newest legacy
migration applied (``46`` for ``0046_add_override_intro_outro_playlists``).
Dumps of LibreTime 3.0 (schema ``3.0.0-beta.0.1``) up to schema ``46`` are read;
others are refused with what to do. Nothing is written: the result is a
:class:`Snapshot` and its findings.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]  # no stubs; used through Any

from grimnir.importers import _libretime_build as build
from grimnir.importers._libretime_config import Config, read_config
from grimnir.importers._libretime_dump import Tables, copy_row, parse_dump
from grimnir.importers._libretime_shows import shows
from grimnir.importers._libretime_values import text
from grimnir.importers.errors import BackupError
from grimnir.importers.model import Finding, Snapshot

TABLES = (
    "cc_pref",
    "cc_files",
    "cc_track_types",
    "cc_subjs",
    "cc_playlist",
    "cc_playlistcontents",
    "cc_block",
    "cc_blockcontents",
    "cc_blockcriteria",
    "cc_webstream",
    "cc_show",
    "cc_show_days",
    "cc_show_instances",
    "cc_show_hosts",
    "cc_show_rebroadcast",
    "cc_schedule",
    "podcast",
)
"""The tables the reader uses (a live database is read only for these)."""

OLDEST = "3.0.0-beta.0.1"
"""The oldest schema version read: LibreTime 3.0 (legacy migration 0040)."""
NEWEST = "46"
"""The newest schema version known: legacy migration 0046_add_override_intro_outro_playlists."""

_VERSION = re.compile(
    r"(?P<release>\d+(?:\.\d+)*)(?:-(?P<pre>alpha|beta)(?:\.(?P<pre_n>\d+(?:\.\d+)?))?)?",
    re.IGNORECASE,
)


def read_dump(dump: Path, storage: Path, *, config: Path | None = None) -> Snapshot:
    """The station in a LibreTime ``pg_dump`` plain-format file, with its files in
    ``storage`` (LibreTime's storage folder); BackupError when it cannot be read."""
    _check_storage(storage)
    settings = read_config(config) if config is not None else Config()
    return snapshot(parse_dump(dump), storage, settings, dump.name)


async def read_database(url: str, storage: Path, *, config: Path | None = None) -> Snapshot:
    """The station in a live LibreTime PostgreSQL database at ``url``, read with
    ``COPY … TO STDOUT`` (the text a dump holds, so the snapshot is the dump's)."""
    _check_storage(storage)
    settings = read_config(config) if config is not None else Config()
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in ("postgres", "postgresql"):
        raise BackupError(
            f"--database-url must be LibreTime's PostgreSQL database (postgresql://…), "
            f"not {scheme or 'this'!r}: AzuraCast's MariaDB is imported from its backup zip"
        )
    source = f"{parts.hostname or 'localhost'}{parts.path}"
    try:
        conn = await asyncpg.connect(parts._replace(scheme="postgresql").geturl())
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        raise BackupError(f"cannot connect to the LibreTime database {source}: {e}") from None
    try:
        tables = await _copy_tables(conn)
    finally:
        await conn.close()
    return snapshot(tables, storage, settings, source)


async def _copy_tables(conn: Any) -> Tables:
    """The rows of every table in ``TABLES`` the database has (asyncpg ``conn``)."""
    present = {
        r["table_name"]: r["columns"]
        for r in await conn.fetch(
            "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ANY($1::text[]) GROUP BY table_name",
            list(TABLES),
        )
    }
    tables: Tables = {}
    for name, columns in present.items():
        buffer = io.BytesIO()
        await conn.copy_from_table(name, columns=columns, output=buffer, format="text")
        lines = buffer.getvalue().decode("utf-8").split("\n")
        tables[name] = [copy_row(line, list(columns)) for line in lines if line]
    return tables


def _check_storage(storage: Path) -> None:
    if not storage.is_dir():
        raise BackupError(
            f"the storage folder {storage} does not exist: give LibreTime's storage folder "
            "(storage.path in its config.yml, /srv/libretime by default)"
        )


def version_key(version: str) -> tuple[int, ...]:
    """LibreTime's ordering of schema versions: ``2.5.2`` < ``3.0.0-alpha.14.1`` <
    ``3.0.0-beta.0.1`` < ``41`` < ``46``."""
    m = _VERSION.search(version)
    if m is None:
        raise BackupError(f"unreadable LibreTime schema version {version!r}")
    release = [int(x) for x in m["release"].split(".")] + [0, 0, 0]
    pre = {"alpha": -2, "beta": -1}.get((m["pre"] or "").lower(), 0)
    pre_n = [int(x) for x in (m["pre_n"] or "0").split(".")] + [0]
    return (*release[:3], pre, pre_n[0], pre_n[1])


def _schema_version(tables: Tables, source: str) -> str:
    if "cc_files" not in tables and "cc_pref" not in tables:
        raise BackupError(
            f"{source} holds no LibreTime tables (cc_files, cc_pref): dump LibreTime's "
            "database ('pg_dump --no-owner --no-privileges libretime > libretime.sql')"
        )
    prefs = {
        text(r, "keystr"): text(r, "valstr")
        for r in tables.get("cc_pref", [])
        if r.get("subjid") is None
    }
    version = prefs.get("schema_version") or prefs.get("system_version")
    if version is None:
        raise BackupError(f"{source}: no schema version in cc_pref; is this a LibreTime database?")
    if version_key(version) < version_key(OLDEST):
        raise BackupError(
            f"{source}: LibreTime schema version {version} is older than LibreTime 3.0 "
            f"({OLDEST}), which this importer does not read: upgrade LibreTime (it migrates "
            "the database), then dump it again"
        )
    if version_key(version) > version_key(NEWEST):
        raise BackupError(
            f"{source}: LibreTime schema version {version} is newer than this importer knows "
            f"({NEWEST}); update Grimnir Radio, or dump from a LibreTime of schema {NEWEST}"
        )
    return version


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:50] or "libretime"


def snapshot(tables: Tables, storage: Path, config: Config, source: str) -> Snapshot:
    """The Snapshot of LibreTime's ``tables`` (text rows) with files in ``storage``."""
    version = _schema_version(tables, source)
    prefs = {
        text(r, "keystr"): text(r, "valstr")
        for r in tables.get("cc_pref", [])
        if r.get("subjid") is None
    }
    findings: list[Finding] = list(config.findings)
    zones = Counter(z for r in tables.get("cc_show_days", []) if (z := text(r, "timezone")))
    zone = (
        config.timezone or prefs.get("timezone") or (zones.most_common(1)[0][0] if zones else None)
    )
    if zone is None:
        zone = "UTC"
        findings.append(
            Finding(
                "station",
                "time zone",
                "not found (pass LibreTime's config.yml with --config); UTC is used",
                skipped=False,
            )
        )
    name = prefs.get("station_name") or "LibreTime"
    media, found = build.media(tables, storage, config.storage_path)
    findings += found
    playlists, found = build.playlists(tables, {m.key: m for m in media})
    findings += found
    blocks, found = build.smart_blocks(tables)
    findings += found
    show_list, found = shows(tables, zone)
    findings += found
    users, found = build.users(tables, config.auth)
    findings += found
    for row in tables.get("podcast", []):
        findings.append(
            Finding(
                "media",
                text(row, "title") or "podcast",
                "podcast "
                "subscriptions are not carried over; their downloaded "
                "episodes come over as tracks",
            )
        )
    return Snapshot(
        product="libretime",
        source=source,
        schema_version=version,
        key="1",
        short_name=_slug(name),
        name=name,
        timezone=zone,
        description=prefs.get("description"),
        outputs=list(config.outputs),
        media=media,
        playlists=playlists,
        smart_blocks=blocks,
        webstreams=build.webstreams(tables),
        shows=show_list,
        users=users,
        findings=findings,
    )
