"""Smart blocks: a rule-based choice of tracks that fills a span of air time.

``SmartBlock.rules`` holds the filter groups (see ``rules``) and everything
about how the block chooses::

    {
      "groups": [[{"field": "genre", "modifier": "is", "value": "rock"}]],
      "weights": {"genre": {"rock": 2, "ballad": 0.5}},    # default weight 1; 0 excludes
      "quotas": [{"field": "genre", "max": 2},             # at most 2 per genre value
                 {"field": "mood", "value": "happy", "min": 1}],
      "separation": {"artist": 60, "title": 180, "album": 60},   # minutes
      "overflow": "under",              # or "allow_overflow", "trim_last"
      "limit": {"items": 12},           # or {"minutes": 30}
      "sort": "random",                 # or "newest", "oldest", "least_recently_played"
      "relaxation": ["album_separation", "artist_separation", "quotas", "title_separation"]
    }

The target duration, tolerance and fallback block are the row's columns.
A block aims at the target: the last track may end up to ``tolerance`` past
it; no track is ever cut (``trim_last`` only marks how far the builder should
fade the last one at a hard boundary). When no track passes the separation or
quotas, the relaxation steps apply in order, each halving a separation (dropped
below 5 minutes) or dropping the quotas; every step used is reported. A block
matching no track at all is replaced by its fallback block.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import PlannerError
from grimnir.observability import metrics as observed
from grimnir.planner._fill import Mask, Step, _Picker
from grimnir.planner._result import Fill
from grimnir.planner._text import fold
from grimnir.planner.history import PlayHistory
from grimnir.planner.rules import RuleSet, describe, field_kind
from grimnir.planner.tracks import NUMBER_FIELDS, TrackLibrary, block_candidates
from grimnir.store.models import SmartBlock

Overflow = Literal["under", "allow_overflow", "trim_last"]
Sort = Literal["random", "newest", "oldest", "least_recently_played"]
RELAXATIONS = ("album_separation", "artist_separation", "quotas", "title_separation")


class Separation(BaseModel):
    """Minimum minutes between two plays of one artist, title (song) or album."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artist: float = Field(60, ge=0)
    title: float = Field(180, ge=0)
    album: float = Field(60, ge=0)


DEFAULT_SEPARATION = Separation()
"""Used for what neither the block nor the station sets."""


class Quota(BaseModel):
    """At most ``max`` / at least ``min`` tracks per block with ``field`` = ``value``
    (without ``value``: ``max`` applies to each value of the field separately)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    value: str | int | None = None
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @field_validator("field")
    @classmethod
    def _known(cls, name: str) -> str:
        if field_kind(name) == "date" or name in ("duration", "bpm", "loudness", "play_count"):
            raise ValueError(f"quotas count text fields or year, not {name!r}")
        return name

    def label(self) -> str | None:
        if self.value is None:
            return None
        return f"{float(self.value):g}" if self.field in NUMBER_FIELDS else fold(str(self.value))


class Limit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    items: int | None = Field(None, gt=0)
    minutes: float | None = Field(None, gt=0)


class BlockRules(BaseModel):
    """The JSON document in ``SmartBlock.rules``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: list[list[Any]] = []
    weights: dict[str, dict[str, float]] = {}
    quotas: list[Quota] = []
    separation: dict[Literal["artist", "title", "album"], float] = {}
    overflow: Overflow = "under"
    limit: Limit = Limit()
    sort: Sort = "random"
    relaxation: list[Literal[RELAXATIONS]] = list(RELAXATIONS)  # type: ignore[valid-type]

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, table in value.items():
            if field_kind(name) == "date" or name in ("duration", "bpm", "loudness"):
                raise ValueError(f"weights apply to text fields or year, not {name!r}")
            if any(w < 0 for w in table.values()):
                raise ValueError(f"weights of {name!r} must be ≥ 0 (0 excludes the value)")
        return value


@dataclass(frozen=True)
class SmartBlockSpec:
    """Everything ``fill`` needs to know about one smart block."""

    id: str
    name: str
    rules: RuleSet = field(default_factory=RuleSet)
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    quotas: tuple[Quota, ...] = ()
    separation: Separation = DEFAULT_SEPARATION
    overflow: Overflow = "under"
    limit: Limit = field(default_factory=Limit)
    sort: Sort = "random"
    relaxation: tuple[str, ...] = RELAXATIONS
    target_ms: int | None = None
    tolerance_ms: int = 0
    fallback_id: str | None = None

    @classmethod
    def from_rules(
        cls,
        id: str,
        name: str,
        rules: Mapping[str, Any],
        *,
        target_ms: int | None = None,
        tolerance_ms: int = 0,
        fallback_id: str | None = None,
        defaults: Separation = DEFAULT_SEPARATION,
    ) -> SmartBlockSpec:
        """A spec from a rules document; errors name the block, the key and the fix."""
        where = f"smart block {name!r}"
        try:
            doc = BlockRules.model_validate(dict(rules))
        except ValidationError as e:
            raise PlannerError(f"{where}: invalid rules\n{describe(e)}") from None
        return cls(
            id=id,
            name=name,
            rules=RuleSet.parse({"groups": doc.groups}, where),
            weights={f: {fold(k): w for k, w in t.items()} for f, t in doc.weights.items()},
            quotas=tuple(doc.quotas),
            separation=defaults.model_copy(update={str(k): v for k, v in doc.separation.items()}),
            overflow=doc.overflow,
            limit=doc.limit,
            sort=doc.sort,
            relaxation=tuple(doc.relaxation),
            target_ms=target_ms,
            tolerance_ms=tolerance_ms,
            fallback_id=fallback_id,
        )

    @classmethod
    def from_row(cls, row: SmartBlock, defaults: Separation = DEFAULT_SEPARATION) -> SmartBlockSpec:
        """The spec of a stored ``SmartBlock`` (``defaults``: the station's separation)."""
        return cls.from_rules(
            str(row.id),
            row.name,
            row.rules or {},
            target_ms=row.target_duration_ms,
            tolerance_ms=row.tolerance_ms or 0,
            fallback_id=None if row.fallback_block_id is None else str(row.fallback_block_id),
            defaults=defaults,
        )

    @cached_property
    def filter_key(self) -> str:
        """Identifies the filter and weights, so masks are cached across fills."""
        return json.dumps(
            [self.rules.model_dump(mode="json"), self.weights], sort_keys=True, default=str
        )


async def load_smart_blocks(
    session: AsyncSession, station_id: uuid.UUID, defaults: Separation = DEFAULT_SEPARATION
) -> dict[str, SmartBlockSpec]:
    """Every smart block of the station, by id (fallback lookups use this mapping)."""
    rows = await session.scalars(select(SmartBlock).where(SmartBlock.station_id == station_id))
    return {str(r.id): SmartBlockSpec.from_row(r, defaults) for r in rows}


def fill(
    spec: SmartBlockSpec,
    library: TrackLibrary,
    history: PlayHistory,
    start: datetime,
    target_ms: int | None,
    rng: random.Random,
    *,
    blocks: Mapping[str, SmartBlockSpec] | None = None,
) -> Fill:
    """Choose tracks for ``spec`` from ``start`` for ``target_ms`` (the slot's
    length; ``None``: the block's own target or limit) and add them to ``history``.

    The same library, history, start and ``rng`` state give the same picks.
    """
    with observed.smart_block_fill(spec.id):
        return fill_block(spec, library, history, start, target_ms, rng, blocks or {}, ())


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
    cands = block_candidates(spec, library, start)
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


def _masked(
    p: _Picker, at: datetime, minimum: Mask, remaining: int | None, room: int | None
) -> Step:
    """``end_game`` with full library masks, restricted to what meets a minimum quota."""
    spec, tol = p.spec, p.spec.tolerance_ms
    mask = p.eligible(at)
    if not mask.any():
        return None, "relax"
    if (mask & minimum).any():
        mask &= minimum
    policy: str | None = None
    if room is not None and remaining is not None:
        d = p.library.duration_ms
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
            return None, "stop"
        else:
            policy = spec.overflow
            if spec.overflow == "allow_overflow":
                mask = mask & (d == d[mask].min())
    return p.choose(mask, at), policy


def _run(p: _Picker, result: Fill, start: datetime, target: int | None) -> None:
    spec, lib = p.spec, p.library
    tol = spec.tolerance_ms
    total = 0
    stop_policy: str | None = None
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
            if minimum is None:
                pick, stop_policy = p.end_game(at, remaining, room)
            else:
                pick, stop_policy = _masked(p, at, minimum, remaining, room)
            if pick is None:
                if stop_policy == "relax" and p.relax(result.relaxations):
                    stop_policy = None
                    continue
                break
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


__all__ = [
    "DEFAULT_SEPARATION",
    "RELAXATIONS",
    "BlockRules",
    "Fill",
    "Limit",
    "Quota",
    "Separation",
    "SmartBlockSpec",
    "fill",
    "load_smart_blocks",
]
