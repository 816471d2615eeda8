"""What every kind of programming row shares: finding a station's own row,
telling which references name another station's rows, unique names, pages of a
station's rows and deleting one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ExecutableOption

from grimnir.domain import ConflictError, NotFoundError
from grimnir.services.paging import rows_page
from grimnir.store.models import (
    Clock,
    MediaItem,
    Playlist,
    Show,
    ShowException,
    SmartBlock,
    Station,
    Webstream,
)

Owned = TypeVar("Owned", Playlist, SmartBlock, Clock, Show, MediaItem, Webstream)
"""A row that belongs to one station."""
Named = TypeVar("Named", Playlist, SmartBlock, Clock, Show)
"""A row whose name is unique on its station."""
Label = TypeVar("Label")

_KIND_NAMES: dict[type[Any], str] = {
    Playlist: "playlist",
    SmartBlock: "smart block",
    Clock: "clock",
    Show: "show",
    MediaItem: "media item",
    Webstream: "web stream",
}


def kind_name(model: type[Any]) -> str:
    """What a row of ``model`` is called in messages ("smart block", say)."""
    return _KIND_NAMES[model]


async def owned(
    session: AsyncSession, model: type[Owned], row_id: uuid.UUID, station: Station
) -> Owned:
    """The station's row ``row_id`` of ``model``; ``NotFoundError`` when there is none,
    also when the row belongs to another station (it is never handed out)."""
    row = await session.get(model, row_id)
    if row is None or row.station_id != station.id:
        raise NotFoundError(f"no {kind_name(model)} {row_id} on station {station.short_name!r}")
    return row


async def foreign_refs(
    session: AsyncSession,
    station_id: uuid.UUID,
    refs: Iterable[tuple[Label, type[Any], uuid.UUID | None]],
) -> list[tuple[Label, type[Any], uuid.UUID]]:
    """The references of ``refs`` (label, model, id) that name no row of the station
    (a missing row or another station's), in the order given; ``None`` ids are no
    reference and are skipped."""
    bad: list[tuple[Label, type[Any], uuid.UUID]] = []
    for label, model, row_id in refs:
        if row_id is None:
            continue
        row = await session.get(model, row_id)
        if row is None or row.station_id != station_id:
            bad.append((label, model, row_id))
    return bad


async def check_name_free(
    session: AsyncSession,
    model: type[Named],
    station_id: uuid.UUID,
    name: str,
    exclude: uuid.UUID | None = None,
) -> None:
    """``ConflictError`` when another row of ``model`` on the station (any but
    ``exclude``) already has ``name``."""
    query = select(func.count()).where(model.station_id == station_id, model.name == name)
    if exclude is not None:
        query = query.where(model.id != exclude)
    if await session.scalar(query):
        raise ConflictError(
            f"the station already has a {kind_name(model)} named {name!r}: pick another name"
        )


async def station_page(
    session: AsyncSession,
    model: type[Named],
    station_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
    options: Sequence[ExecutableOption] = (),
) -> tuple[Sequence[Named], int]:
    """One page of the station's rows of ``model`` by name (``options``: the
    relationships to load with them), and how many the station has."""
    return await rows_page(
        session,
        model,
        limit=limit,
        offset=offset,
        where=[model.station_id == station_id],
        order_by=[model.name],
        options=options,
    )


async def remove(
    session: AsyncSession, row: Playlist | SmartBlock | Clock | Show | ShowException
) -> None:
    """Delete ``row``; rows that referred to it lose the reference (or go with it)
    as the schema says."""
    await session.delete(row)
