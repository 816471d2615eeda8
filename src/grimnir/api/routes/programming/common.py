"""Shared pieces of the programming routes: a station's rows as 404s, references
to another station's rows as 422s (each naming where to look), and JSON sanity.
The store work is ``grimnir.services.programming``'s."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api.problems import Problem
from grimnir.domain import NotFoundError
from grimnir.services import programming
from grimnir.services.programming.common import Owned
from grimnir.store.models import (
    Clock,
    MediaItem,
    Playlist,
    Show,
    SmartBlock,
    Station,
    Webstream,
)

Name = Annotated[str, Field(min_length=1, max_length=255, description="Unique on the station.")]
Description = Annotated[str, Field(max_length=10_000)]

_PATHS: dict[type[Any], str] = {
    Playlist: "playlists",
    SmartBlock: "smart-blocks",
    Clock: "clocks",
    Show: "shows",
    MediaItem: "media",
    Webstream: "webstreams",
}


def _list_hint(model: type[Any], short_name: str) -> str:
    return f"GET /api/v1/stations/{short_name}/{_PATHS[model]}"


async def owned(
    session: AsyncSession, model: type[Owned], row_id: uuid.UUID, station: Station
) -> Owned:
    """The station's row ``row_id`` of ``model``; 404 (never another station's row)."""
    try:
        return await programming.owned(session, model, row_id, station)
    except NotFoundError as e:
        raise Problem(404, f"{e}: see {_list_hint(model, station.short_name)}") from None


async def check_refs(
    session: AsyncSession,
    station: Station,
    refs: Iterable[tuple[str, type[Any], uuid.UUID | None]],
) -> None:
    """422 unless every (field, model, id) names a row of this station."""
    short = station.short_name
    errors: list[dict[str, Any]] = [
        {
            "loc": ["body", *name.split(".")],
            "msg": f"no {programming.kind_name(model)} {row_id} on station {short!r}: use one "
            f"listed by {_list_hint(model, short)}",
        }
        for name, model, row_id in await programming.foreign_refs(session, station.id, refs)
    ]
    if errors:
        parts = "; ".join(f"{'.'.join(e['loc'][1:])}: {e['msg']}" for e in errors)
        raise Problem(422, f"fix these references: {parts}", errors=errors)


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
