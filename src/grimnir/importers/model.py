"""What a reader found in another product's backup, before anything is written.

The readers (``azuracast``, ``libretime``) turn a backup into one
:class:`Snapshot` per station, in these plain types and in that product's own
words where ours differ (a playlist's ``kind``, a smart block's ``criteria``).
The mapper decides what each becomes here, and reports what cannot be mapped.
Nothing here touches the database: a dry run is a reader plus the mapper's plan.

Every record carries ``key``: the other product's own id for it (``"12"``), stable
between runs of the same backup, so a second import finds what the first created
(idempotence) and a report can name the row. Times of day and dates are the
station's local wall clock unless a field says UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

Product = Literal["azuracast", "libretime"]
Repeat = Literal[
    "none",
    "weekly",
    "every_2_weeks",
    "every_3_weeks",
    "every_4_weeks",
    "monthly_by_date",
    "monthly_by_weekday",
]


@dataclass(frozen=True)
class Finding:
    """Something found that cannot be carried over (or only in part), row by row:
    ``"media row 'Lost Signal': file missing from the backup"``."""

    part: str
    """``station``, ``output``, ``media``, ``playlist``, ``schedule``, ``show``,
    ``smart_block``, ``webstream``, ``user``, ``webhook``."""
    name: str
    """The row as the other product names it (a title, a playlist's name)."""
    reason: str
    """What is wrong and what the user can do about it."""
    skipped: bool = True
    """False: carried over in part (the reason says which part was left out)."""

    def __str__(self) -> str:
        return f"{self.part} row {self.name!r}: {self.reason}"


@dataclass
class Output:
    """A mount or remote relay: where the station's audio is sent."""

    key: str
    name: str
    kind: Literal["icecast", "shoutcast", "hls", "file"]
    mount: str | None = None
    """``/radio.mp3`` for a mount on the station's own server."""
    format: str = "mp3"
    """``mp3`` ``aac`` ``ogg`` ``opus`` ``flac``."""
    bitrate_kbps: int | None = None
    host: str | None = None
    """Set for a remote relay (another server); None: the station's own."""
    port: int | None = None
    username: str | None = None
    password: str | None = None
    is_default: bool = False
    public: bool = True


@dataclass
class Media:
    """A track with its file (already extracted from the backup) and its metadata."""

    key: str
    file: Path | None
    """Where the audio is on this machine now; None: not in the backup."""
    original_path: str
    """The path the other product stored (relative to its media folder)."""
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    genre: str | None = None
    mood: str | None = None
    year: int | None = None
    bpm: float | None = None
    isrc: str | None = None
    label: str | None = None
    composer: str | None = None
    language: str | None = None
    track_number: int | None = None
    comment: str | None = None
    duration_ms: int | None = None
    cue_in_ms: int | None = None
    cue_out_ms: int | None = None
    fade_in_ms: int | None = None
    fade_out_ms: int | None = None
    amplify_db: float | None = None
    """A gain the other product applied on air (AzuraCast ``amplify``)."""
    custom: dict[str, str] = field(default_factory=dict)
    """Custom fields by their short name."""
    artwork: Path | None = None
    """Artwork stored apart from the file (AzuraCast ``album_art``)."""
    sha256: str | None = None
    """As the other product recorded it, when it did (a hint, not trusted)."""
    replay_gain_db: float | None = None
    """LibreTime's ReplayGain analysis (dB); it applied it on air only when the
    station enabled replay gain. A hint: our pipeline measures loudness itself."""
    added_at: datetime | None = None
    """When the other product added the track (UTC); smart blocks select on it."""
    last_played_at: datetime | None = None
    """When the other product last played it (UTC)."""


@dataclass
class PlaylistEntry:
    media_key: str
    weight: float = 1.0
    cue_in_ms: int | None = None
    """LibreTime: this entry's own cue points and fades (``cc_playlistcontents``),
    which override the track's for this playlist only; None: the track's."""
    cue_out_ms: int | None = None
    fade_in_ms: int | None = None
    fade_out_ms: int | None = None


@dataclass
class PlaylistItem:
    """One position of a LibreTime playlist: a track, a smart block or a web stream."""

    kind: Literal["media", "block", "webstream"]
    key: str


@dataclass
class Schedule:
    """When a playlist plays (AzuraCast ``station_schedules``): on ``days``
    (ISO weekdays 1 = Monday … 7; empty = every day) from ``start`` to ``end``
    local time (``end`` ≤ ``start``: over midnight), between ``start_date`` and
    ``end_date`` when set."""

    key: str
    start: time
    end: time
    days: list[int] = field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    loop_once: bool = False
    """Play the playlist once through, then stop (AzuraCast ``loop_once``)."""


@dataclass
class Playlist:
    key: str
    name: str
    kind: Literal["default", "once_per_n_songs", "once_per_n_minutes", "once_per_hour", "custom"]
    """AzuraCast's ``type``; LibreTime playlists are ``default``."""
    every: int | None = None
    """n of ``once_per_n_songs`` / ``once_per_n_minutes``; minute of ``once_per_hour``."""
    order: Literal["sequential", "shuffle", "random"] = "shuffle"
    weight: int = 3
    """AzuraCast's weight among general-rotation playlists (1–25; 3 by default)."""
    jingle: bool = False
    """Played without now-playing metadata (AzuraCast ``is_jingle``)."""
    enabled: bool = True
    entries: list[PlaylistEntry] = field(default_factory=list)
    """In order (the order played when ``order`` is sequential)."""
    block_keys: list[str] = field(default_factory=list)
    """LibreTime: smart blocks inside the playlist, by their key, in order."""
    webstream_keys: list[str] = field(default_factory=list)
    """LibreTime: web streams inside the playlist, by their key, in order."""
    schedules: list[Schedule] = field(default_factory=list)
    description: str | None = None
    sequence: list[PlaylistItem] = field(default_factory=list)
    """LibreTime: every position in play order, tracks, blocks and web streams
    interleaved (``entries``, ``block_keys`` and ``webstream_keys`` each keep
    only their own kind)."""


@dataclass
class Criterion:
    """One smart block criterion in LibreTime's words (``cc_blockcriteria``):
    ``field`` (``artist_name``, ``genre``, ``length`` …), ``modifier``
    (``contains``, ``is``, ``is greater than``, ``is in the range`` …),
    ``value`` and ``extra`` (the range's upper end), ``group`` (criteria of one
    group are ORed, groups ANDed; LibreTime's ``criteriagroup``)."""

    field: str
    modifier: str
    value: str
    extra: str | None = None
    group: int = 0


@dataclass
class SmartBlock:
    key: str
    name: str
    criteria: list[Criterion] = field(default_factory=list)
    limit_kind: Literal["items", "hours", "minutes", "remaining"] = "items"
    limit_value: float | None = None
    repeat_tracks: bool = False
    overflow: bool = False
    """LibreTime ``overflow_tracks``: the last track may run past the limit."""
    sort: Literal["random", "newest", "oldest", "most_played", "least_played"] = "random"
    static: bool = False
    """A static block: ``contents`` is the fixed list it was generated with."""
    contents: list[str] = field(default_factory=list)
    """Media keys of a static block, in order."""
    description: str | None = None


@dataclass
class Webstream:
    key: str
    name: str
    url: str
    length_ms: int | None = None
    description: str | None = None


@dataclass
class ScheduledItem:
    """A track or web stream placed by hand into one occurrence (LibreTime
    ``cc_schedule``, where playlists and blocks are already expanded)."""

    kind: Literal["media", "webstream"]
    key: str
    start: datetime
    """When it was to start (UTC)."""


@dataclass
class ShowInstance:
    """An occurrence the other product changed by hand: cancelled, or moved to
    ``new_start`` (UTC) lasting ``new_duration_ms``."""

    occurrence_start: datetime
    """The start the rule gave it (UTC)."""
    cancelled: bool = False
    new_start: datetime | None = None
    new_duration_ms: int | None = None
    content_keys: list[str] = field(default_factory=list)
    """Playlists / blocks / web streams scheduled into this occurrence only."""
    scheduled: list[ScheduledItem] = field(default_factory=list)
    """Tracks and web streams scheduled into this occurrence, in order (LibreTime:
    an occurrence is listed for these even when it was not moved or cancelled)."""


@dataclass
class Show:
    """A LibreTime show with its repeat rule (``cc_show`` + ``cc_show_days``)."""

    key: str
    name: str
    first_start: datetime
    """The first occurrence's start, aware, in ``timezone``."""
    duration_ms: int
    timezone: str
    repeat: Repeat = "none"
    days: list[int] = field(default_factory=list)
    """ISO weekdays the show repeats on (weekly kinds)."""
    until: date | None = None
    """Last day (inclusive), local; None: no end."""
    content_keys: list[str] = field(default_factory=list)
    """Playlists, smart blocks, web streams (keys) that fill it by default
    (LibreTime's autoplaylist, or what every instance holds)."""
    instances: list[ShowInstance] = field(default_factory=list)
    description: str | None = None
    host_keys: list[str] = field(default_factory=list)
    """Users (keys) who host it (``cc_show_hosts``)."""
    live: bool = False
    """A live show (its DJ connects; automation fills when no one does)."""


@dataclass
class User:
    key: str
    username: str
    email: str | None = None
    display_name: str | None = None
    password_hash: str | None = None
    """As stored there: bcrypt (``$2y$…``/``$2b$…``), argon2 (``$argon2id$…``),
    or Django's ``algorithm$…``; None: the person signs in with a new password."""
    role: Literal["admin", "manager", "dj"] = "dj"
    disabled: bool = False
    streamer: bool = False
    """An AzuraCast streamer account (a DJ who connects an encoder)."""


@dataclass
class Webhook:
    key: str
    name: str
    kind: str
    """The other product's type (``generic``, ``discord``, ``tunein`` …)."""
    url: str | None = None
    triggers: list[str] = field(default_factory=list)
    enabled: bool = True


@dataclass
class Snapshot:
    """One station as the other product had it."""

    product: Product
    source: str
    """What was read: the backup's file name (no secrets)."""
    schema_version: str
    """The other product's schema version as read (a migration id)."""
    key: str
    short_name: str
    name: str
    timezone: str
    description: str | None = None
    outputs: list[Output] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    playlists: list[Playlist] = field(default_factory=list)
    smart_blocks: list[SmartBlock] = field(default_factory=list)
    webstreams: list[Webstream] = field(default_factory=list)
    shows: list[Show] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """What the reader already knows it cannot carry over."""
