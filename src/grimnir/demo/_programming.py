"""The demo station itself and its programming: config, smart block, ID playlist, clock.

The config follows ``examples/station-wgmr.yaml`` (same processing chain,
failover and priorities) but is called "Grimnir Demo FM" (short name
``demo``) and streams only from the built-in server at ``/demo.mp3``: no
Icecast peer to fail, no recording or HLS folders outside the data dir. Its
fallback is a folder of generated tracks (``failover.fallback_paths``), so the
engine has something to play with nothing queued and no control plane.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.config.station import StationConfig
from grimnir.demo.voice import STATION_ID_GENRE
from grimnir.domain import SlotKind, Timing
from grimnir.services.stations import find_station_named, register_station
from grimnir.store.models import Clock, ClockSlot, Playlist, PlaylistItem, SmartBlock, Station

DEMO_STATION_ID = uuid.UUID("0d3e5a9c-7b1f-4c2a-8e6d-5f4a3b2c1d0e")
"""The demo station's id (fixed, so every ``--demo`` run finds the same station)."""
SHORT_NAME = "demo"
NAME = "Grimnir Demo FM"
LISTEN_PATH = "/demo.mp3"
MUSIC_BLOCK = "Demo music"
ID_PLAYLIST = "Station IDs"
CLOCK = "default"
HALF_HOUR_MS = 1_800_000

MUSIC_RULES: dict[str, Any] = {
    "groups": [[{"field": "genre", "modifier": "is_not", "value": STATION_ID_GENRE}]],
    # NOTE: a dozen tracks by six artists (half an hour of music): one artist per
    # 6 minutes, one song per 18 is what it can keep without relaxing all day.
    "separation": {"artist": 6, "title": 18, "album": 0},
    # NOTE: the last song of each half hour fades out at the station ID, as on
    # real radio; stopping short instead would be topped up with more IDs.
    "overflow": "trim_last",
}
ID_ROTATION: dict[str, Any] = {"type": "default"}
"""Whenever scheduled: an ID slot is as long as the shortest ID, so it plays exactly one,
and nothing can make the ID on the hour rest."""


def demo_config(fallback: Path | None = None) -> StationConfig:
    """The demo station's config (see the module docstring); ``fallback`` is the folder
    of its fallback tracks."""
    failover: dict[str, Any] = {"live_timeout_sec": 30, "automation_fallback_enabled": True}
    if fallback is not None:
        failover["fallback_paths"] = [str(fallback)]
    return StationConfig.model_validate(
        {
            "station": {
                "id": str(DEMO_STATION_ID),
                "name": NAME,
                "short_name": SHORT_NAME,
                "timezone": "America/New_York",
                "description": "A generated library on air: try Grimnir Radio in one command.",
                "genre": "Various",
            },
            "mounts": [
                {
                    "id": "mount-main",
                    "name": "Main Stream",
                    "outputs": [
                        {
                            "type": "http",
                            "path": LISTEN_PATH,
                            "format": "mp3",
                            "bitrate_kbps": 128,
                        }
                    ],
                }
            ],
            "dsp_graph": {
                "nodes": [
                    {"type": "loudness_normalize", "target_lufs": -16.0, "true_peak_limit": -1.0},
                    {"type": "agc", "enabled": True, "target_level_db": -14.0},
                    {
                        "type": "compressor",
                        "threshold_db": -20.0,
                        "ratio": 3.0,
                        "attack_ms": 5,
                        "release_ms": 50,
                    },
                    {"type": "limiter", "threshold_db": -1.0, "release_ms": 10},
                ]
            },
            "failover": failover,
            "priorities": {
                "emergency": 0,
                "live_override": 1,
                "live_scheduled": 2,
                "automation": 3,
                "fallback": 4,
            },
        }
    )


async def ensure_station(session: AsyncSession, fallback: Path | None = None) -> Station:
    """The demo station: the one called ``demo`` if it exists, else registered anew.

    An existing one without any fallback audio (made by an older version) gets
    ``fallback`` as its ``failover.fallback_paths``; one that has some keeps it.
    """
    station = await find_station_named(session, SHORT_NAME)
    if station is None:
        station, _ = await register_station(session, demo_config(fallback))
        return station
    failover = dict(station.config.get("failover") or {})
    if fallback is not None and not (
        failover.get("fallback_paths") or failover.get("emergency_audio_path")
    ):
        failover["fallback_paths"] = [str(fallback)]
        station.config = {**station.config, "failover": failover}
        await session.flush()
    return station


async def ensure_music_block(session: AsyncSession, station_id: uuid.UUID) -> SmartBlock:
    """The "Demo music" smart block: every track that is not a station ID."""
    block = await session.scalar(
        select(SmartBlock).where(
            SmartBlock.station_id == station_id, SmartBlock.name == MUSIC_BLOCK
        )
    )
    if block is None:
        block = SmartBlock(
            station_id=station_id,
            name=MUSIC_BLOCK,
            description="All the demo's music, artists kept apart.",
            rules=MUSIC_RULES,
            target_duration_ms=HALF_HOUR_MS,
            tolerance_ms=0,
        )
        session.add(block)
        await session.flush()
    return block


async def ensure_id_playlist(
    session: AsyncSession, station_id: uuid.UUID, media_ids: list[uuid.UUID]
) -> Playlist:
    """The jingle playlist of station IDs, holding exactly ``media_ids`` (shuffled)."""
    playlist = await session.scalar(
        select(Playlist).where(Playlist.station_id == station_id, Playlist.name == ID_PLAYLIST)
    )
    if playlist is None:
        playlist = Playlist(
            station_id=station_id,
            name=ID_PLAYLIST,
            description="Spoken station IDs over a sting; aired without now-playing data.",
            shuffle=True,
            rotation=ID_ROTATION,
            jingle=True,
        )
        session.add(playlist)
        await session.flush()
    current = list(
        await session.scalars(
            select(PlaylistItem.media_id)
            .where(PlaylistItem.playlist_id == playlist.id)
            .order_by(PlaylistItem.position)
        )
    )
    if current != media_ids:
        await session.execute(delete(PlaylistItem).where(PlaylistItem.playlist_id == playlist.id))
        for position, media_id in enumerate(media_ids):
            session.add(PlaylistItem(playlist_id=playlist.id, position=position, media_id=media_id))
        await session.flush()
    return playlist


def slot_plan(id_ms: int) -> list[tuple[str, int, int, SlotKind, Timing]]:
    """(name, offset, length, kind, timing) of the demo clock for IDs of ``id_ms``:
    a hard ID on the hour, music, a soft ID at half past, music.

    The ID slots are as long as the shortest ID, so each plays exactly one.
    """
    id_slot = max(1000, id_ms)
    music = HALF_HOUR_MS - id_slot
    return [
        ("Station ID", 0, id_slot, SlotKind.PLAYLIST, Timing.HARD),
        ("Music", id_slot, music, SlotKind.SMART_BLOCK, Timing.SOFT),
        ("Mid-hour ID", HALF_HOUR_MS, id_slot, SlotKind.PLAYLIST, Timing.SOFT),
        ("Music", HALF_HOUR_MS + id_slot, music, SlotKind.SMART_BLOCK, Timing.SOFT),
    ]


async def ensure_clock(
    session: AsyncSession, station_id: uuid.UUID, block: SmartBlock, ids: Playlist, id_ms: int
) -> Clock:
    """The station's ``default`` clock (every hour without a show), made if missing.

    An existing clock is left as it is: it may have been edited since.
    """
    clock = await session.scalar(
        select(Clock).where(Clock.station_id == station_id, Clock.name == CLOCK)
    )
    if clock is not None:
        return clock
    clock = Clock(
        station_id=station_id,
        name=CLOCK,
        description="Station ID on the hour and at half past, music in between.",
    )
    session.add(clock)
    await session.flush()
    for position, (name, offset, length, kind, timing) in enumerate(slot_plan(id_ms)):
        is_id = kind == SlotKind.PLAYLIST
        session.add(
            ClockSlot(
                clock_id=clock.id,
                position=position,
                name=name,
                offset_ms=offset,
                duration_ms=length,
                kind=kind,
                timing=timing,
                playlist_id=ids.id if is_id else None,
                smart_block_id=None if is_id else block.id,
                params={},
            )
        )
    await session.flush()
    return clock
