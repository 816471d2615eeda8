"""Bodies of the public routes (``/api/v1/public``), built from :class:`NowPlaying`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from grimnir.api._nowplaying import NowPlaying, Track
from grimnir.store.models import Station


class PublicStation(BaseModel):
    id: uuid.UUID
    short_name: str
    name: str
    description: str
    timezone: str
    listen_urls: list[str] = Field(description="Stream URLs (empty when not on air here).")


class Song(BaseModel):
    id: str = Field(description="As-run row (played) or timeline entry (planned) id.")
    kind: str = Field(description="track, live, webstream, stopset…")
    title: str
    artist: str
    album: str
    media_id: uuid.UUID | None
    started_at: datetime = Field(description="When it started, or is planned to.")
    duration_ms: int | None


class CurrentSong(Song):
    elapsed_ms: int
    remaining_ms: int | None


class NowPlayingOut(BaseModel):
    station: PublicStation
    at: datetime = Field(description="When this answer was computed (it is cached ≤ 5 s).")
    is_online: bool
    is_live: bool
    streamer: str = Field(description="The live DJ's name, when live.")
    listeners: int | None = Field(description="All mounts; null when unknown.")
    current: CurrentSong | None
    next: list[Song]
    history: list[Song] = Field(description="Most recent first.")


class ScheduledShow(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    start: datetime
    end: datetime


class ScheduledItem(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    artist: str
    start: datetime
    end: datetime


class ScheduleOut(BaseModel):
    station: PublicStation
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    shows: list[ScheduledShow]
    items: list[ScheduledItem] = Field(description="Timeline entries (at most 1,000).")


def public_station(station: Station, listen_urls: list[str]) -> PublicStation:
    return PublicStation(
        id=station.id,
        short_name=station.short_name,
        name=station.name,
        description=station.description,
        timezone=station.timezone,
        listen_urls=listen_urls,
    )


def _song(track: Track) -> Song:
    return Song(
        id=track.id,
        kind=track.kind,
        title=track.title,
        artist=track.artist,
        album=track.album,
        media_id=track.media_id,
        started_at=track.started_at,
        duration_ms=track.duration_ms,
    )


def now_playing_out(np: NowPlaying) -> NowPlayingOut:
    current = None
    if np.current is not None:
        elapsed = np.elapsed_ms()
        duration = np.current.duration_ms
        current = CurrentSong(
            **_song(np.current).model_dump(),
            elapsed_ms=elapsed,
            remaining_ms=None if duration is None else max(0, duration - elapsed),
        )
    return NowPlayingOut(
        station=public_station(np.station, np.listen_urls),
        at=np.at,
        is_online=np.is_online,
        is_live=np.is_live,
        streamer=np.streamer,
        listeners=np.listeners,
        current=current,
        next=[_song(t) for t in np.next],
        history=[_song(t) for t in np.history],
    )
