"""AzuraCast's now-playing JSON, so players and widgets written for AzuraCast work.

Field names and types follow AzuraCast's own OpenAPI schema ``Api_NowPlaying``
(the suite validates answers against it: tests/api/azuracast/openapi-subset.json).
What Grimnir has no notion of gets a fixed default: ``playlist`` ``""``,
``is_request`` and ``requests_enabled`` false, ``genre``/``isrc``/``lyrics``
``""``, ``custom_fields`` ``[]``, ``remotes`` ``[]``, ``url`` (the station's web
site) and ``live.art`` null, ``cache`` null. Art is never empty: a track's own
cover when its media file has one, else the station's image. Numeric ids are the
first 48 bits of our UUIDs (stable, safe in JavaScript);
``/api/nowplaying/{station}`` takes that number, the UUID or the short name.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, Field

from grimnir.api._nowplaying import MountInfo, NowPlaying, Track
from grimnir.api._urls import PLACEHOLDER, station_base
from grimnir.store.models import Station

LISTENER_OUTPUTS = ("http", "icecast")
"""Output kinds a listener opens as a mount (HLS has its own fields)."""


def short_id(value: uuid.UUID | str) -> int:
    """A stable 48-bit number for a UUID (AzuraCast ids are integers)."""
    raw = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return int.from_bytes(raw.bytes[:6], "big")


class AzListeners(BaseModel):
    total: int = 0
    unique: int = 0
    current: int = 0


class AzRemote(BaseModel):
    id: int
    name: str
    url: str
    bitrate: int | None
    format: str | None
    listeners: AzListeners


class AzMount(AzRemote):
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
    url: str | None = None
    public_player_url: str
    playlist_pls_url: str
    playlist_m3u_url: str
    is_public: bool = True
    requests_enabled: bool = False
    mounts: list[AzMount]
    remotes: list[AzRemote] = Field(default_factory=list)
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
    art: str
    # NOTE: AzuraCast's schema says array (of strings); its PHP fills a map by field
    # name, which JSON-encodes as [] when empty and {} otherwise. We have no custom
    # fields, so always [], which both readings accept.
    custom_fields: list[str] = Field(default_factory=list)


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


def public_base(station: Station) -> str:
    """The base of the station's public URLs in built answers: its own ``public_url``,
    else the placeholder each response replaces with the caller's base."""
    return station_base(station.config) or PLACEHOLDER


@dataclass(frozen=True, slots=True)
class PublicUrls:
    """Where a station's public pages, playlists and pictures are, under ``base``
    (see :func:`public_base`; no trailing slash)."""

    base: str
    station: str
    """The station's short name."""

    def _at(self, path: str) -> str:
        return f"{self.base}{path}"

    @property
    def player(self) -> str:
        return self._at(f"/public/{quote(self.station)}")

    @property
    def pls(self) -> str:
        return self._at(f"/public/{quote(self.station)}/playlist.pls")

    @property
    def m3u(self) -> str:
        return self._at(f"/public/{quote(self.station)}/playlist.m3u")

    @property
    def station_art(self) -> str:
        return self._at(f"/api/station/{quote(self.station)}/art")

    def media_art(self, media_id: uuid.UUID) -> str:
        return self._at(f"/api/station/{quote(self.station)}/art/{media_id}")


def _song(artist: str, title: str, album: str, art: str) -> AzSong:
    text = f"{artist} - {title}" if artist and title else (title or artist)
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return AzSong(id=digest, text=text, artist=artist, title=title, album=album, art=art)


def _seconds(ms: int | None) -> int:
    return 0 if ms is None else round(ms / 1000)


def _stamp(at: datetime) -> int:
    return int(at.timestamp())


def _art(np: NowPlaying, urls: PublicUrls, track: Track) -> str:
    if track.media_id is not None and track.media_id in np.artwork:
        return urls.media_art(track.media_id)
    return urls.station_art


def _history(np: NowPlaying, urls: PublicUrls, track: Track) -> AzHistoryItem:
    return AzHistoryItem(
        sh_id=short_id(track.id),
        played_at=_stamp(track.started_at),
        duration=_seconds(track.duration_ms),
        streamer=track.artist if track.layer == "live" else "",
        song=_song(track.artist, track.title, track.album, _art(np, urls, track)),
    )


def _listen_url(urls: list[str], ending: str) -> str:
    """The listen URL whose path ends with ``ending``, empty when none does."""
    for url in urls:
        if urlsplit(url).path.endswith(ending):
            return url
    return ""


def _mounts(np: NowPlaying) -> list[AzMount]:
    """One AzuraCast mount per output a listener opens (our listener server's and
    Icecast's), in mount order; the first is the default. Each counts its own
    listeners (HLS players are the station's ``hls_listeners``)."""
    out: list[AzMount] = []
    for mount in np.mounts:
        for output in mount.outputs:
            if output.kind not in LISTENER_OUTPUTS or not output.path:
                continue
            url = output.url or _listen_url(np.listen_urls, output.path)
            heard = output.listeners or 0
            out.append(
                AzMount(
                    id=len(out) + 1,
                    name=mount.name,
                    url=url,
                    bitrate=output.bitrate_kbps,
                    format=output.format or None,
                    listeners=AzListeners(total=heard, unique=heard, current=heard),
                    path=output.path,
                    is_default=not out,
                )
            )
    return out


def _hls_url(np: NowPlaying, mounts: list[MountInfo]) -> str | None:
    for mount in mounts:
        if any(o.kind == "hls" for o in mount.outputs):
            found = _listen_url(np.listen_urls, f"/hls/{mount.key}/index.m3u8")
            if found:
                return found
    return None


def az_station(np: NowPlaying) -> AzStation:
    """The station part of AzuraCast's now playing (also ``/api/station/{id}``)."""
    station = np.station
    urls = PublicUrls(public_base(station), station.short_name)
    mounts = _mounts(np)
    default = next((m.url for m in mounts if m.url), "")
    return AzStation(
        id=short_id(station.id),
        name=station.name,
        shortcode=station.short_name,
        description=station.description,
        timezone=station.timezone,
        listen_url=default or (np.listen_urls[0] if np.listen_urls else ""),
        public_player_url=urls.player,
        playlist_pls_url=urls.pls,
        playlist_m3u_url=urls.m3u,
        mounts=mounts,
        hls_enabled=any(o.kind == "hls" for m in np.mounts for o in m.outputs),
        hls_url=_hls_url(np, np.mounts),
        hls_listeners=sum(m.hls_listeners for m in np.mounts),
    )


def azuracast(np: NowPlaying) -> AzNowPlaying:
    """Our now-playing picture in AzuraCast's shape (URLs: see :func:`public_base`)."""
    station = np.station
    urls = PublicUrls(public_base(station), station.short_name)
    total = np.listeners or 0
    current = np.current
    if current is None:
        playing = AzCurrent(
            sh_id=0,
            played_at=_stamp(np.at),
            duration=0,
            song=_song("", station.name, "", urls.station_art),
            elapsed=0,
            remaining=0,
        )
    else:
        # NOTE: whole seconds that add up: elapsed + remaining == duration (players
        # draw progress bars from them), each rounded once
        history = _history(np, urls, current)
        elapsed, remaining = _seconds(np.elapsed_ms()), 0
        if current.duration_ms is not None:
            elapsed = min(elapsed, history.duration)
            remaining = history.duration - elapsed
        playing = AzCurrent(
            **history.model_dump(exclude={"song", "streamer"}),
            streamer=np.streamer if np.is_live else history.streamer,
            song=history.song,
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
            song=_song(upcoming.artist, upcoming.title, upcoming.album, _art(np, urls, upcoming)),
        )
    return AzNowPlaying(
        station=az_station(np),
        listeners=AzListeners(total=total, unique=total, current=total),
        live=AzLive(
            is_live=np.is_live,
            streamer_name=np.streamer,
            broadcast_start=_stamp(current.started_at) if np.is_live and current else None,
        ),
        now_playing=playing,
        playing_next=playing_next,
        song_history=[_history(np, urls, t) for t in np.history],
        is_online=np.is_online,
    )
