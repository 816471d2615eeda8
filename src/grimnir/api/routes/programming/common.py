"""Shared pieces of the programming routes: finding a station's rows, refusing
references to another station's rows, unique names and JSON sanity."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.problems import Problem
from grimnir.store.models import Clock, MediaItem, Playlist, Show, SmartBlock, Webstream

Name = Annotated[str, Field(min_length=1, max_length=255, description="Unique on the station.")]
Description = Annotated[str, Field(max_length=10_000)]

M = TypeVar("M", Playlist, SmartBlock, Clock, Show, MediaItem, Webstream)

_WHAT: dict[type[Any], tuple[str, str]] = {
    Playlist: ("playlist", "playlists"),
    SmartBlock: ("smart block", "smart-blocks"),
    Clock: ("clock", "clocks"),
    Show: ("show", "shows"),
    MediaItem: ("media item", "media"),
    Webstream: ("web stream", "webstreams"),
}


def _list_hint(model: type[Any], short_name: str) -> str:
    return f"GET /api/v1/stations/{short_name}/{_WHAT[model][1]}"


async def owned(
    session: AsyncSession, model: type[M], row_id: uuid.UUID, station_id: uuid.UUID, short: str
) -> M:
    """The station's row ``row_id`` of ``model``; 404 (never another station's row)."""
    row = await session.get(model, row_id)
    if row is None or row.station_id != station_id:
        what = _WHAT[model][0]
        raise Problem(
            404, f"no {what} {row_id} on station {short!r}: see {_list_hint(model, short)}"
        )
    return row


async def check_refs(
    session: AsyncSession,
    station_id: uuid.UUID,
    short: str,
    refs: Iterable[tuple[str, type[Any], uuid.UUID | None]],
) -> None:
    """422 unless every (field, model, id) names a row of this station."""
    errors: list[dict[str, Any]] = []
    for name, model, row_id in refs:
        if row_id is None:
            continue
        row = await session.get(model, row_id)
        if row is None or row.station_id != station_id:
            what = _WHAT[model][0]
            errors.append(
                {
                    "loc": ["body", *name.split(".")],
                    "msg": f"no {what} {row_id} on station {short!r}: use one listed by "
                    f"{_list_hint(model, short)}",
                }
            )
    if errors:
        parts = "; ".join(f"{'.'.join(e['loc'][1:])}: {e['msg']}" for e in errors)
        raise Problem(422, f"fix these references: {parts}", errors=errors)


async def unique_name(
    session: AsyncSession,
    model: type[Playlist] | type[SmartBlock] | type[Clock] | type[Show],
    station_id: uuid.UUID,
    name: str,
    exclude: uuid.UUID | None = None,
) -> None:
    """409 when another row of the station already has ``name``."""
    query = select(func.count()).where(model.station_id == station_id, model.name == name)
    if exclude is not None:
        query = query.where(model.id != exclude)
    if await session.scalar(query):
        raise Problem(
            409, f"the station already has a {_WHAT[model][0]} named {name!r}: pick another name"
        )


def finite_json(value: Any, where: str) -> None:
    """422 for NaN/infinite numbers anywhere in ``value`` (JSON cannot carry them back)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise Problem(422, f"{where}: numbers must be finite, not {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            finite_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            finite_json(item, f"{where}[{i}]")
