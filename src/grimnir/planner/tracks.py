"""The in-memory track library the planner chooses from.

The planner never queries the database per pick: it loads a station's READY
items once (``TrackLibrary.load``) into immutable ``Track`` values and keeps
each rule field as a column (numpy arrays of numbers, lists of folded text) so
a smart block's rules are evaluated over 100 000 tracks in milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import MediaState
from grimnir.planner._text import album_key, artist_key, fold_or_none, title_key
from grimnir.store.models import MediaItem

if TYPE_CHECKING:
    from grimnir.planner.smartblock import SmartBlockSpec

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

TEXT_FIELDS = ("title", "artist", "album", "genre", "mood", "label", "language", "isrc")
"""Tag fields compared as text (case-insensitively, see ``_text.fold``)."""
NUMBER_FIELDS = ("year", "bpm", "duration", "loudness", "play_count")
"""Fields compared as numbers; ``duration`` is the playable length in ms."""
DATE_FIELDS = ("added", "last_played")
"""Fields compared as instants (``added`` is when the file was ingested)."""


def to_micros(moment: datetime) -> int:
    """Microseconds since 1970 (UTC) of an aware datetime: exact, comparable as float64."""
    return (moment - EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class Track:
    """One playable item as the planner sees it (a READY media item).

    ``duration_ms`` is what airs: ``cue_out_ms - cue_in_ms``. The ``*_key``
    fields are the normalised artist/title/album used for separation (``None``
    when the tag is missing: an unknown artist is never separated from another).
    ``fade_in_ms``/``fade_out_ms`` are set by playlist overrides; ``now_playing``
    is false for jingles, which air without now-playing metadata.
    """

    id: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    mood: str | None = None
    label: str | None = None
    language: str | None = None
    year: int | None = None
    bpm: float | None = None
    isrc: str | None = None
    duration_ms: int = 0
    cue_in_ms: int = 0
    cue_out_ms: int = 0
    intro_end_ms: int | None = None
    segue_ms: int | None = None
    gain_db: float | None = None
    loudness_lufs: float | None = None
    added_at: datetime = EPOCH
    last_played_at: datetime | None = None
    play_count: int = 0
    custom: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fade_in_ms: int | None = None
    fade_out_ms: int | None = None
    now_playing: bool = True
    artist_key: str | None = field(init=False, default=None)
    title_key: str | None = field(init=False, default=None)
    album_key: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "artist_key", artist_key(self.artist))
        object.__setattr__(self, "title_key", title_key(self.title))
        object.__setattr__(self, "album_key", album_key(self.album))

    @classmethod
    def from_media(cls, item: Any) -> Track:
        """A track from a ``MediaItem`` (or a row with the same attribute names)."""
        cue_in = item.cue_in_ms or 0
        end = item.cue_out_ms if item.cue_out_ms is not None else item.duration_ms
        return cls(
            id=str(item.id),
            title=item.title,
            artist=item.artist,
            album=item.album,
            genre=item.genre,
            mood=item.mood,
            label=item.label,
            language=item.language,
            year=item.year,
            bpm=item.bpm,
            isrc=item.isrc,
            duration_ms=max(0, (end or 0) - cue_in),
            cue_in_ms=cue_in,
            cue_out_ms=end or cue_in,
            intro_end_ms=item.intro_end_ms,
            segue_ms=item.segue_ms,
            gain_db=item.gain_db,
            loudness_lufs=item.loudness_lufs,
            added_at=item.created_at,
            last_played_at=item.last_played_at,
            play_count=item.play_count or 0,
            custom=dict(item.custom_tags or {}),
        )

    def key(self, kind: str) -> str | None:
        """The separation key of ``kind`` (``artist``, ``title``, ``album`` or ``track``)."""
        if kind == "track":
            return self.id
        value: str | None = getattr(self, f"{kind}_key")
        return value

    def value(self, name: str) -> Any:
        """The raw value of rule field ``name`` (``custom.<key>`` for custom tags)."""
        if name.startswith("custom."):
            return self.custom.get(name[7:])
        match name:
            case "duration":
                # NOTE: unknown or non-positive lengths are "missing", as in the SQL
                return self.duration_ms if self.duration_ms > 0 else None
            case "loudness":
                return self.loudness_lufs
            case "added":
                return self.added_at
            case "last_played":
                return self.last_played_at
        return getattr(self, name)


_COLUMNS = (
    MediaItem.id, MediaItem.title, MediaItem.artist, MediaItem.album, MediaItem.genre,
    MediaItem.mood, MediaItem.label, MediaItem.language, MediaItem.year, MediaItem.bpm,
    MediaItem.isrc, MediaItem.duration_ms, MediaItem.cue_in_ms, MediaItem.cue_out_ms,
    MediaItem.intro_end_ms, MediaItem.segue_ms, MediaItem.gain_db, MediaItem.loudness_lufs,
    MediaItem.created_at, MediaItem.last_played_at, MediaItem.play_count, MediaItem.custom_tags,
)  # fmt: skip


class TrackLibrary:
    """An immutable set of tracks, ordered by id, with one column per rule field.

    Columns: ``text(field)`` folded strings (``None`` when missing),
    ``number(field)`` float64 with NaN when missing (dates as microseconds
    since 1970), ``duration_ms`` the playable lengths. Derived data (rule masks,
    weights, indexes) is cached on the library through ``cached``.
    """

    def __init__(self, tracks: Iterable[Track]) -> None:
        self._tracks: tuple[Track, ...] = tuple(sorted(tracks, key=lambda t: t.id))
        self._by_id = {t.id: i for i, t in enumerate(self._tracks)}
        self.duration_ms: IntArray = np.fromiter(
            (t.duration_ms for t in self._tracks), np.int64, len(self._tracks)
        )
        self._cache: dict[Any, Any] = {}

    @classmethod
    async def load(cls, session: AsyncSession, station_id: uuid.UUID) -> TrackLibrary:
        """The station's READY items, in one query.

        NOTE: not ``library.queries.ready_media``: that loads whole rows, and
        the waveforms of 100 000 items would cost far more than the tags.
        """
        rows = await session.execute(
            select(*_COLUMNS).where(
                MediaItem.station_id == station_id, MediaItem.state == MediaState.READY
            )
        )
        # NOTE: in id order, not the database's: the same library must give the same
        # timeline on every backend and after any vacuum (sorted here: ~50 ms per
        # 100 000 tracks, and no collation question).
        return cls(sorted((Track.from_media(row) for row in rows), key=lambda t: str(t.id)))

    # -- access -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._tracks)

    def __iter__(self) -> Iterator[Track]:
        return iter(self._tracks)

    def __getitem__(self, index: int) -> Track:
        return self._tracks[index]

    def get(self, track_id: str) -> Track | None:
        """The track with this id, if the library has it (READY)."""
        index = self._by_id.get(track_id)
        return None if index is None else self._tracks[index]

    def index_of(self, track_id: str) -> int | None:
        """The position of a track in the columns."""
        return self._by_id.get(track_id)

    @property
    def tracks(self) -> tuple[Track, ...]:
        return self._tracks

    def cached(self, key: Any, factory: Callable[[], T]) -> T:
        """``factory()``, computed once per library and ``key``."""
        try:
            value: T = self._cache[key]
        except KeyError:
            value = self._cache[key] = factory()
        return value

    # -- columns ------------------------------------------------------------

    def text(self, name: str) -> list[str | None]:
        """Folded values of a text field or ``custom.<key>`` (``None`` when missing)."""
        return self.cached(
            ("text", name), lambda: [fold_or_none(t.value(name)) for t in self._tracks]
        )

    def number(self, name: str) -> FloatArray:
        """A number or date field as float64, NaN where missing (dates in µs since 1970)."""

        def build() -> FloatArray:
            values = (t.value(name) for t in self._tracks)
            return np.fromiter(
                (
                    np.nan
                    if v is None
                    else float(to_micros(v))
                    if isinstance(v, datetime)
                    else float(v)
                    for v in values
                ),
                np.float64,
                len(self._tracks),
            )

        return self.cached(("number", name), build)

    def key_index(self, kind: str) -> dict[str, IntArray]:
        """Positions of the tracks sharing each separation key of ``kind``."""

        def build() -> dict[str, IntArray]:
            groups: dict[str, list[int]] = {}
            for i, t in enumerate(self._tracks):
                key = t.key(kind)
                if key is not None:
                    groups.setdefault(key, []).append(i)
            return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}

        return self.cached(("keys", kind), build)

    def value_index(self, name: str) -> dict[str, IntArray]:
        """Positions of the tracks sharing each folded value of a text field (or year)."""

        def build() -> dict[str, IntArray]:
            groups: dict[str, list[int]] = {}
            for i, value in enumerate(self.value_labels(name)):
                if value is not None:
                    groups.setdefault(value, []).append(i)
            return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}

        return self.cached(("values", name), build)

    def value_labels(self, name: str) -> list[str | None]:
        """Each track's value of ``name`` as a folded label (quotas and weights key on it)."""
        if name in NUMBER_FIELDS:
            return self.cached(
                ("labels", name),
                lambda: [None if np.isnan(v) else f"{v:g}" for v in self.number(name)],
            )
        return self.text(name)


@dataclass(frozen=True)
class Candidates:
    """A smart block's candidate tracks, with the orders its picks search."""

    mask: Mask  # over the whole library
    index: IntArray  # positions where mask is true, ascending
    cum_weights: FloatArray  # running sum of the weights of ``index``
    weights: FloatArray  # over the whole library
    order: IntArray  # ``index`` in sort order (newest/oldest)
    horizon_ms: int  # below this much remaining time, the end game starts
    by_len: IntArray  # ``index`` sorted by playable length (then position)
    lengths: IntArray  # the lengths of ``by_len``, ascending
    len_weights: FloatArray  # the weights of ``by_len``
    len_cum: FloatArray  # their running sum
    len_pos: IntArray  # over the whole library: position in ``by_len``, -1 if no candidate


def _block_weights(spec: SmartBlockSpec, library: TrackLibrary) -> FloatArray:
    def build() -> FloatArray:
        weights = np.ones(len(library), np.float64)
        for name, table in spec.weights.items():
            labels = library.value_labels(name)
            weights *= np.fromiter(
                (1.0 if v is None else table.get(v, 1.0) for v in labels), np.float64, len(labels)
            )
        return weights

    return library.cached(("weights", spec.filter_key), build)


def block_candidates(spec: SmartBlockSpec, library: TrackLibrary, now: datetime) -> Candidates:
    """The block's candidates at ``now``: cached per library, except for rules with
    relative dates ("added in the last 30 days"), which change with every start."""
    rules = spec.rules

    def build() -> Candidates:
        weights = _block_weights(spec, library)
        mask = rules.mask(library, now) & (library.duration_ms > 0) & (weights > 0)
        index = np.flatnonzero(mask).astype(np.int64)
        order = index
        if spec.sort in ("newest", "oldest"):
            added = library.number("added")[index]
            order = index[np.argsort(-added if spec.sort == "newest" else added, kind="stable")]
        durations = library.duration_ms[index]
        horizon = int(2 * np.median(durations)) if index.size else 0
        by_len = index[np.argsort(durations, kind="stable")]
        len_pos = np.full(len(library), -1, np.int64)
        len_pos[by_len] = np.arange(by_len.size, dtype=np.int64)
        len_weights = weights[by_len]
        return Candidates(
            mask,
            index,
            np.cumsum(weights[index]),
            weights,
            order,
            horizon,
            by_len,
            library.duration_ms[by_len].astype(np.int64),
            len_weights,
            np.cumsum(len_weights),
            len_pos,
        )

    if rules.relative:
        return build()
    return library.cached(("block", spec.filter_key, spec.sort, now.tzinfo), build)


__all__ = ["DATE_FIELDS", "NUMBER_FIELDS", "TEXT_FIELDS", "Track", "TrackLibrary", "to_micros"]
