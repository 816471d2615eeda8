"""How foreign rows translate into ours, without touching the database: outputs
into a station config's mounts, playlist kinds into rotations, AzuraCast's
general rotation (weighted shares and once-per playlists) into a clock, and what
each leaves behind (findings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from grimnir.config import HlsOutput, HttpOutput, IcecastOutput
from grimnir.domain.catalog import MP3_BITRATES
from grimnir.importers.model import Finding, Media, Output, Playlist, Show, Snapshot

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


ONCE_PER = ("once_per_n_songs", "once_per_n_minutes", "once_per_hour")
SONG_MS = 210_000
"""A song's length when the general rotation's tracks have none known (3.5 min)."""
_EARLY_MS = 60_000
# NOTE: the planner's EARLY: a soft slot short by at most this much is absorbed by
# the next slot starting early; short by more, it is topped up (jingles, rotation).


class GeneralRotation(list[Playlist]):
    """The playlists of the ``default`` clock, in the snapshot's order, with the
    snapshot they come from (the slot layout needs its media lengths)."""

    def __init__(self, playlists: list[Playlist], snapshot: Snapshot) -> None:
        super().__init__(playlists)
        self.snapshot = snapshot


def _placeable(playlist: Playlist) -> bool:
    """A once-per playlist AzuraCast slips into its general rotation by itself."""
    if playlist.kind not in ONCE_PER or not playlist.enabled or playlist.schedules:
        return False
    if playlist.kind != "once_per_hour" and not playlist.every:
        return False
    return bool(playlist.entries)


def general_rotation(snapshot: Snapshot) -> GeneralRotation:
    """AzuraCast's general rotation (what plays when no schedule says otherwise):
    enabled, unscheduled ``default`` playlists that are not jingles, shared by
    weight, and the enabled, unscheduled once-per playlists it slips in by
    itself. LibreTime has none: its playlists air where a show puts them."""
    if snapshot.product != "azuracast":
        return GeneralRotation([], snapshot)
    return GeneralRotation(
        [
            p
            for p in snapshot.playlists
            if (
                p.kind == "default" and not p.schedules and p.enabled and not p.jingle and p.entries
            )
            or _placeable(p)
        ],
        snapshot,
    )


def _shares(playlists: list[Playlist], minutes: int) -> list[int]:
    """``minutes`` shared among the playlists by weight in whole minutes, each at
    least one while there are enough (then the lightest go without)."""
    weights = [max(1, p.weight) for p in playlists]
    total = sum(weights)
    out = [max(1, round(minutes * w / total)) for w in weights]
    while sum(out) > minutes:
        biggest = max(out)
        if biggest > 1:
            out[out.index(biggest)] -= 1
        else:
            lightest = min(range(len(out)), key=lambda i: (out[i] == 0, weights[i], -i))
            out[lightest] = 0
    if out and sum(out) < minutes:
        out[max(i for i, m in enumerate(out) if m > 0)] += minutes - sum(out)
    return out


@dataclass(frozen=True)
class LaidSlot:
    """One slot of the ``default`` clock: a playlist from ``offset_ms`` for
    ``duration_ms``; ``once``: a once-per playlist's (one item), else a share."""

    playlist: Playlist
    offset_ms: int
    duration_ms: int
    once: bool = False


@dataclass
class ClockLayout:
    """The ``default`` clock's hour: its slots in time order, what was noted on
    the way and the once-per playlists no room was left for."""

    slots: list[LaidSlot] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unplaced: list[Playlist] = field(default_factory=list)

    def summary(self) -> str:
        """What the clock holds, playlist by playlist: ``Rock 55 min, IDs at :00 :30``."""
        parts: dict[str, list[LaidSlot]] = {}
        for slot in self.slots:
            parts.setdefault(slot.playlist.key, []).append(slot)
        out = []
        for slots in parts.values():
            name = slots[0].playlist.name
            if slots[0].once:
                at = " ".join(f":{s.offset_ms // _MINUTE_MS:02d}" for s in slots)
                out.append(f"{name} ({slots[0].duration_ms // _MINUTE_MS} min) at {at}")
            else:
                out.append(f"{name} {sum(s.duration_ms for s in slots) // _MINUTE_MS} min")
        return ", ".join(out)


def playable_ms(media: Media) -> int | None:
    """How long the track plays between its cue points (None: its length is unknown)."""
    if not media.duration_ms:
        return None
    start = max(0, media.cue_in_ms or 0)
    end = media.duration_ms
    if media.cue_out_ms and start < media.cue_out_ms < end:
        end = media.cue_out_ms
    return end - start if end > start else None


def _lengths(playlist: Playlist, media: dict[str, Media]) -> list[int]:
    known = (playable_ms(media[e.media_key]) for e in playlist.entries if e.media_key in media)
    return [ms for ms in known if ms is not None]


def mean_song_ms(playlists: list[Playlist], media: dict[str, Media]) -> int | None:
    """The mean playable length of the tracks of the (weighted) playlists."""
    keys = {e.media_key for p in playlists for e in p.entries if e.media_key in media}
    known = [ms for k in sorted(keys) if (ms := playable_ms(media[k])) is not None]
    return sum(known) // len(known) if known else None


def once_slot_minutes(lengths: list[int]) -> int:
    """A once-per slot's length in whole minutes: its longest item rounded up, but
    no longer than its shortest item plus the planner's one minute of slack.

    A soft slot short by at most a minute is absorbed (the next slot starts
    early); short by more, the planner tops it up with jingles and music, which
    for a jingle playlist could air its own items again. A longer item runs on
    into the next (soft) slot, which starts when it ends.
    """
    if not lengths:
        return 1
    longest = -(-max(lengths) // _MINUTE_MS)
    slack = (min(lengths) + _EARLY_MS) // _MINUTE_MS
    return max(1, min(longest, slack))


def once_spacing(playlist: Playlist, song_ms: int, length: int) -> int:
    """Minutes between a once-per playlist's slots (60 or more: one an hour), at
    least its slot's ``length`` and a minute of the general rotation."""
    n = playlist.every or 1
    if playlist.kind == "once_per_hour":
        return 60
    if playlist.kind == "once_per_n_minutes":
        return max(n, length + 1)
    return max(length + 1, round(n * song_ms / _MINUTE_MS))


def once_starts(playlist: Playlist, spacing: int) -> list[int]:
    """The minutes a once-per playlist's slots start at: ``once_per_hour`` at its
    minute; the others evenly from minute 0, as many as fit ``spacing`` apart in
    an hour (the gap over the hour too, so none comes too soon to air)."""
    if playlist.kind == "once_per_hour":
        return [min(59, max(0, playlist.every or 0))]
    k = max(1, 60 // spacing)
    return [i * 60 // k for i in range(k)]


def _place(taken: list[bool], minute: int, length: int) -> int | None:
    """The free start nearest after ``minute`` (else before) for ``length`` minutes."""
    latest = 60 - length
    first = min(minute, latest)
    order: list[int] = [*range(first, latest + 1), *range(first - 1, -1, -1)]
    return next((s for s in order if s >= 0 and not any(taken[s : s + length])), None)


def _once_finding(playlist: Playlist, starts: list[int], length: int, why: str) -> Finding:
    at = " ".join(f":{m:02d}" for m in starts)
    return Finding(
        "playlist",
        playlist.name,
        f"AzuraCast slips it into the general rotation by itself; here the 'default' clock "
        f"gives it a {length}-min slot at {at} of every hour {why}: the planner plays one "
        "item there when its rotation allows, else the slot rests",
        skipped=False,
    )


def clock_layout(rotation: GeneralRotation, present: set[str] | None = None) -> ClockLayout:
    """The ``default`` clock's hour (pure): each once-per playlist's short slots
    where its kind puts them (moved to the nearest free minute on a collision),
    the rest of the hour shared by weight among the other playlists, their
    shares split around the once-per slots. ``present``: the playlist keys that
    came over (None: all)."""
    media = {m.key: m for m in rotation.snapshot.media}
    chosen = [p for p in rotation if present is None or p.key in present]
    weighted = [p for p in chosen if p.kind not in ONCE_PER]
    once = [p for p in chosen if p.kind in ONCE_PER]
    known_song = mean_song_ms(weighted, media)
    song_ms = known_song or SONG_MS
    layout = ClockLayout()
    taken = [False] * 60
    asked = []
    for order, playlist in enumerate(once):
        length = once_slot_minutes(_lengths(playlist, media))
        spacing = once_spacing(playlist, song_ms, length)
        for minute in once_starts(playlist, spacing):
            asked.append((minute, order, playlist, length, spacing))
    placed: dict[str, list[int]] = {}
    missed: set[str] = set()
    for minute, _, playlist, length, _ in sorted(asked, key=lambda a: (a[0], a[1])):
        start = _place(taken, minute, length)
        if start is None:
            missed.add(playlist.key)
            continue
        taken[start : start + length] = [True] * length
        placed.setdefault(playlist.key, []).append(start)
        layout.slots.append(LaidSlot(playlist, start * _MINUTE_MS, length * _MINUTE_MS, once=True))
    for playlist in once:
        starts = sorted(placed.get(playlist.key, []))
        length = once_slot_minutes(_lengths(playlist, media))
        spacing = once_spacing(playlist, song_ms, length)
        if not starts:
            layout.unplaced.append(playlist)
            layout.findings.append(
                Finding(
                    "playlist",
                    playlist.name,
                    f"created with its rotation; no room was left for its {length}-min slot "
                    "in the 'default' clock's hour: add it to a clock by hand",
                    skipped=False,
                )
            )
            continue
        if playlist.kind == "once_per_n_songs":
            mean = (
                f"{song_ms / _MINUTE_MS:.1f} min"
                if song_ms >= _MINUTE_MS
                else f"{song_ms // 1000} s"
            )
            basis = (
                f"the mean length of the general rotation's tracks ({mean})"
                if known_song
                else f"a typical song ({mean}; the general rotation's lengths are unknown)"
            )
            why = (
                f"(about every {spacing} min: {playlist.every} songs × {basis}; AzuraCast "
                "counts songs, a clock counts minutes)"
            )
        elif playlist.kind == "once_per_n_minutes":
            why = f"(once per {playlist.every} min, as many times as fit an hour)"
            if spacing > (playlist.every or 1):
                why = (
                    f"(once per {playlist.every} min, but {spacing} min apart: its slot and a "
                    "minute of the general rotation)"
                )
            if spacing > 60:
                why = f"(once per {playlist.every} min: a slot every hour, resting as needed)"
        else:
            why = "(once per hour)"
        if playlist.key in missed:
            why += "; no room was left for its other slots"
        layout.findings.append(_once_finding(playlist, starts, length, why))
    free = [m for m in range(60) if not taken[m]]
    owner: list[Playlist | None] = [None] * 60
    at = 0
    for playlist, share in zip(weighted, _shares(weighted, len(free)), strict=True):
        for minute in free[at : at + share]:
            owner[minute] = playlist
        at += share
    start = 0
    for minute in range(1, 61):
        current = owner[start]
        if minute < 60 and owner[minute] is current:
            continue
        if current is not None:
            layout.slots.append(
                LaidSlot(current, start * _MINUTE_MS, (minute - start) * _MINUTE_MS)
            )
        start = minute
    layout.slots.sort(key=lambda s: s.offset_ms)
    return layout


def clock_findings(rotation: GeneralRotation) -> list[Finding]:
    """What the ``default`` clock approximates: shares by weight, once-per slots."""
    layout = clock_layout(rotation)
    out = list(layout.findings)
    weighted = [p for p in rotation if p.kind not in ONCE_PER]
    if len(weighted) < 2 and not layout.slots:
        return out
    shares = {p.key: 0 for p in weighted}
    for slot in layout.slots:
        if not slot.once:
            shares[slot.playlist.key] += slot.duration_ms // _MINUTE_MS
    if len(weighted) >= 2:
        listed = ", ".join(f"{p.name} {shares[p.key]} min (weight {p.weight})" for p in weighted)
        out.append(
            Finding(
                "clock",
                "default",
                "AzuraCast picks among general-rotation playlists by weight, song by song; "
                f"here each gets a share of every hour by its weight: {listed}",
                skipped=False,
            )
        )
    elif not weighted and layout.slots:
        out.append(
            Finding(
                "clock",
                "default",
                "there is no general-rotation playlist: the clock holds only the once-per "
                "playlists' slots, the planner's default rotation (every ready track) plays "
                "the rest of each hour",
                skipped=False,
            )
        )
    return out


def playlist_findings(playlist: Playlist) -> list[Finding]:
    """What of the playlist is not carried over as it was."""
    out: list[Finding] = []
    # NOTE: a placeable once-per playlist gets slots in the 'default' clock; the
    # clock's findings say where (``clock_layout``)
    if playlist.kind in ONCE_PER and not _placeable(playlist):
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
