"""How a smart block picks its tracks (see ``smartblock`` for the rules).

Per block and library the candidates (rule mask, positive weights, playable
length) are computed once and cached on the library. Each pick first draws a
candidate and checks it alone (separation through the history, quotas, fit):
O(log n). Only after repeated rejections, near the end of the block, or to
satisfy a minimum quota does it build the full mask of eligible tracks: O(n)
with numpy.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from grimnir.domain import PlannerError
from grimnir.planner._result import Fill
from grimnir.planner.history import PlayHistory
from grimnir.planner.tracks import TrackLibrary, to_micros

if TYPE_CHECKING:
    from grimnir.planner.smartblock import Quota, SmartBlockSpec

Mask = npt.NDArray[np.bool_]
_TRIES = 24
_LRP_WALK = 256
_DROP_BELOW_MIN = 5.0
_KINDS = ("artist", "title", "album")


@dataclass(frozen=True)
class _Candidates:
    mask: Mask  # over the whole library
    index: npt.NDArray[np.int64]  # positions where mask is true, ascending
    cum_weights: npt.NDArray[np.float64]  # running sum of the weights of ``index``
    weights: npt.NDArray[np.float64]  # over the whole library
    order: npt.NDArray[np.int64]  # ``index`` in sort order (newest/oldest)
    horizon_ms: int  # below this much remaining time, the end game starts


def _weights(spec: SmartBlockSpec, library: TrackLibrary) -> npt.NDArray[np.float64]:
    def build() -> npt.NDArray[np.float64]:
        weights = np.ones(len(library), np.float64)
        for name, table in spec.weights.items():
            labels = library.value_labels(name)
            weights *= np.fromiter(
                (1.0 if v is None else table.get(v, 1.0) for v in labels), np.float64, len(labels)
            )
        return weights

    return library.cached(("weights", spec.filter_key), build)


def _candidates(spec: SmartBlockSpec, library: TrackLibrary, now: datetime) -> _Candidates:
    """The block's candidates at ``now``: cached per library, except for rules with
    relative dates ("added in the last 30 days"), which change with every start."""
    rules = spec.rules

    def build() -> _Candidates:
        weights = _weights(spec, library)
        mask = rules.mask(library, now) & (library.duration_ms > 0) & (weights > 0)
        index = np.flatnonzero(mask).astype(np.int64)
        order = index
        if spec.sort in ("newest", "oldest"):
            added = library.number("added")[index]
            order = index[np.argsort(-added if spec.sort == "newest" else added, kind="stable")]
        durations = library.duration_ms[index]
        horizon = int(2 * np.median(durations)) if index.size else 0
        return _Candidates(mask, index, np.cumsum(weights[index]), weights, order, horizon)

    if rules.relative:
        return build()
    return library.cached(("block", spec.filter_key, spec.sort, now.tzinfo), build)


class _Picker:
    """The state of one fill: picks so far, current separations and quotas."""

    def __init__(
        self,
        spec: SmartBlockSpec,
        library: TrackLibrary,
        history: PlayHistory,
        cands: _Candidates,
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
        self.recency: npt.NDArray[np.float64] | None = None
        self.lrp_order: npt.NDArray[np.int64] | None = None

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
        track = self.library[i]
        for kind, window in self._windows():
            if self.history.too_close(kind, track.key(kind), at, window):
                return False
        return not self._quota_full(i)

    def eligible(self, at: datetime) -> Mask:
        """Every candidate passing separation and max quotas at ``at`` (any length)."""
        mask = self.cands.mask.copy()
        for kind, window in self._windows():
            near = self.history.keys_near(kind, at, window)
            if kind == "track":
                hits = [self.library.index_of(key) for key in near]
                mask[[i for i in hits if i is not None]] = False
                continue
            index = self.library.key_index(kind)
            for key in near:
                hit = index.get(key)
                if hit is not None:
                    mask[hit] = False
        if self.picked:
            mask[np.fromiter(self.picked, np.int64, len(self.picked))] = False
        for q in self.quotas:
            if q.max is None:
                continue
            values = self.library.value_index(q.field)
            for (name, label), count in self.counts.items():
                if name == q.field and count >= q.max and q.label() in (None, label):
                    mask[values[label]] = False
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
            for _ in range(_TRIES):
                j = int(np.searchsorted(c.cum_weights, self.rng.random() * total, side="right"))
                i = int(c.index[min(j, c.index.size - 1)])
                if self.ok(i, at, max_ms):
                    return i
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
            recency = np.nan_to_num(self.library.number("last_played"), nan=-np.inf)
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


def _target(spec: SmartBlockSpec, target_ms: int | None) -> int | None:
    target = target_ms if target_ms is not None else spec.target_ms
    if spec.limit.minutes is not None:
        limit = round(spec.limit.minutes * 60_000)
        target = limit if target is None else min(target, limit)
    if target is None and spec.limit.items is None:
        raise PlannerError(
            f"smart block {spec.name!r} has no target duration and no limit: "
            "set its target duration or a limit ({'items': N} or {'minutes': M})"
        )
    return target


def fill_block(
    spec: SmartBlockSpec,
    library: TrackLibrary,
    history: PlayHistory,
    start: datetime,
    target_ms: int | None,
    rng: random.Random,
    blocks: Mapping[str, SmartBlockSpec],
    visited: tuple[str, ...],
) -> Fill:
    target = _target(spec, target_ms)
    cands = _candidates(spec, library, start)
    result = Fill(used_block_id=spec.id)
    fallback = blocks.get(spec.fallback_id) if spec.fallback_id else None
    if fallback is not None and (fallback.id in visited or fallback.id == spec.id):
        result.notes.append(f"fallback of {spec.name!r} loops back to {fallback.name!r}; ignored")
        fallback = None
    if cands.index.size == 0:
        if fallback is not None:
            used = fill_block(
                fallback, library, history, start, target, rng, blocks, (*visited, spec.id)
            )
            used.notes.insert(0, f"{spec.name!r} matches no ready track; used {fallback.name!r}")
            return used
        result.notes.append(f"{spec.name!r} matches no ready track and has no fallback block")
        result.shortfall_ms = target or 0
        return result
    _run(_Picker(spec, library, history, cands, rng), result, start, target)
    if result.shortfall_ms and fallback is not None:
        rest = fill_block(
            fallback,
            library,
            history,
            start + timedelta(milliseconds=result.duration_ms),
            result.shortfall_ms,
            rng,
            blocks,
            (*visited, spec.id),
        )
        result.notes.append(f"{spec.name!r} ran short; {fallback.name!r} filled the rest")
        _extend(result, rest)
    return result


def _extend(result: Fill, rest: Fill) -> None:
    result.tracks += rest.tracks
    result.starts += rest.starts
    result.sources += rest.sources
    result.duration_ms += rest.duration_ms
    result.relaxations += rest.relaxations
    result.notes += rest.notes
    result.shortfall_ms = rest.shortfall_ms
    result.trim_last_to_ms = rest.trim_last_to_ms


def _run(p: _Picker, result: Fill, start: datetime, target: int | None) -> None:
    spec, lib = p.spec, p.library
    tol = spec.tolerance_ms
    total = 0
    stop_policy: Any = None
    while spec.limit.items is None or len(result.tracks) < spec.limit.items:
        if target is not None and total >= target:
            break
        at = start + timedelta(milliseconds=total)
        room = None if target is None else target + tol - total
        remaining = None if target is None else target - total
        pick: int | None = None
        minimum = p.unmet_minimum()
        if minimum is None and (remaining is None or remaining > p.cands.horizon_ms):
            pick = p.draw(at, room)
        if pick is None:
            mask = p.eligible(at)
            if not mask.any():
                if p.relax(result.relaxations):
                    continue
                break
            if minimum is not None and (mask & minimum).any():
                mask &= minimum
            if room is not None and remaining is not None:
                d = lib.duration_ms
                closing = mask & (d >= remaining - tol) & (d <= room)
                fits = mask & (d <= room)
                if closing.any():
                    fits = closing
                elif fits.any():
                    shortest = int(d[fits].min())
                    roomy = fits & (d <= room - shortest)
                    fits = roomy if roomy.any() else fits
                if fits.any():
                    mask = fits
                elif remaining <= tol or spec.overflow == "under":
                    break
                else:
                    stop_policy = spec.overflow
                    if spec.overflow == "allow_overflow":
                        mask = mask & (d == d[mask].min())
            pick = p.choose(mask, at)
        track = lib[pick]
        p.take(pick)
        p.history.add(track, at, spec.id)
        result.tracks.append(track)
        result.starts.append(at)
        result.sources.append(spec.id)
        if stop_policy == "trim_last" and target is not None:
            result.trim_last_to_ms = target - total
        total += track.duration_ms
        if stop_policy is not None:
            result.notes.append(f"{spec.name!r}: last track overruns the target ({stop_policy})")
            break
    result.duration_ms = total
    if target is not None and total < target - tol:
        result.shortfall_ms = target - total
        result.notes.append(f"{spec.name!r} filled {total} of {target} ms")
