"""A station's media library as the API changes it: tag and cue point edits,
deleting an item (refused while the timeline still plans to air it) and whether
a stored file is still used.

Searching and reading items is :mod:`grimnir.library.queries`; ingest is
:mod:`grimnir.library.ingest`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError, LibraryError, MediaState, NotFoundError, PlannerError
from grimnir.planner.rules import RuleSet
from grimnir.services.timeline import planned_plays
from grimnir.store.models import MediaItem


def rules_clause(text: str, now: datetime) -> ColumnElement[bool]:
    """The SQL condition of smart-block rules sent as JSON (``{"groups": [[rule, …]]}``,
    what a smart block's ``filter`` holds), as the planner would select at ``now``;
    ``LibraryError`` saying what to fix when they are not valid."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise LibraryError(
            f'rules: not JSON ({exc}); send {{"groups": [[{{"field": "genre", '
            f'"modifier": "is", "value": "Jazz"}}]]}}'
        ) from None
    try:
        rules = RuleSet.parse(raw, "rules")
    except PlannerError as exc:
        raise LibraryError(str(exc)) from None
    return rules.clause(now)


async def path_in_use(session: AsyncSession, path: str) -> bool:
    """Whether any item (of any station) is stored at ``path``."""
    count = await session.scalar(
        select(func.count()).select_from(MediaItem).where(MediaItem.path == path)
    )
    return bool(count)


async def update_tags(
    session: AsyncSession, item: MediaItem, changes: Mapping[str, Any]
) -> MediaItem:
    """Set ``changes`` (column name → value) on ``item``, write them and read the
    item back as stored. The file is not touched."""
    for name, value in changes.items():
        setattr(item, name, value)
    await session.flush()
    await session.refresh(item)
    return item


async def station_items(
    session: AsyncSession, station_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[MediaItem]:
    """The station's items with these ids, in the order given; ``NotFoundError``
    naming the ids that are not the station's (nothing is changed then)."""
    rows = await session.scalars(
        select(MediaItem).where(MediaItem.station_id == station_id, MediaItem.id.in_(ids))
    )
    found = {item.id: item for item in rows}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise NotFoundError(
            f"no media item {shown} on this station: reload the list and choose again"
        )
    return [found[i] for i in ids]


async def update_many(
    session: AsyncSession, station_id: uuid.UUID, ids: list[uuid.UUID], changes: Mapping[str, Any]
) -> list[MediaItem]:
    """Set the same ``changes`` on each of the station's items ``ids`` (all or none)."""
    items = await station_items(session, station_id, ids)
    for item in items:
        for name, value in changes.items():
            setattr(item, name, value)
    await session.flush()
    for item in items:
        await session.refresh(item)
    return items


async def delete_item(session: AsyncSession, item: MediaItem, *, force: bool = False) -> int:
    """Delete ``item``; returns how many entries still to air played it (they are
    skipped on air until the timeline is rebuilt). Without ``force`` an item
    the timeline still plans to air is refused with ``ConflictError``. The
    file stays: the caller removes it when nothing else uses it."""
    upcoming = await planned_plays(session, item.id)
    if upcoming and not force:
        raise ConflictError(
            f"the timeline still plans to air this item {upcoming} time(s): delete with "
            "?force=true (those slots are then skipped until the timeline is rebuilt)"
        )
    await session.delete(item)
    return upcoming


CUE_FIELDS = ("cue_in_ms", "cue_out_ms", "intro_end_ms", "segue_ms")
"""The cue points of an item, in milliseconds from the start of its file."""
MIN_PLAY_MS = 1000
"""Cue-in and cue-out are at least this far apart: an item plays at least a second."""


class CuePointError(LibraryError):
    """Cue points that do not fit the item; ``problems`` holds (field, what to fix)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


async def set_cue_points(
    session: AsyncSession, item: MediaItem, changes: Mapping[str, int | None]
) -> bool:
    """Set the cue points in ``changes`` (field → ms; the others stay as stored) and
    return whether any of them changed.

    The points are checked as a whole against the item's measured duration:
    0 ≤ cue-in < cue-out ≤ duration with at least ``MIN_PLAY_MS`` between the two,
    intro end within [cue-in, cue-out], segue within (cue-in, cue-out]. ``None``
    means: cue-in at the start of the file, cue-out at its end, no intro end, segue
    at cue-out. Only a ready item has a duration to check against: any other is
    refused with ``ConflictError``; points that do not fit with ``CuePointError``.
    Nothing is changed when either is raised.
    """
    unknown = sorted(set(changes) - set(CUE_FIELDS))
    if unknown:
        raise ValueError(f"not cue point fields: {', '.join(unknown)}")
    if not changes:
        return False
    duration = _measured(item)
    stored: dict[str, int | None] = {name: getattr(item, name) for name in CUE_FIELDS}
    stored["cue_in_ms"] = stored["cue_in_ms"] or 0
    cues = stored | dict(changes)
    cues["cue_in_ms"] = cues["cue_in_ms"] or 0
    problems = _misfits(cues, duration, set(changes))
    if problems:
        raise CuePointError(problems)
    changed = [name for name in CUE_FIELDS if cues[name] != stored[name]]
    for name in changed:
        setattr(item, name, cues[name])
    if changed:
        await session.flush()
    return bool(changed)


def _measured(item: MediaItem) -> int:
    """The item's duration, or ``ConflictError`` saying why it has none to cue in."""
    if item.state is MediaState.FAILED:
        raise ConflictError(
            f"media item {item.id} failed its analysis ({item.failed_reason or 'no reason'}): "
            "it never airs and has no duration to place cue points in; upload a file that "
            "plays, or fix the file and run grimnir library reanalyze"
        )
    if item.state is not MediaState.READY:
        raise ConflictError(
            f"media item {item.id} is {item.state.value}: cue points can be set once its "
            "analysis has finished and measured its duration (it is then ready); try again then"
        )
    duration = item.duration_ms or 0
    if not duration:
        raise ConflictError(
            f"media item {item.id} has no measured duration to place cue points in: "
            "run grimnir library reanalyze on it, then set them"
        )
    if duration < MIN_PLAY_MS:
        raise ConflictError(
            f"media item {item.id} holds only {duration} ms of audio: cue points need at "
            f"least {MIN_PLAY_MS} ms between cue-in and cue-out, so it plays whole"
        )
    return duration


def _misfits(
    cues: Mapping[str, int | None], duration: int, sent: set[str]
) -> list[tuple[str, str]]:
    """What is wrong with ``cues`` in a file of ``duration`` ms: (field, message) each.
    Values not in ``sent`` are the stored ones, and the messages say so."""

    def said(name: str) -> str:
        value = cues[name]
        shown = f"null (the end, {duration} ms)" if value is None else str(value)
        return f"{name} {shown}" if name in sent else f"the stored {name} {shown}"

    cue_in = cues["cue_in_ms"] or 0
    cue_out = cues["cue_out_ms"]
    end = duration if cue_out is None else cue_out
    if cue_out is not None and cue_out > duration:
        return [
            (
                "cue_out_ms",
                f"{said('cue_out_ms')} is past the end of the file ({duration} ms): send at "
                f"most {duration}, or null to play to the end",
            )
        ]
    if end - cue_in < MIN_PLAY_MS:
        fixes = [f"cue_in_ms at most {end - MIN_PLAY_MS}"] if end >= MIN_PLAY_MS else []
        if cue_in + MIN_PLAY_MS <= duration:
            fixes.append(f"cue_out_ms at least {cue_in + MIN_PLAY_MS}")
        fix = " or ".join(fixes) if fixes else "cue_in_ms 0 and cue_out_ms null"
        field = "cue_in_ms" if "cue_in_ms" in sent else "cue_out_ms"
        return [
            (
                field,
                f"{said('cue_in_ms')} and {said('cue_out_ms')} leave {max(0, end - cue_in)} ms "
                f"to play; keep cue-out at least {MIN_PLAY_MS} ms (1 s) after cue-in: send {fix}",
            )
        ]
    problems: list[tuple[str, str]] = []
    intro = cues["intro_end_ms"]
    if intro is not None and not cue_in <= intro <= end:
        problems.append(
            (
                "intro_end_ms",
                f"{said('intro_end_ms')} is outside the part that plays (cue-in {cue_in} to "
                f"cue-out {end} ms): send intro_end_ms from {cue_in} to {end}, or null for "
                "no intro",
            )
        )
    segue = cues["segue_ms"]
    if segue is not None and not cue_in < segue <= end:
        problems.append(
            (
                "segue_ms",
                f"{said('segue_ms')} must be after cue-in ({cue_in} ms) and at most cue-out "
                f"({end} ms): send segue_ms from {cue_in + 1} to {end}, or null to segue at "
                "cue-out",
            )
        )
    return problems


__all__ = [
    "CUE_FIELDS",
    "MIN_PLAY_MS",
    "CuePointError",
    "delete_item",
    "path_in_use",
    "set_cue_points",
    "update_tags",
]


async def items_by_state(session: AsyncSession) -> dict[tuple[uuid.UUID, str], int]:
    """How many media items each station has in each state (pending, ready, …)."""
    rows = await session.execute(
        select(MediaItem.station_id, MediaItem.state, func.count()).group_by(
            MediaItem.station_id, MediaItem.state
        )
    )
    return {(station, str(state)): int(count) for station, state, count in rows}
