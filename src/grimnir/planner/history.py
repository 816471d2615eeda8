"""Play history: what aired and what is planned, for separation and rotation.

Separation ("no artist twice within 60 minutes") must hold across smart
blocks, playlists, shows and the day boundary, so the timeline builder passes
one ``PlayHistory`` through the whole window it builds, starting from what
already aired (``as_run``) and what is planned and kept (``timeline_entries``).
Times are start-to-start. ``fork`` is O(1): a what-if simulation forks the
history and throws the fork away without touching the original.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import EntryKind, EntryStatus
from grimnir.planner._text import album_key, artist_key, title_key
from grimnir.planner.tracks import EPOCH, Track, to_micros
from grimnir.store.models import AsRun, MediaItem, TimelineEntry

KINDS = ("artist", "title", "album", "track")
_MAX_LAYERS = 8
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Play:
    """One item that aired or will air: its keys (see ``tracks.Track``), its
    start, where it came from (a playlist or smart block id) and whether it is
    a song (jingles are not counted by "once per N songs")."""

    start: datetime
    track_id: str | None
    artist_key: str | None
    title_key: str | None
    album_key: str | None
    source: str | None = None
    song: bool = True

    def key(self, kind: str) -> str | None:
        match kind:
            case "artist":
                return self.artist_key
            case "title":
                return self.title_key
            case "album":
                return self.album_key
        return self.track_id


class _Layer:
    """Plays in time order plus, per key, the sorted start times (µs)."""

    __slots__ = ("by_key", "plays", "songs", "starts")

    def __init__(self) -> None:
        self.plays: list[Play] = []
        self.starts: list[int] = []
        self.songs: list[int] = []
        self.by_key: dict[tuple[str, str], list[int]] = {}

    def add(self, play: Play) -> None:
        at = to_micros(play.start)
        index = bisect.bisect_right(self.starts, at)
        self.starts.insert(index, at)
        self.plays.insert(index, play)
        if play.song:
            bisect.insort(self.songs, at)
        for kind in KINDS:
            key = play.key(kind)
            if key is not None:
                bisect.insort(self.by_key.setdefault((kind, key), []), at)
        if play.source is not None:
            bisect.insort(self.by_key.setdefault(("source", play.source), []), at)


class PlayHistory:
    """Plays in time order, queried by artist/title/album/track/source key."""

    def __init__(self, plays: Iterator[Play] | list[Play] | tuple[Play, ...] = ()) -> None:
        self._frozen: tuple[_Layer, ...] = ()
        self._top = _Layer()
        for play in plays:
            self._top.add(play)

    # -- writing ------------------------------------------------------------

    def add(self, track: Track, start: datetime, source: str | None = None) -> Play:
        """Record that ``track`` airs at ``start`` (from ``source``, a playlist or block id)."""
        play = Play(
            start=start,
            track_id=track.id,
            artist_key=track.artist_key,
            title_key=track.title_key,
            album_key=track.album_key,
            source=source,
            song=track.now_playing,
        )
        self._top.add(play)
        return play

    def add_play(self, play: Play) -> None:
        self._top.add(play)

    def fork(self) -> PlayHistory:
        """An independent copy in O(1): both share what is recorded so far."""
        if self._top.plays:
            self._frozen = (*self._frozen, self._top)
            self._top = _Layer()
        if len(self._frozen) > _MAX_LAYERS:
            merged = _Layer()
            for play in self.plays():
                merged.add(play)
            self._frozen = (merged,)
        child = PlayHistory()
        child._frozen = self._frozen
        return child

    copy = fork

    # -- reading ------------------------------------------------------------

    def _layers(self) -> tuple[_Layer, ...]:
        return (*self._frozen, self._top)

    def __len__(self) -> int:
        return sum(len(layer.plays) for layer in self._layers())

    def iter_plays(self) -> Iterator[Play]:
        """Every play, in no particular order (cheaper than ``plays``)."""
        for layer in self._layers():
            yield from layer.plays

    def plays(self) -> list[Play]:
        """Every play, in time order."""
        merged = [p for layer in self._layers() for p in layer.plays]
        merged.sort(key=lambda p: p.start)
        return merged

    def last(self, kind: str, key: str | None, before: datetime) -> datetime | None:
        """The latest start of ``kind`` = ``key`` strictly before ``before``."""
        if key is None:
            return None
        at = to_micros(before)
        best: int | None = None
        for layer in self._layers():
            times = layer.by_key.get((kind, key))
            if times:
                i = bisect.bisect_left(times, at)
                if i and (best is None or times[i - 1] > best):
                    best = times[i - 1]
        return None if best is None else EPOCH + best * _MICROSECOND

    def next(self, kind: str, key: str | None, after: datetime) -> datetime | None:
        """The earliest start of ``kind`` = ``key`` at or after ``after``."""
        if key is None:
            return None
        at = to_micros(after)
        best: int | None = None
        for layer in self._layers():
            times = layer.by_key.get((kind, key))
            if times:
                i = bisect.bisect_left(times, at)
                if i < len(times) and (best is None or times[i] < best):
                    best = times[i]
        return None if best is None else EPOCH + best * _MICROSECOND

    def last_artist(self, key: str | None, before: datetime) -> datetime | None:
        return self.last("artist", key, before)

    def last_title(self, key: str | None, before: datetime) -> datetime | None:
        return self.last("title", key, before)

    def last_album(self, key: str | None, before: datetime) -> datetime | None:
        return self.last("album", key, before)

    def last_track(self, track_id: str | None, before: datetime) -> datetime | None:
        return self.last("track", track_id, before)

    def too_close(self, kind: str, key: str | None, at: datetime, window: timedelta) -> bool:
        """Whether ``key`` airs less than ``window`` before or after ``at``."""
        if key is None or window <= timedelta(0):
            return False
        before = self.last(kind, key, at)
        if before is not None and at - before < window:
            return True
        after = self.next(kind, key, at)
        return after is not None and after - at < window

    def near_us(self, kind: str, key: str | None, at_us: int, window_us: int) -> bool:
        """``too_close`` in µs since 1970 (the planner's per-candidate check)."""
        if key is None or window_us <= 0:
            return False
        lo, hi = at_us - window_us, at_us + window_us
        for layer in self._layers():
            times = layer.by_key.get((kind, key))
            if times:
                i = bisect.bisect_right(times, lo)
                if i < len(times) and times[i] < hi:
                    return True
        return False

    def keys_near(self, kind: str, at: datetime, window: timedelta) -> set[str]:
        """Every ``kind`` key airing less than ``window`` before or after ``at``."""
        if window <= timedelta(0):
            return set()
        lo, hi = to_micros(at - window), to_micros(at + window)
        keys: set[str] = set()
        for layer in self._layers():
            i = bisect.bisect_right(layer.starts, lo)
            j = bisect.bisect_left(layer.starts, hi)
            for play in layer.plays[i:j]:
                key = play.key(kind)
                if key is not None:
                    keys.add(key)
        return keys

    def songs_between(self, start: datetime, end: datetime) -> int:
        """How many songs (not jingles) start in [start, end)."""
        lo, hi = to_micros(start), to_micros(end)
        return sum(
            bisect.bisect_left(layer.songs, hi) - bisect.bisect_left(layer.songs, lo)
            for layer in self._layers()
        )

    # -- loading ------------------------------------------------------------

    @classmethod
    async def load(
        cls, session: AsyncSession, station_id: uuid.UUID, since: datetime
    ) -> PlayHistory:
        """What aired since ``since`` (as-run) plus the planned entries from then on.

        A planned entry that has an as-run row counts once (as aired); skipped
        entries do not count. Keys come from the title/artist/album snapshots,
        so a deleted media item still separates its artist.
        """
        history = cls()
        aired: set[uuid.UUID] = set()
        as_run = await session.execute(
            select(
                AsRun.media_id,
                AsRun.title,
                AsRun.artist,
                AsRun.album,
                AsRun.started_at,
                AsRun.timeline_entry_id,
                TimelineEntry.kind,
                TimelineEntry.playlist_id,
                TimelineEntry.smart_block_id,
            )
            .outerjoin(TimelineEntry, TimelineEntry.id == AsRun.timeline_entry_id)
            .where(AsRun.station_id == station_id, AsRun.started_at >= since)
        )
        for row in as_run:
            if row.timeline_entry_id is not None:
                aired.add(row.timeline_entry_id)
            history.add_play(
                _play(row.media_id, row.title, row.artist, row.album, row.started_at, row)
            )
        planned = await session.execute(
            select(
                TimelineEntry.id,
                TimelineEntry.media_id,
                TimelineEntry.title,
                TimelineEntry.artist,
                MediaItem.album,
                TimelineEntry.starts_at,
                TimelineEntry.kind,
                TimelineEntry.playlist_id,
                TimelineEntry.smart_block_id,
            )
            .outerjoin(MediaItem, MediaItem.id == TimelineEntry.media_id)
            .where(
                TimelineEntry.station_id == station_id,
                TimelineEntry.starts_at >= since,
                TimelineEntry.status != EntryStatus.SKIPPED,
                TimelineEntry.kind.in_((EntryKind.TRACK, EntryKind.JINGLE)),
            )
        )
        for entry in planned:
            if entry.id not in aired:
                history.add_play(
                    _play(
                        entry.media_id,
                        entry.title,
                        entry.artist,
                        entry.album,
                        entry.starts_at,
                        entry,
                    )
                )
        return history


def _play(
    media_id: uuid.UUID | None,
    title: str | None,
    artist: str | None,
    album: str | None,
    start: datetime,
    row: object,
) -> Play:
    source = getattr(row, "playlist_id", None) or getattr(row, "smart_block_id", None)
    return Play(
        start=start,
        track_id=None if media_id is None else str(media_id),
        artist_key=artist_key(artist),
        title_key=title_key(title),
        album_key=album_key(album),
        source=None if source is None else str(source),
        song=getattr(row, "kind", None) != EntryKind.JINGLE,
    )


__all__ = ["Play", "PlayHistory"]
