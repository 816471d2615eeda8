"""The fallback rotation the executor keeps loaded in the engine.

When the engine has nothing else to play (the control plane is down longer
than the timeline it holds, or the timeline has a hole) it plays this list,
looping, before the station's ``fallback_paths`` and ``emergency_audio_path``.
It is every ready track of the station that is not a jingle, shuffled with
artists kept apart, capped at ``ROTATION_MAX`` tracks, refreshed when the
library changes (``fingerprint``).

The shuffle is seeded by the station and the library's fingerprint: the
same library gives the same list (a restart does not reshuffle).
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections import deque
from datetime import datetime, timedelta

from sqlalchemy import func, select

from grimnir.domain import CuePoints, MediaState, Millis
from grimnir.engine.client import EngineClient, PlayRequest
from grimnir.executor._timeline import Sessions
from grimnir.store.models import MediaItem, Playlist, PlaylistItem

ROTATION_MAX = 500
"""Tracks in the list at most (a day of music or so; it loops)."""
ARTIST_GAP = 3
"""An artist comes back after at least this many other tracks (when the library allows)."""
ITEM_PREFIX = "rotation-"
ROTATION_CHECK_S = 300.0
"""How often (station time) the executor looks whether the library changed, to give
the engine a fresh fallback rotation."""

__all__ = [
    "ARTIST_GAP",
    "ROTATION_CHECK_S",
    "ROTATION_MAX",
    "FallbackRotation",
    "fingerprint",
    "rotation",
    "separated",
]

log = logging.getLogger("grimnir.executor")


class FallbackRotation:
    """The rotation one station's engine holds, and when the library was last looked at."""

    def __init__(self, station: uuid.UUID, sessions: Sessions, client: EngineClient) -> None:
        self._station = station
        self._sessions = sessions
        self._client = client
        self._held: str | None = None
        """Fingerprint of the library behind the rotation the engine holds (None: none)."""
        self._checked: datetime | None = None

    async def keep(self, now: datetime) -> None:
        """Give the engine the station's rotation, again when the library changed
        (looked at every ``ROTATION_CHECK_S`` of station time)."""
        last = self._checked
        fresh = last is not None and now - last < timedelta(seconds=ROTATION_CHECK_S)
        if self._held is not None and fresh:
            return
        self._checked = now
        current = await fingerprint(self._sessions, self._station)
        if current == self._held:
            return
        items = await rotation(self._sessions, self._station, current)
        await self._client.set_fallback(items)
        self._held = current
        log.info("station %s: fallback rotation of %d tracks loaded", self._station, len(items))

    def engine_replaced(self) -> None:
        """The engine was (re)reached: a new engine process holds no rotation."""
        self._held = None


async def fingerprint(sessions: Sessions, station: uuid.UUID) -> str:
    """Changes whenever the station's ready tracks change (count or any edit)."""
    async with sessions() as session:
        count, latest = (
            await session.execute(
                select(func.count(MediaItem.id), func.max(MediaItem.updated_at)).where(
                    MediaItem.station_id == station, MediaItem.state == MediaState.READY
                )
            )
        ).one()
    return f"{count}:{latest.isoformat() if latest is not None else '-'}"


def separated(
    tracks: list[MediaItem], rng: random.Random, gap: int = ARTIST_GAP
) -> list[MediaItem]:
    """``tracks`` shuffled so an artist does not repeat within ``gap`` tracks, as far
    as the library allows (with too few artists the gap shrinks, never the list)."""
    pool = list(tracks)
    rng.shuffle(pool)
    artists = {(t.artist or "").casefold() for t in pool}
    gap = max(0, min(gap, len(artists) - 1))
    out: list[MediaItem] = []
    recent: deque[str] = deque(maxlen=gap or 1)
    while pool:
        pick = next(
            (
                i
                for i, t in enumerate(pool)
                if gap == 0 or (t.artist or "").casefold() not in recent
            ),
            0,
        )
        track = pool.pop(pick)
        out.append(track)
        if gap:
            recent.append((track.artist or "").casefold())
    return out


async def rotation(sessions: Sessions, station: uuid.UUID, seed: str) -> list[PlayRequest]:
    """The station's fallback rotation as play requests (see the module docstring)."""
    async with sessions() as session:
        jingles = (
            select(PlaylistItem.media_id)
            .join(Playlist, Playlist.id == PlaylistItem.playlist_id)
            .where(Playlist.station_id == station, Playlist.jingle.is_(True))
        )
        rows = list(
            await session.scalars(
                select(MediaItem)
                .where(
                    MediaItem.station_id == station,
                    MediaItem.state == MediaState.READY,
                    MediaItem.id.not_in(jingles),
                )
                .order_by(MediaItem.id)
            )
        )
    digest = hashlib.sha256(f"{station}:{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - a playlist shuffle
    if len(rows) > ROTATION_MAX:
        rows = rng.sample(rows, ROTATION_MAX)
    return [
        PlayRequest(
            item_id=f"{ITEM_PREFIX}{track.id}",
            path=track.path,
            cue=CuePoints(
                cue_in=Millis(track.cue_in_ms or 0),
                cue_out=None if track.cue_out_ms is None else Millis(track.cue_out_ms),
            ),
            gain_db=track.gain_db or 0.0,
            title=track.title or "",
            artist=track.artist or "",
            meta={"media_id": str(track.id), "rotation": True},
        )
        for track in separated(rows, rng)
    ]
