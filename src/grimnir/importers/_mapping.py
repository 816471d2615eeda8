"""How foreign rows translate into ours, without touching the database: outputs
into a station config's mounts, playlist kinds into rotations, AzuraCast's
weighted general rotation into a clock, and what each leaves behind (findings)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from grimnir.config import HlsOutput, HttpOutput, IcecastOutput
from grimnir.domain.catalog import MP3_BITRATES
from grimnir.importers.model import Finding, Output, Playlist, Show, Snapshot

HOUR_MS = 3_600_000
_MINUTE_MS = 60_000
_FORMATS = {"mp3": "mp3", "aac": "aac", "ogg": "vorbis", "opus": "opus", "flac": "flac"}
_OUTPUT: TypeAdapter[HlsOutput | HttpOutput | IcecastOutput] = TypeAdapter(
    HlsOutput | HttpOutput | IcecastOutput
)


def _bitrate(output: Output) -> int:
    wanted = output.bitrate_kbps or 128
    if output.format == "mp3":
        return min(MP3_BITRATES, key=lambda b: abs(b - wanted))
    return max(32, min(320, wanted))


def output_config(output: Output, short_name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The output as one of our station config's outputs (JSON), or why it cannot be.

    A mount on the other product's own server becomes a mount of our listener
    server (same path); a remote relay, an Icecast source connection to that host
    (``legacy_source`` for Shoutcast); HLS, our HLS output under ``hls/<station>``.
    """
    fmt = _FORMATS.get(output.format)
    if fmt is None:
        return None, f"format {output.format!r} cannot be streamed here: use mp3, aac, ogg, opus"
    raw: dict[str, Any]
    if output.kind == "file":
        return None, "recordings to a file are not outputs here: add a recording output"
    if output.kind == "hls":
        raw = {"type": "hls", "path": f"hls/{short_name}", "bitrate_kbps": _bitrate(output)}
    elif output.host:
        user = quote(output.username or "source", safe="")
        secret = quote(output.password or "", safe="")
        auth = f"{user}:{secret}@" if secret else f"{user}@"
        port = output.port or 8000
        mount = output.mount or "/stream"
        raw = {
            "type": "icecast",
            "url": f"icecast://{auth}{output.host}:{port}{mount}",
            "format": fmt,
            "bitrate_kbps": _bitrate(output),
            "legacy_source": output.kind == "shoutcast",
            "public": output.public,
        }
    else:
        raw = {
            "type": "http",
            "path": output.mount or f"/{short_name}.{output.format}",
            "format": fmt,
            "bitrate_kbps": _bitrate(output),
        }
    try:
        _OUTPUT.validate_python(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return None, f"cannot be carried over ({where}: {first['msg']}): add it by hand"
    return raw, None


def rotation_of(playlist: Playlist) -> dict[str, Any]:
    """The playlist's kind as our rotation (``Playlist.rotation``)."""
    if playlist.kind in ("once_per_n_songs", "once_per_n_minutes") and playlist.every:
        return {"type": playlist.kind, "n": playlist.every}
    if playlist.kind == "once_per_hour":
        return {"type": "once_per_hour"}
    return {"type": "default"}


def general_rotation(snapshot: Snapshot) -> list[Playlist]:
    """AzuraCast's general rotation: enabled, unscheduled ``default`` playlists that
    are not jingles (what plays when no schedule says otherwise). LibreTime has
    none: its playlists air where a show puts them."""
    if snapshot.product != "azuracast":
        return []
    return [
        p
        for p in snapshot.playlists
        if p.kind == "default" and not p.schedules and p.enabled and not p.jingle and p.entries
    ]


def rotation_slots(playlists: list[Playlist]) -> list[tuple[Playlist, int, int]]:
    """(playlist, offset ms, duration ms): the hour shared among the playlists in
    whole minutes by weight, every playlist at least one minute, in order."""
    total = sum(max(1, p.weight) for p in playlists)
    minutes = [max(1, round(60 * max(1, p.weight) / total)) for p in playlists]
    while sum(minutes) > 60:
        minutes[minutes.index(max(minutes))] -= 1
    minutes[-1] += 60 - sum(minutes)
    out, at = [], 0
    for playlist, length in zip(playlists, minutes, strict=True):
        out.append((playlist, at * _MINUTE_MS, length * _MINUTE_MS))
        at += length
    return out


def clock_findings(playlists: list[Playlist]) -> list[Finding]:
    """What the general-rotation clock approximates."""
    if len(playlists) < 2:
        return []
    shares = ", ".join(
        f"{p.name} {d // _MINUTE_MS} min (weight {p.weight})"
        for p, _, d in rotation_slots(playlists)
    )
    return [
        Finding(
            "clock",
            "default",
            "AzuraCast picks among general-rotation playlists by weight, song by song; here "
            f"each gets a share of every hour by its weight: {shares}",
            skipped=False,
        )
    ]


def playlist_findings(playlist: Playlist) -> list[Finding]:
    """What of the playlist is not carried over as it was."""
    out: list[Finding] = []
    if playlist.kind in ("once_per_n_songs", "once_per_n_minutes", "once_per_hour"):
        what = playlist.kind.replace("_", " ").replace(" n ", f" {playlist.every or '?'} ")
        if playlist.kind == "once_per_hour":
            what = f"once per hour (at minute {playlist.every or 0})"
        out.append(
            Finding(
                "playlist",
                playlist.name,
                f"created with its rotation ({what}); AzuraCast slips it into the general "
                "rotation by itself, here it airs where a clock slot or a show names it: add it "
                "to the 'default' clock",
                skipped=False,
            )
        )
    if playlist.kind == "custom":
        out.append(
            Finding(
                "playlist",
                playlist.name,
                "a custom (advanced) playlist: created as a plain playlist; its own "
                "Liquidsoap scheduling is not carried over",
                skipped=False,
            )
        )
    if not playlist.enabled:
        out.append(
            Finding(
                "playlist",
                playlist.name,
                "disabled there: created, but no clock or show plays it",
                skipped=False,
            )
        )
    for schedule in playlist.schedules:
        if schedule.loop_once:
            out.append(
                Finding(
                    "schedule",
                    playlist.name,
                    "'play once per schedule' is not carried over: the show plays the "
                    "playlist for its whole length",
                    skipped=False,
                )
            )
    if playlist.block_keys or playlist.webstream_keys:
        out.append(
            Finding(
                "playlist",
                playlist.name,
                f"holds {len(playlist.block_keys)} smart block(s) and "
                f"{len(playlist.webstream_keys)} web stream(s): our playlists hold tracks "
                "only, so only its tracks are carried over; schedule the blocks and streams "
                "in a clock",
                skipped=False,
            )
        )
    return out


def show_findings(show: Show, snapshot: Snapshot, station_zone: str) -> list[Finding]:
    """What of a LibreTime show is not carried over as it was."""
    out: list[Finding] = []
    if show.timezone != station_zone:
        out.append(
            Finding(
                "show",
                show.name,
                f"repeats in {show.timezone} there, the station's {station_zone} here: its "
                "times are converted once, so they may drift by an hour across DST changes",
                skipped=False,
            )
        )
    if len(show.content_keys) > 1:
        out.append(
            Finding(
                "show",
                show.name,
                f"is filled by {len(show.content_keys)} playlists/blocks/streams; here a show "
                "has one: the first is used, put the others in a clock for it",
                skipped=False,
            )
        )
    for instance in show.instances:
        if instance.new_start is not None and (instance.content_keys or instance.scheduled):
            out.append(
                Finding(
                    "show",
                    show.name,
                    f"the occurrence of {instance.occurrence_start.isoformat()} was moved and "
                    "given its own content: it is moved, its content is the show's",
                    skipped=False,
                )
            )
    return out
