"""Playlists: explicit lists of items, played in order or shuffled.

An ordered playlist continues where it stopped: ``PlaylistState`` keeps each
playlist's position between fills (and a shuffled playlist's remaining deck, so
every item plays once before any repeats). ``Playlist.rotation`` says how often
the playlist may air::

    {"type": "default"}                      # whenever scheduled; fills the slot
    {"type": "once_per_n_songs", "n": 4}     # one item, then at least 4 songs between
    {"type": "once_per_n_minutes", "n": 15}  # one item at most every 15 minutes
    {"type": "once_per_hour"}                # one item per clock hour

Items may override the media's cue points and set fades and a weight
(``PlaylistItem.overrides``: ``cue_in_ms cue_out_ms fade_in_ms fade_out_ms
weight``); a weight > 1 makes an item come earlier in a shuffle, more often
first. Jingle playlists (``Playlist.jingle``) air without now-playing data.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.domain import PlannerError
from grimnir.planner._result import Fill
from grimnir.planner.history import PlayHistory
from grimnir.planner.rules import describe
from grimnir.planner.tracks import Track, TrackLibrary
from grimnir.store.models import Playlist

RotationType = Literal["default", "once_per_n_songs", "once_per_n_minutes", "once_per_hour"]
_MICROSECOND = timedelta(microseconds=1)


class Rotation(BaseModel):
    """How often a playlist may air (``Playlist.rotation``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: RotationType = "default"
    n: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _needs_n(self) -> Rotation:
        if self.type in ("once_per_n_songs", "once_per_n_minutes") and self.n is None:
            raise ValueError(f"rotation {self.type!r} needs 'n' (a whole number > 0)")
        return self


class Overrides(BaseModel):
    """Per-item changes over the media's own cue points (``PlaylistItem.overrides``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cue_in_ms: int | None = Field(None, ge=0)
    cue_out_ms: int | None = Field(None, gt=0)
    fade_in_ms: int | None = Field(None, ge=0)
    fade_out_ms: int | None = Field(None, ge=0)
    weight: float = Field(1.0, gt=0)


@dataclass(frozen=True)
class ItemSpec:
    media_id: str
    position: int
    overrides: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True)
class PlaylistSpec:
    """A playlist as the planner uses it; ``items`` in position order."""

    id: str
    name: str
    items: tuple[ItemSpec, ...]
    shuffle: bool = False
    rotation: Rotation = field(default_factory=Rotation)
    jingle: bool = False

    @classmethod
    def from_parts(
        cls,
        id: str,
        name: str,
        items: list[tuple[str, int, Mapping[str, Any]]],
        *,
        shuffle: bool = False,
        rotation: Mapping[str, Any] | None = None,
        jingle: bool = False,
    ) -> PlaylistSpec:
        """From (media id, position, overrides) triples; errors name the item and the fix."""
        where = f"playlist {name!r}"
        try:
            rot = Rotation.model_validate(dict(rotation or {}))
        except ValidationError as e:
            raise PlannerError(f"{where}: invalid rotation\n{describe(e)}") from None
        specs = []
        for media_id, position, raw in sorted(items, key=lambda t: t[1]):
            try:
                over = Overrides.model_validate(dict(raw or {}))
            except ValidationError as e:
                raise PlannerError(
                    f"{where}, item at position {position}: invalid overrides\n{describe(e)}"
                ) from None
            cue_in, cue_out = over.cue_in_ms, over.cue_out_ms
            if cue_in is not None and cue_out is not None and cue_out <= cue_in:
                raise PlannerError(
                    f"{where}, item at position {position}: cue_out_ms "
                    f"({cue_out}) must be after cue_in_ms ({cue_in})"
                )
            specs.append(ItemSpec(str(media_id), position, over))
        return cls(id, name, tuple(specs), shuffle, rot, jingle)

    @classmethod
    def from_row(cls, row: Playlist) -> PlaylistSpec:
        """The spec of a stored playlist (its ``items`` must be loaded)."""
        return cls.from_parts(
            str(row.id),
            row.name,
            [(str(i.media_id), i.position, i.overrides or {}) for i in row.items],
            shuffle=row.shuffle,
            rotation=row.rotation or {},
            jingle=row.jingle,
        )


async def load_playlists(session: AsyncSession, station_id: uuid.UUID) -> dict[str, PlaylistSpec]:
    """Every playlist of the station with its items, by id."""
    rows = await session.scalars(
        select(Playlist)
        .where(Playlist.station_id == station_id)
        .options(selectinload(Playlist.items))
    )
    return {str(r.id): PlaylistSpec.from_row(r) for r in rows}


@dataclass
class PlaylistState:
    """Where each playlist stands between fills: the next position of an ordered
    playlist, the items left in a shuffled one's deck. ``copy`` for simulations."""

    positions: dict[str, int] = field(default_factory=dict)
    decks: dict[str, list[int]] = field(default_factory=dict)

    def copy(self) -> PlaylistState:
        return PlaylistState(dict(self.positions), {k: list(v) for k, v in self.decks.items()})

    def peek(self, spec: PlaylistSpec, rng: random.Random) -> int:
        """The index (into ``spec.items``) of the item that plays next."""
        count = len(spec.items)
        if not spec.shuffle:
            return self.positions.get(spec.id, 0) % count
        deck = self.decks.get(spec.id)
        if not deck:
            deck = _weighted_shuffle(spec, rng)
            last = self.positions.get(spec.id)
            if count > 1 and deck[0] == last:  # no repeat across the reshuffle
                deck[0], deck[1] = deck[1], deck[0]
            self.decks[spec.id] = deck
        return deck[0]

    def advance(self, spec: PlaylistSpec, rng: random.Random) -> int:
        """Move past the next item; returns its index."""
        index = self.peek(spec, rng)
        if spec.shuffle:
            self.decks[spec.id].pop(0)
            self.positions[spec.id] = index
        else:
            self.positions[spec.id] = (index + 1) % len(spec.items)
        return index


def _weighted_shuffle(spec: PlaylistSpec, rng: random.Random) -> list[int]:
    # NOTE: Efraimidis–Spirakis: sorting by u^(1/w) puts heavier items earlier
    keys = [(rng.random() ** (1.0 / item.overrides.weight), i) for i, item in enumerate(spec.items)]
    return [i for _, i in sorted(keys, reverse=True)]


def _apply(track: Track, item: ItemSpec, jingle: bool) -> Track:
    over = item.overrides
    cue_in = over.cue_in_ms if over.cue_in_ms is not None else track.cue_in_ms
    cue_out = over.cue_out_ms if over.cue_out_ms is not None else track.cue_out_ms
    return dataclasses.replace(
        track,
        cue_in_ms=cue_in,
        cue_out_ms=cue_out,
        duration_ms=max(0, cue_out - cue_in),
        fade_in_ms=over.fade_in_ms,
        fade_out_ms=over.fade_out_ms,
        now_playing=not jingle,
    )


def _blocked(spec: PlaylistSpec, history: PlayHistory, start: datetime) -> str | None:
    """Why the rotation keeps the playlist off the air at ``start``, if it does."""
    rot = spec.rotation
    last = history.last("source", spec.id, start)
    if rot.type == "default" or last is None:
        return None
    if rot.type == "once_per_n_songs":
        songs = history.songs_between(last + _MICROSECOND, start)
        n = rot.n or 0
        return None if songs >= n else f"{songs} songs since its last item, needs {n}"
    if rot.type == "once_per_n_minutes":
        n = rot.n or 0
        gap = start - last
        if gap >= timedelta(minutes=n):
            return None
        return f"last item {gap.total_seconds() / 60:.1f} min ago, needs {n}"
    zone = start.tzinfo
    hour = start.replace(minute=0, second=0, microsecond=0)
    if last.astimezone(zone).replace(minute=0, second=0, microsecond=0) != hour:
        return None
    return "already aired this hour"


def playlist_fill(
    spec: PlaylistSpec,
    library: TrackLibrary,
    history: PlayHistory,
    start: datetime,
    target_ms: int | None,
    rng: random.Random,
    state: PlaylistState,
) -> Fill:
    """Items of ``spec`` from ``start``: for ``target_ms`` (``None``: one pass over
    the playlist), or a single item under a once-per rotation. Adds them to
    ``history`` and advances ``state``.

    No item is cut: the last one is kept when it ends nearer the target than
    stopping before it would. Items whose media is not READY are skipped.
    """
    result = Fill(used_block_id=None, jingle=spec.jingle)
    playable = [
        (i, t) for i, item in enumerate(spec.items) if (t := library.get(item.media_id)) is not None
    ]
    missing = len(spec.items) - len(playable)
    if missing:
        result.notes.append(f"playlist {spec.name!r}: {missing} item(s) not ready, skipped")
    if not playable:
        result.notes.append(f"playlist {spec.name!r} has no playable item")
        result.shortfall_ms = target_ms or 0
        return result
    reason = _blocked(spec, history, start)
    if reason is not None:
        result.notes.append(f"playlist {spec.name!r} rests ({spec.rotation.type}): {reason}")
        result.shortfall_ms = target_ms or 0
        return result
    single = spec.rotation.type != "default"
    count = 1 if single else (len(playable) if target_ms is None else None)
    ready = dict(playable)
    total = 0
    attempts = 0
    while count is None or len(result.tracks) < count:
        if target_ms is not None and not single and total >= target_ms:
            break
        attempts += 1
        if attempts > 4 * len(spec.items) + 4:
            break
        index = state.peek(spec, rng)
        base = ready.get(index)
        if base is None:  # not ready: step past it
            state.advance(spec, rng)
            continue
        track = _apply(base, spec.items[index], spec.jingle)
        if track.duration_ms <= 0:
            state.advance(spec, rng)
            result.notes.append(f"playlist {spec.name!r}: item {index} has no playable length")
            continue
        if target_ms is not None and not single and result.tracks:
            over = total + track.duration_ms - target_ms
            if over > target_ms - total:  # stopping now ends nearer the target
                break
        state.advance(spec, rng)
        at = start + timedelta(milliseconds=total)
        history.add(track, at, spec.id)
        result.tracks.append(track)
        result.starts.append(at)
        result.sources.append(spec.id)
        total += track.duration_ms
    result.duration_ms = total
    if target_ms is not None and total < target_ms:
        result.shortfall_ms = target_ms - total
    return result


__all__ = [
    "ItemSpec",
    "Overrides",
    "PlaylistSpec",
    "PlaylistState",
    "Rotation",
    "load_playlists",
    "playlist_fill",
]
