"""LibreTime's tables (``cc_*`` rows as text) → a Snapshot's media, playlists,
smart blocks, web streams and users. Shows are ``_libretime_shows``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Literal

from grimnir.importers._libretime_dump import Row, Tables
from grimnir.importers._libretime_values import (
    flag,
    integer,
    interval_ms,
    number,
    seconds_ms,
    text,
    utc,
    year,
)
from grimnir.importers.model import (
    Criterion,
    Finding,
    Media,
    Playlist,
    PlaylistEntry,
    PlaylistItem,
    SmartBlock,
    User,
    Webstream,
)

CUSTOM_COLUMNS = (
    "description",
    "conductor",
    "copyright",
    "encoded_by",
    "orchestra",
    "lyricist",
    "original_lyricist",
    "original_artist",
    "catalog_number",
    "info_url",
    "artist_url",
    "subject",
    "contributor",
    "disc_number",
    "rating",
)
"""``cc_files`` columns carried as custom fields under the same name (with
``owner``: the uploader's login, and ``track_type``: the track type's code)."""

_SORTS: dict[str, Literal["random", "newest", "oldest", "most_played", "least_played"]] = {
    "random": "random",
    "newest": "newest",
    "oldest": "oldest",
    "mostrecentplay": "most_played",
    "leastrecentplay": "least_played",
}
_ROLES: dict[str, Literal["admin", "manager", "dj"]] = {
    "A": "admin",
    "P": "manager",
    "H": "dj",
    "G": "dj",
}
_ENTRY_KINDS: dict[int, Literal["media", "webstream", "block"]] = {
    0: "media",
    1: "webstream",
    2: "block",
}


def by_id(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: integer(r, "id") or 0)


def grouped(rows: list[Row], column: str) -> dict[str, list[Row]]:
    """Rows by the value of ``column`` (a foreign key), each list in id order."""
    out: dict[str, list[Row]] = defaultdict(list)
    for row in by_id(rows):
        key = text(row, column)
        if key is not None:
            out[key].append(row)
    return out


def media(
    tables: Tables, storage: Path, storage_path: str | None
) -> tuple[list[Media], list[Finding]]:
    """Every track of ``cc_files`` with its file found in ``storage``."""
    owners = {text(r, "id"): text(r, "login") for r in tables.get("cc_subjs", [])}
    types = {text(r, "id"): text(r, "code") for r in tables.get("cc_track_types", [])}
    root = storage.resolve()
    found: list[Media] = []
    findings: list[Finding] = []
    for row in by_id(tables.get("cc_files", [])):
        key = text(row, "id") or ""
        original = text(row, "filepath") or ""
        name = text(row, "track_title") or text(row, "name") or PurePosixPath(original).name or key
        if flag(row, "hidden"):
            findings.append(
                Finding(
                    "media",
                    name,
                    "deleted in LibreTime (kept there only for its history); not imported",
                )
            )
            continue
        if (integer(row, "import_status") or 0) != 0:
            findings.append(
                Finding(
                    "media",
                    name,
                    "its upload never finished in LibreTime (import pending or failed); "
                    "upload the file again",
                )
            )
            continue
        file = _locate(root, original, storage_path)
        if file is None:
            findings.append(
                Finding(
                    "media",
                    name,
                    f"file missing from the backup ({original or 'no path'} is not in the "
                    "storage folder); copy it there and import again",
                )
            )
        custom = {c: v for c in CUSTOM_COLUMNS if (v := text(row, c)) is not None}
        owner = owners.get(text(row, "owner_id"))
        if owner:
            custom["owner"] = owner
        track_type = types.get(text(row, "track_type_id"))
        if track_type:
            custom["track_type"] = track_type
        artwork = text(row, "artwork")
        length = interval_ms(text(row, "length"))
        cue_out = interval_ms(text(row, "cueout"))
        found.append(
            Media(
                key=key,
                file=file,
                original_path=original,
                title=text(row, "track_title"),
                artist=text(row, "artist_name"),
                album=text(row, "album_title"),
                genre=text(row, "genre"),
                mood=text(row, "mood"),
                year=year(text(row, "year")),
                bpm=number(row, "bpm"),
                isrc=text(row, "isrc_number"),
                label=text(row, "label"),
                composer=text(row, "composer"),
                language=text(row, "language"),
                track_number=integer(row, "track_number"),
                comment=text(row, "comments"),
                duration_ms=length,
                cue_in_ms=interval_ms(text(row, "cuein")),
                cue_out_ms=cue_out if cue_out else None,
                custom=custom,
                artwork=_locate(root, artwork, storage_path) if artwork else None,
                replay_gain_db=number(row, "replay_gain"),
                added_at=utc(text(row, "utime")),
                last_played_at=utc(text(row, "lptime")),
            )
        )
    return found, findings


def _locate(root: Path, original: str, storage_path: str | None) -> Path | None:
    """The file LibreTime stored at ``original`` (relative to its storage folder, or
    absolute under ``storage_path``), inside ``root``; None when it is not there."""
    if not original:
        return None
    relative = original
    if original.startswith("/"):
        prefix = (storage_path or "").rstrip("/") + "/"
        if not storage_path or not original.startswith(prefix):
            return None
        relative = original[len(prefix) :]
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def playlists(tables: Tables, files: dict[str, Media]) -> tuple[list[Playlist], list[Finding]]:
    """``cc_playlist`` with its contents in play order (``cc_playlistcontents``)."""
    contents = grouped(tables.get("cc_playlistcontents", []), "playlist_id")
    out: list[Playlist] = []
    findings: list[Finding] = []
    for row in by_id(tables.get("cc_playlist", [])):
        key = text(row, "id") or ""
        playlist = Playlist(
            key=key,
            name=text(row, "name") or f"playlist {key}",
            kind="default",
            order="sequential",
            description=text(row, "description"),
        )
        items = sorted(
            contents.get(key, []),
            key=lambda r: (integer(r, "position") or 0, integer(r, "id") or 0),
        )
        for item in items:
            kind = _ENTRY_KINDS.get(integer(item, "type") or 0, "media")
            ref = text(
                item, {"media": "file_id", "webstream": "stream_id", "block": "block_id"}[kind]
            )
            if ref is None:
                continue
            playlist.sequence.append(PlaylistItem(kind, ref))
            if kind == "block":
                playlist.block_keys.append(ref)
            elif kind == "webstream":
                playlist.webstream_keys.append(ref)
            else:
                track = files.get(ref)
                cue_in, cue_out = (
                    interval_ms(text(item, "cuein")),
                    interval_ms(text(item, "cueout")),
                )
                playlist.entries.append(
                    PlaylistEntry(
                        ref,
                        cue_in_ms=None if track is None or cue_in == track.cue_in_ms else cue_in,
                        cue_out_ms=None
                        if track is None or not cue_out or cue_out == track.cue_out_ms
                        else cue_out,
                        fade_in_ms=seconds_ms(text(item, "fadein")),
                        fade_out_ms=seconds_ms(text(item, "fadeout")),
                    )
                )
        out.append(playlist)
    return out, findings


def smart_blocks(tables: Tables) -> tuple[list[SmartBlock], list[Finding]]:
    """``cc_block`` with its criteria (``cc_blockcriteria``) and a static block's list.
    A ``track_type_id`` criterion names the type by its code (``MUS``), as the
    media's custom ``track_type`` field does, instead of LibreTime's row id."""
    types = {text(r, "id"): text(r, "code") for r in tables.get("cc_track_types", [])}
    criteria = grouped(tables.get("cc_blockcriteria", []), "block_id")
    contents = grouped(tables.get("cc_blockcontents", []), "block_id")
    out: list[SmartBlock] = []
    findings: list[Finding] = []
    for row in by_id(tables.get("cc_block", [])):
        key = text(row, "id") or ""
        block = SmartBlock(
            key=key,
            name=text(row, "name") or f"smart block {key}",
            static=(text(row, "type") or "dynamic") == "static",
            description=text(row, "description"),
        )
        for c in criteria.get(key, []):
            field = text(c, "criteria") or ""
            modifier = (c.get("modifier") or "").strip()
            value = c.get("value") or ""
            if field == "limit":
                if modifier in ("items", "hours", "minutes", "remaining"):
                    block.limit_kind = modifier  # type: ignore[assignment]
                block.limit_value = number(c, "value")
            elif field == "sort":
                sort = _SORTS.get(value.strip())
                if sort is None:
                    findings.append(
                        Finding(
                            "smart_block",
                            block.name,
                            f"unknown sort {value!r}; random order used",
                            skipped=False,
                        )
                    )
                block.sort = sort or "random"
            elif field == "repeat_tracks":
                block.repeat_tracks = flag(c, "value")
            elif field == "overflow_tracks":
                block.overflow = flag(c, "value")
            else:
                if field == "track_type_id":
                    value = types.get(value.strip()) or value
                block.criteria.append(
                    Criterion(
                        field, modifier, value, c.get("extra"), integer(c, "criteriagroup") or 0
                    )
                )
        if block.static:
            items = sorted(
                contents.get(key, []),
                key=lambda r: (integer(r, "position") or 0, integer(r, "id") or 0),
            )
            block.contents = [f for r in items if (f := text(r, "file_id")) is not None]
        out.append(block)
    return out, findings


def webstreams(tables: Tables) -> list[Webstream]:
    return [
        Webstream(
            key=text(r, "id") or "",
            name=text(r, "name") or text(r, "url") or "",
            url=text(r, "url") or "",
            length_ms=interval_ms(text(r, "length")) or None,
            description=text(r, "description"),
        )
        for r in by_id(tables.get("cc_webstream", []))
    ]


def users(tables: Tables, auth: str) -> tuple[list[User], list[Finding]]:
    """``cc_subjs``: LibreTime stores each password as the unsalted MD5 hex digest of
    it (PHP ``md5()``, the API's ``hashlib.md5``); it is passed on as stored."""
    out: list[User] = []
    findings: list[Finding] = []
    local = auth == "local"
    if not local:
        findings.append(
            Finding(
                "user",
                "(every user)",
                f"LibreTime signed users in through {auth!r}, so their passwords are not in "
                "its database; they sign in here with a new password",
                skipped=False,
            )
        )
    for row in by_id(tables.get("cc_subjs", [])):
        login = text(row, "login") or ""
        kind = (text(row, "type") or "").upper()
        role = _ROLES.get(kind)
        if role is None:
            findings.append(
                Finding(
                    "user",
                    login,
                    f"unknown LibreTime user type {kind!r}; imported as a DJ",
                    skipped=False,
                )
            )
        name = " ".join(p for p in (text(row, "first_name"), text(row, "last_name")) if p)
        out.append(
            User(
                key=text(row, "id") or "",
                username=login,
                email=text(row, "email"),
                display_name=name or None,
                password_hash=text(row, "pass") if local else None,
                role=role or "dj",
            )
        )
    return out, findings
