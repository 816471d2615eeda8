"""AzuraCast's rows (as read from its dump) in the Snapshot's plain types.

One function per part; each returns what it could carry over and adds a
:class:`Finding` for every row (or part of a row) it could not. The words are
AzuraCast's where the Snapshot keeps the other product's words (a webhook's
``kind``); the rest is translated here, at the boundary.
"""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Literal

from grimnir.importers._azuracast_sql import Dump, Value
from grimnir.importers.model import (
    Finding,
    Media,
    Playlist,
    PlaylistEntry,
    Schedule,
    Webstream,
)

Row = dict[str, Value]
PlaylistKind = Literal[
    "default", "once_per_n_songs", "once_per_n_minutes", "once_per_hour", "custom"
]
Order = Literal["sequential", "shuffle", "random"]

_KINDS: dict[str, PlaylistKind] = {
    "default": "default",
    "once_per_x_songs": "once_per_n_songs",
    "once_per_x_minutes": "once_per_n_minutes",
    "once_per_hour": "once_per_hour",
    "custom": "custom",
}
_ORDERS: dict[str, Order] = {"sequential": "sequential", "shuffle": "shuffle", "random": "random"}
_BACKEND_OPTIONS = {
    "interrupt": "interrupt other songs",
    "single_track": "play a single track",
    "merge": "merge into one track",
    "prioritize": "prioritize over requests",
}
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def text(value: Value) -> str | None:
    """A string column (empty → None)."""
    if value is None or value == "":
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def integer(value: Value) -> int | None:
    """An integer column (a BIT column comes as bytes); None when empty or not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    try:
        return int(float(value))
    except ValueError:
        return None


def flag(value: Value) -> bool:
    """A TINYINT(1) column as a bool."""
    return bool(integer(value))


def json_value(value: Value) -> object:
    """A JSON column, decoded (None when empty or not JSON)."""
    raw = text(value)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _number(value: object) -> float | None:
    """A number from AzuraCast's JSON (stored as a number, sometimes as a string)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _ms(seconds: object) -> int | None:
    value = _number(seconds)
    return None if value is None or value < 0 else round(value * 1000)


def custom_fields(dump: Dump, media_ids: set[int]) -> dict[int, dict[str, str]]:
    """Custom field values by media id, under the fields' short names."""
    names = {
        row["id"]: text(row.get("short_name")) or text(row.get("name")) or str(row["id"])
        for row in dump.rows("custom_field")
    }
    out: dict[int, dict[str, str]] = {}
    for row in dump.rows("station_media_custom_field"):
        mid = integer(row.get("media_id"))
        value = text(row.get("field_value"))
        if mid in media_ids and value is not None:
            out.setdefault(mid, {})[names.get(row["field_id"], str(row["field_id"]))] = value
    return out


def media_row(
    row: Row,
    custom: dict[str, str],
    file: Path | None,
    artwork: Path | None,
    missing: str,
    findings: list[Finding],
) -> Media:
    """One ``station_media`` row; ``file``/``artwork`` are where they were extracted
    (``missing`` says why ``file`` is None)."""
    path = text(row.get("path")) or ""
    title = text(row.get("title"))
    name = title or path
    extra = json_value(row.get("extra_metadata"))
    meta = extra if isinstance(extra, dict) else {}
    length = row.get("length")
    if file is None:
        findings.append(Finding("media", name, missing))
    if integer(row.get("art_updated_at")) and artwork is None:
        findings.append(Finding("media", name, "album art missing from the backup", False))
    if meta.get("cross_start_next") is not None:
        findings.append(
            Finding(
                "media",
                name,
                f"the next track's start at {meta['cross_start_next']} s "
                "(cross_start_next) is not carried over: our analysis sets the mix point",
                False,
            )
        )
    if text(row.get("lyrics")):
        findings.append(Finding("media", name, "lyrics are not carried over", False))
    return Media(
        key=str(row["id"]),
        file=file,
        original_path=path,
        title=title,
        artist=text(row.get("artist")),
        album=text(row.get("album")),
        genre=text(row.get("genre")),
        isrc=text(row.get("isrc")),
        duration_ms=_ms(length) if isinstance(length, int | float) else None,
        cue_in_ms=_ms(meta.get("cue_in")),
        cue_out_ms=_ms(meta.get("cue_out")),
        fade_in_ms=_ms(meta.get("fade_in")),
        fade_out_ms=_ms(meta.get("fade_out")),
        amplify_db=_number(meta.get("amplify")),
        custom=custom,
        artwork=artwork,
    )


def _hhmm(code: Value) -> time | None:
    value = integer(code)
    if value is None or value < 0:
        return None
    hours, minutes = divmod(value, 100)
    if hours == 24 and minutes == 0:
        return time(0, 0)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def _date(value: Value) -> date | None:
    raw = text(value)
    return None if raw is None else date.fromisoformat(raw)


def _days(value: Value) -> list[int]:
    """ISO weekdays from AzuraCast's ``1,2,7``; ValueError when one is not 1–7."""
    raw = text(value)
    days = [] if raw is None else sorted({int(d) for d in raw.split(",") if d.strip()})
    if any(d < 1 or d > 7 for d in days):
        raise ValueError(f"no weekday {raw!r}")
    return days


def schedule(row: Row, owner: str, findings: list[Finding]) -> Schedule | None:
    """One ``station_schedules`` row (None, with a finding, when it cannot be read)."""
    start, end = _hhmm(row.get("start_time")), _hhmm(row.get("end_time"))
    try:
        days = _days(row.get("days"))
        first, last = _date(row.get("start_date")), _date(row.get("end_date"))
    except ValueError:
        days, first, last, start = [], None, None, None
    if start is None or end is None:
        findings.append(
            Finding(
                "schedule",
                owner,
                f"schedule row {text(row['id'])} has times, days "
                "or dates we cannot read: add it again here",
            )
        )
        return None
    return Schedule(
        key=str(row["id"]),
        start=start,
        end=end,
        days=days,
        start_date=first,
        end_date=last,
        loop_once=flag(row.get("loop_once")),
    )


def playlists(
    dump: Dump, station: Row, media_keys: set[str], findings: list[Finding]
) -> tuple[list[Playlist], list[Webstream]]:
    """The station's playlists with entries in order and schedules; a playlist
    that plays a remote stream becomes a web stream inside it."""
    sid = station["id"]
    rows = [row for row in dump.rows("station_playlists") if row["station_id"] == sid]
    ids = {row["id"] for row in rows}
    entries: dict[Value, list[tuple[int, int, str]]] = {}
    for row in dump.rows("station_playlist_media"):
        pid, key = row["playlist_id"], str(row["media_id"])
        if pid in ids and key in media_keys:
            entries.setdefault(pid, []).append(
                (integer(row.get("weight")) or 0, integer(row["id"]) or 0, key)
            )
    schedules: dict[Value, list[Row]] = {}
    for row in dump.rows("station_schedules"):
        if row.get("playlist_id") in ids:
            schedules.setdefault(row["playlist_id"], []).append(row)
    out: list[Playlist] = []
    streams: list[Webstream] = []
    for row in rows:
        name = text(row.get("name")) or f"playlist {text(row['id'])}"
        kind = _KINDS.get(text(row.get("type")) or "default")
        if kind is None:
            findings.append(Finding("playlist", name, f"type {row['type']!r} is unknown here"))
            continue
        every = {
            "once_per_n_songs": row.get("play_per_songs"),
            "once_per_n_minutes": row.get("play_per_minutes"),
            "once_per_hour": row.get("play_per_hour_minute"),
        }.get(kind)
        playlist = Playlist(
            key=str(row["id"]),
            name=name,
            kind=kind,
            every=integer(every) if every is not None else None,
            order=_ORDERS.get(text(row.get("playback_order")) or "shuffle", "shuffle"),
            weight=integer(row.get("weight")) or 3,
            jingle=flag(row.get("is_jingle")),
            enabled=flag(row.get("is_enabled")),
            entries=[PlaylistEntry(key) for _, _, key in sorted(entries.get(row["id"], []))],
            description=text(row.get("description")),
        )
        for srow in sorted(schedules.get(row["id"], []), key=lambda r: integer(r["id"]) or 0):
            item = schedule(srow, name, findings)
            if item is not None:
                playlist.schedules.append(item)
        if text(row.get("source")) == "remote_url":
            url = text(row.get("remote_url"))
            if text(row.get("remote_type")) == "stream" and url:
                stream = Webstream(key=f"playlist-{text(row['id'])}", name=name, url=url)
                streams.append(stream)
                playlist.webstream_keys.append(stream.key)
            else:
                findings.append(
                    Finding(
                        "playlist",
                        name,
                        f"plays the remote playlist file "
                        f"{url!r}: add its streams as web streams here",
                    )
                )
                continue
        options = [o.strip() for o in (text(row.get("backend_options")) or "").split(",")]
        left_out = [_BACKEND_OPTIONS[o] for o in options if o in _BACKEND_OPTIONS]
        if left_out:
            findings.append(
                Finding(
                    "playlist",
                    name,
                    "AzuraCast options not carried over: " + ", ".join(left_out),
                    skipped=False,
                )
            )
        out.append(playlist)
    return out, streams


def streamer_schedules(dump: Dump, names: dict[Value, str], findings: list[Finding]) -> None:
    """A streamer's broadcast slots have no place in an account: say so, slot by slot."""
    for row in dump.rows("station_schedules"):
        sid = row.get("streamer_id")
        if sid not in names:
            continue
        try:
            days = ", ".join(_WEEKDAYS[d - 1] for d in _days(row.get("days")))
        except ValueError:
            days = "some days"
        start, end = _hhmm(row.get("start_time")), _hhmm(row.get("end_time"))
        slot = f"{days or 'every day'} {start:%H:%M}–{end:%H:%M}" if start and end else "a slot"
        findings.append(
            Finding(
                "schedule",
                names[sid],
                f"the streamer's slot ({slot}) is not carried over: add it as a live show",
            )
        )
