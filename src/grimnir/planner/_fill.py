"""How a smart block picks its tracks (see ``smartblock`` for the rules).

Per block and library the candidates are computed once and cached on the
library (``tracks.block_candidates``): their positions, and the same
candidates sorted by playable length with a running sum of their weights.
Each pick first draws a candidate and checks it alone (separation through the
history, quotas, fit): O(log n). Near the end of the block every length
constraint ("ends the block", "fits", "the shortest") is a contiguous range of
the length-sorted candidates; a few candidates of the range are drawn and
checked alone. Only when that cannot decide are the tracks blocked right now
(separation, quotas, already picked) marked in a scratch array over the
sorted candidates and the range searched exactly: the cost is the number of
blocked tracks, not the library size. A block with an unmet minimum quota
uses full library masks (numpy, O(n)).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from grimnir.planner.history import PlayHistory
from grimnir.planner.tracks import EPOCH, TrackLibrary, to_micros

if TYPE_CHECKING:
    from grimnir.planner.smartblock import Quota, SmartBlockSpec
    from grimnir.planner.tracks import Candidates

Mask = npt.NDArray[np.bool_]
_TRIES = 24
_US = timedelta(microseconds=1)
_LRP_WALK = 256
_DROP_BELOW_MIN = 5.0
_KINDS = ("artist", "title", "album")
Step = tuple[int | None, str | None]  # a pick (and overflow policy) or (None, "relax"/"stop")


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class _Undecided(Exception):
    """Checking candidates one by one found nothing quickly: mark and search exactly."""


class _Picker:
    """The state of one fill: picks so far, current separations and quotas."""

    def __init__(
        self,
        spec: SmartBlockSpec,
        library: TrackLibrary,
        history: PlayHistory,
        cands: Candidates,
        rng: random.Random,
    ) -> None:
        self.spec, self.library, self.history, self.cands, self.rng = (
            spec,
            library,
            history,
            cands,
            rng,
        )
        sep = spec.separation
        self.minutes = {"artist": sep.artist, "title": sep.title, "album": sep.album}
        self.quotas: list[Quota] = list(spec.quotas)
        self.counts: dict[tuple[str, str], int] = {}
        self.picked: set[int] = set()
        self.steps = list(spec.relaxation)
        self.step = 0
        self.halved: set[str] = set()
        self.walk = 0  # position in the walk order (newest/oldest/least recently played)
        self.recency: FloatArray | None = None
        self.lrp_order: IntArray | None = None
        self.marks: Mask | None = None  # over ``cands.by_len``: blocked right now
        self.exact = False  # whether ``marks`` is filled (else candidates are checked alone)
        self.at = EPOCH
        self.win_us: list[tuple[str, int]] | None = None  # ``_windows`` in µs

    # -- constraints ----------------------------------------------------------

    def _windows(self) -> list[tuple[str, timedelta]]:
        out = [(k, timedelta(minutes=m)) for k, m in self.minutes.items() if m > 0]
        if self.minutes["title"] > 0:  # the same file counts as the same title
            out.append(("track", timedelta(minutes=self.minutes["title"])))
        return out

    def _quota_full(self, i: int) -> bool:
        for q in self.quotas:
            if q.max is None:
                continue
            label = self.library.value_labels(q.field)[i]
            if label is None or (q.label() is not None and label != q.label()):
                continue
            if self.counts.get((q.field, label), 0) >= q.max:
                return True
        return False

    def ok(self, i: int, at: datetime, max_ms: int | None) -> bool:
        if i in self.picked or (max_ms is not None and self.library.duration_ms[i] > max_ms):
            return False
        track, at_us = self.library[i], to_micros(at)
        for kind, window_us in self._windows_us():
            if self.history.near_us(kind, track.key(kind), at_us, window_us):
                return False
        return not (self.quotas and self._quota_full(i))

    def _windows_us(self) -> list[tuple[str, int]]:
        if self.win_us is None:
            self.win_us = [(k, w // _US) for k, w in self._windows()]
        return self.win_us

    def _blocked(self, at: datetime) -> list[IntArray]:
        """Library positions not allowed at ``at``: separation, picked, full quotas."""
        parts: list[IntArray] = []
        for kind, window in self._windows():
            near = self.history.keys_near(kind, at, window)
            if kind == "track":
                hits = [self.library.index_of(key) for key in near]
                parts.append(np.array([i for i in hits if i is not None], np.int64))
                continue
            index = self.library.key_index(kind)
            parts.extend(index[key] for key in near if key in index)
        if self.picked:
            parts.append(np.fromiter(self.picked, np.int64, len(self.picked)))
        for q in self.quotas:
            if q.max is None:
                continue
            values = self.library.value_index(q.field)
            for (name, label), count in self.counts.items():
                if name == q.field and count >= q.max and q.label() in (None, label):
                    parts.append(values[label])
        return parts

    def eligible(self, at: datetime) -> Mask:
        """Every candidate passing separation and max quotas at ``at`` (any length)."""
        mask = self.cands.mask.copy()
        parts = self._blocked(at)
        if parts:
            mask[np.concatenate(parts)] = False
        return mask

    def unmet_minimum(self) -> Mask | None:
        """Tracks that would satisfy a minimum quota not yet met, if any."""
        mask: Mask | None = None
        for q in self.quotas:
            label = q.label()
            if not q.min or label is None or self.counts.get((q.field, label), 0) >= q.min:
                continue
            hit = self.library.value_index(q.field).get(label)
            if hit is not None:
                if mask is None:
                    mask = np.zeros(len(self.library), np.bool_)
                mask[hit] = True
        return mask

    def relax(self, relaxations: list[str]) -> bool:
        """Apply the next relaxation step (cycling through the order); ``False``
        when every constraint it names is already dropped."""
        while self.steps:
            pos = self.step % len(self.steps)
            name = self.steps[pos]
            if name == "quotas":
                del self.steps[pos]
                if self.quotas:
                    self.quotas = []
                    relaxations.append("quotas dropped")
                    return True
                continue
            kind = name.removesuffix("_separation")
            before = self.minutes[kind]
            if before <= 0:
                del self.steps[pos]
                continue
            after = before / 2 if before / 2 >= _DROP_BELOW_MIN else 0.0
            self.minutes[kind] = after
            self.win_us = None
            if after:
                self.step = pos + 1
                relaxations.append(f"{name} {before:g}→{after:g} min")
            else:
                del self.steps[pos]
                relaxations.append(f"{name} dropped (was {before:g} min)")
            return True
        return False

    # -- choosing -------------------------------------------------------------

    def draw(self, at: datetime, max_ms: int | None) -> int | None:
        """A quick pick by sampling/walking, or ``None`` to fall back to the full mask."""
        c = self.cands
        if self.spec.sort == "random":
            total = float(c.cum_weights[-1])
            tried: set[int] = set()
            for _ in range(_TRIES):
                j = int(np.searchsorted(c.cum_weights, self.rng.random() * total, side="right"))
                i = int(c.index[min(j, c.index.size - 1)])
                if i in tried:
                    continue
                if self.ok(i, at, max_ms):
                    return i
                tried.add(i)
                if len(tried) >= c.index.size:
                    break  # NOTE: a small library: every candidate is already refused
            return None
        order = c.order
        if self.spec.sort == "least_recently_played":
            self._recency(at)
            order = self.lrp_order  # type: ignore[assignment]
        for _ in range(_TRIES):
            if self.walk >= order.size:
                return None
            i = int(order[self.walk])
            if self.ok(i, at, max_ms):
                return i
            self.walk += 1
        return None

    def end_game(self, at: datetime, remaining: int | None, room: int | None) -> Step:
        """The pick when drawing is not enough (the block's end, or a crowded
        library), by length ranges of the length-sorted candidates: a track
        that ends the block within tolerance, else one leaving room for
        another, else any that fits, else the overflow policy. ``(None,
        "relax")``: nothing is allowed at all; ``(None, "stop")``: nothing fits.

        First tried by checking a few candidates one by one; when that cannot
        decide, the blocked tracks are marked and the ranges searched exactly."""
        try:
            return self._end_game(at, remaining, room, exact=False)
        except _Undecided:
            return self._end_game(at, remaining, room, exact=True)

    def _end_game(
        self, at: datetime, remaining: int | None, room: int | None, *, exact: bool
    ) -> Step:
        c, tol, overflow = self.cands, self.spec.tolerance_ms, self.spec.overflow
        marks = self.marks
        if marks is None:
            marks = self.marks = np.zeros(c.by_len.size, np.bool_)
        marked = np.empty(0, np.int64)
        if exact:
            parts = self._blocked(at)
            if parts:
                marked = c.len_pos[np.concatenate(parts)]
                marked = marked[marked >= 0]
            marks[marked] = True
        self.exact, self.at = exact, at
        try:
            size = c.by_len.size
            if room is None or remaining is None:
                pick = self._select(0, size, at)
                return (pick, None) if pick is not None else (None, "relax")
            lengths = c.lengths
            hi = int(np.searchsorted(lengths, room, side="right"))
            lo = int(np.searchsorted(lengths, remaining - tol, side="left"))
            pick = self._select(lo, hi, at)
            if pick is not None:
                return pick, None
            first = self._first_free(0, hi)
            if first is not None:
                roomy = int(np.searchsorted(lengths, room - lengths[first], side="right"))
                pick = self._select(0, roomy, at) if roomy > first else None
                return (pick if pick is not None else self._select(0, hi, at)), None
            first = self._first_free(hi, size)
            if first is None:
                return None, "relax"
            if remaining <= tol or overflow == "under":
                return None, "stop"
            if overflow == "allow_overflow":
                same = int(np.searchsorted(lengths, lengths[first], side="right"))
                return self._select(first, same, at), overflow
            return self._select(0, size, at), overflow
        finally:
            marks[marked] = False

    def _first_free(self, a: int, b: int) -> int | None:
        """The first length-sorted position in [a, b) not blocked right now."""
        marks, step = self.marks, 64
        if marks is None:
            return a if a < b else None
        if not self.exact:
            for pos in range(a, min(b, a + _TRIES)):
                if self._free(pos):
                    return pos
            if b - a > _TRIES:
                raise _Undecided
            return None
        while a < b:
            chunk = marks[a : min(b, a + step)]
            j = int(chunk.argmin())
            if not chunk[j]:
                return a + j
            a, step = a + chunk.size, step * 2
        return None

    def _free(self, pos: int) -> bool:
        """Whether length-sorted position ``pos`` is allowed now (any length)."""
        if self.exact:
            return not bool(self.marks[pos])  # type: ignore[index]
        return self.ok(int(self.cands.by_len[pos]), self.at, None)

    def _select(self, a: int, b: int, at: datetime) -> int | None:
        """One allowed track of length-sorted positions [a, b) by the block's sort."""
        c, marks = self.cands, self.marks
        if a >= b or marks is None:
            return None
        if self.spec.sort == "random":
            cum = c.len_cum
            base = float(cum[a - 1]) if a else 0.0
            span = float(cum[b - 1]) - base
            for _ in range(_TRIES):
                j = int(np.searchsorted(cum, base + self.rng.random() * span, side="right"))
                j = min(max(j, a), b - 1)
                if self._free(j):
                    return int(c.by_len[j])
            if not self.exact:
                if b - a > _TRIES:
                    raise _Undecided
                free = np.array([j for j in range(a, b) if self._free(j)], np.int64)
            else:
                free = a + np.flatnonzero(~marks[a:b])
            if not free.size:
                return None
            cum_free = np.cumsum(c.len_weights[free])
            j = int(np.searchsorted(cum_free, self.rng.random() * float(cum_free[-1]), "right"))
            return int(c.by_len[free[min(j, free.size - 1)]])
        if not self.exact:
            raise _Undecided
        if self.spec.sort == "least_recently_played":
            free = a + np.flatnonzero(~marks[a:b])
            if not free.size:
                return None
            index = c.by_len[free]
            return int(index[np.lexsort((index, self._recency(at)[index]))[0]])
        order, step, p = c.order, 64, 0  # newest / oldest: the first of the order in range
        while p < order.size:
            chunk = order[p : p + step]
            pos = c.len_pos[chunk]
            hit = (pos >= a) & (pos < b) & ~marks[pos]
            if hit.any():
                return int(chunk[int(hit.argmax())])
            p, step = p + chunk.size, step * 2
        return None

    def choose(self, mask: Mask, at: datetime) -> int:
        """One track of a non-empty mask, by the block's sort order."""
        sort = self.spec.sort
        if sort == "random":
            index = np.flatnonzero(mask)
            cum = np.cumsum(self.cands.weights[index])
            j = int(np.searchsorted(cum, self.rng.random() * float(cum[-1]), side="right"))
            return int(index[min(j, index.size - 1)])
        if sort == "least_recently_played":
            return int(np.argmin(np.where(mask, self._recency(at), np.inf)))
        order = self.cands.order
        return int(order[mask[order]][0])

    def _recency(self, at: datetime) -> npt.NDArray[np.float64]:
        """When each track last aired (µs; -inf never), from the library and the
        history, computed once per fill, with the walk order of the stalest
        candidates (the rest are reached through the full mask if needed)."""
        if self.recency is None:
            lib = self.library
            recency = lib.cached(
                ("recency",), lambda: np.nan_to_num(lib.number("last_played"), nan=-np.inf)
            ).copy()
            for play in self.history.iter_plays():
                i = self.library.index_of(play.track_id or "")
                if i is not None:  # NOTE: a play planned later counts as recent too
                    recency[i] = max(recency[i], float(to_micros(play.start)))
            index = self.cands.index
            k = min(_LRP_WALK, index.size)
            stalest = index[np.argpartition(recency[index], k - 1)[:k]] if k < index.size else index
            self.lrp_order = stalest[np.lexsort((stalest, recency[stalest]))]
            self.recency = recency
        return self.recency

    def take(self, i: int) -> None:
        self.picked.add(i)
        for name in {q.field for q in self.spec.quotas}:
            label = self.library.value_labels(name)[i]
            if label is not None:
                self.counts[(name, label)] = self.counts.get((name, label), 0) + 1
