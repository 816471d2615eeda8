"""AzuraCast's now-playing JSON, so players and widgets written for AzuraCast work.

Field names and types follow AzuraCast's ``/api/nowplaying`` answer. What Grimnir
has no notion of gets a fixed default: ``playlist``/``streamer`` ``""``,
``is_request`` false, ``art`` ``""``, ``genre``/``isrc``/``lyrics`` ``""``,
``remotes`` ``[]``, HLS off, ``cache`` null. Numeric ids are the first 48 bits of
our UUIDs (stable, safe in JavaScript); ``/api/nowplaying/{station}`` takes that
number, the UUID or the short name.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from grimnir.api._nowplaying import NowPlaying, Track


def short_id(value: uuid.UUID | str) -> int:
    """A stable 48-bit number for a UUID (AzuraCast ids are integers)."""
    raw = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return int.from_bytes(raw.bytes[:6], "big")


class AzListeners(BaseModel):
    total: int = 0
    unique: int = 0
    current: int = 0


class AzMount(BaseModel):
    id: int
    name: str
    url: str
    bitrate: int
    format: str
    listeners: AzListeners
    path: str
    is_default: bool


class AzStation(BaseModel):
    id: int
    name: str
    shortcode: str
    description: str
    frontend: str = "grimnir"
    backend: str = "grimnir"
    timezone: str
    listen_url: str
    url: str = ""
    public_player_url: str = ""
    playlist_pls_url: str = ""
    playlist_m3u_url: str = ""
    is_public: bool = True
    mounts: list[AzMount]
    remotes: list[AzMount] = Field(default_factory=list)
    hls_enabled: bool = False
    hls_is_default: bool = False
    hls_url: str | None = None
    hls_listeners: int = 0


class AzLive(BaseModel):
    is_live: bool
    streamer_name: str
    broadcast_start: int | None
    art: str | None = None


class AzSong(BaseModel):
    id: str
    text: str
    artist: str
    title: str
    album: str
    genre: str = ""
    isrc: str = ""
    lyrics: str = ""
    art: str = ""
    custom_fields: dict[str, str] = Field(default_factory=dict)


class AzHistoryItem(BaseModel):
    sh_id: int
    played_at: int
    duration: int
    playlist: str = ""
    streamer: str = ""
    is_request: bool = False
    song: AzSong


class AzCurrent(AzHistoryItem):
    elapsed: int
    remaining: int


class AzNext(BaseModel):
    cued_at: int
    played_at: int
    duration: int
    playlist: str = ""
    is_request: bool = False
    song: AzSong


class AzNowPlaying(BaseModel):
    """One station's answer of AzuraCast's ``GET /api/nowplaying/{station}``."""

    station: AzStation
    listeners: AzListeners
    live: AzLive
    now_playing: AzCurrent
    playing_next: AzNext | None
    song_history: list[AzHistoryItem]
    is_online: bool
    cache: str | None = None


def _song(artist: str, title: str, album: str) -> AzSong:
    text = f"{artist} - {title}" if artist and title else (title or artist)
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return AzSong(id=digest, text=text, artist=artist, title=title, album=album)


def _seconds(ms: int | None) -> int:
    return 0 if ms is None else round(ms / 1000)


def _stamp(at: datetime) -> int:
    return int(at.timestamp())


def _history(track: Track) -> AzHistoryItem:
    return AzHistoryItem(
        sh_id=short_id(track.id),
        played_at=_stamp(track.started_at),
        duration=_seconds(track.duration_ms),
        streamer=track.artist if track.layer == "live" else "",
        song=_song(track.artist, track.title, track.album),
    )


def _mount_url(urls: list[str], key: str) -> str:
    for url in urls:
        if url.rstrip("/").rsplit("/", 1)[-1].split(".")[0] == key:
            return url
    return ""


def azuracast(np: NowPlaying) -> AzNowPlaying:
    """Our now-playing picture in AzuraCast's shape."""
    station = np.station
    total = np.listeners or 0
    mounts = [
        AzMount(
            id=n + 1,
            name=m.name,
            url=_mount_url(np.listen_urls, m.key),
            bitrate=m.bitrate_kbps or 0,
            format=m.format,
            listeners=AzListeners(
                total=m.listeners or 0, unique=m.listeners or 0, current=m.listeners or 0
            ),
            path=f"/{m.key}",
            is_default=n == 0,
        )
        for n, m in enumerate(np.mounts)
    ]
    current = np.current
    if current is None:
        playing = AzCurrent(
            sh_id=0,
            played_at=_stamp(np.at),
            duration=0,
            song=_song("", station.name, ""),
            elapsed=0,
            remaining=0,
        )
    else:
        # NOTE: whole seconds that add up: elapsed + remaining == duration (players
        # draw progress bars from them), each rounded once
        history = _history(current)
        elapsed, remaining = _seconds(np.elapsed_ms()), 0
        if current.duration_ms is not None:
            elapsed = min(elapsed, history.duration)
            remaining = history.duration - elapsed
        playing = AzCurrent(
            **history.model_dump(exclude={"song"}),
            song=_song(current.artist, current.title, current.album),
            elapsed=elapsed,
            remaining=remaining,
        )
    upcoming = np.next[0] if np.next else None
    playing_next = None
    if upcoming is not None:
        cued = upcoming.started_at - timedelta(seconds=30)
        playing_next = AzNext(
            cued_at=_stamp(cued),
            played_at=_stamp(upcoming.started_at),
            duration=_seconds(upcoming.duration_ms),
            song=_song(upcoming.artist, upcoming.title, upcoming.album),
        )
    return AzNowPlaying(
        station=AzStation(
            id=short_id(station.id),
            name=station.name,
            shortcode=station.short_name,
            description=station.description,
            timezone=station.timezone,
            listen_url=np.listen_urls[0] if np.listen_urls else "",
            mounts=mounts,
        ),
        listeners=AzListeners(total=total, unique=total, current=total),
        live=AzLive(
            is_live=np.is_live,
            streamer_name=np.streamer,
            broadcast_start=_stamp(current.started_at) if np.is_live and current else None,
        ),
        now_playing=playing,
        playing_next=playing_next,
        song_history=[_history(t) for t in np.history],
        is_online=np.is_online,
    )
