"""Stations: registering them from their declarative config, finding, listing and
deleting them (the CLI, the API and the demo share these)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grimnir.config.station import StationConfig
from grimnir.domain import NotFoundError
from grimnir.domain.catalog import AudioFormat, OutputKind
from grimnir.store import repos
from grimnir.store.models import Mount, Station
from grimnir.store.repos import MountSpec, OutputSpec, StationSpec, upsert_station

_COMMON_OUTPUT_FIELDS = {"type", "format", "bitrate_kbps"}


def station_spec(config: StationConfig) -> StationSpec:
    """The store's view of a station config: identity, mounts and outputs."""
    mounts = []
    for mount in config.mounts:
        outputs = []
        for output in mount.outputs:
            settings: dict[str, Any] = output.model_dump(mode="json", exclude=_COMMON_OUTPUT_FIELDS)
            outputs.append(
                OutputSpec(
                    kind=OutputKind(output.type),
                    format=AudioFormat(output.format),
                    bitrate_kbps=output.bitrate_kbps,
                    settings=settings,
                )
            )
        mounts.append(MountSpec(key=mount.id, name=mount.name, outputs=outputs))
    return StationSpec(
        id=config.station.id,
        short_name=config.station.resolved_short_name,
        name=config.station.name,
        timezone=config.station.timezone,
        description=config.station.description,
        config=config.model_dump(mode="json"),
        mounts=mounts,
    )


async def register_station(session: AsyncSession, config: StationConfig) -> tuple[Station, bool]:
    """Create the station, or update it to match ``config``; True when created.

    An update replaces mounts and outputs and keeps the library, playlists,
    schedule and history.
    """
    return await upsert_station(session, station_spec(config))


async def get_station(session: AsyncSession, ref: str) -> Station:
    """The station whose id (a UUID string) or short name is ``ref``
    (``NotFoundError`` naming the stations there are, if none)."""
    return await repos.get_station(session, ref)


async def find_station(session: AsyncSession, station_id: uuid.UUID) -> Station | None:
    """The station with id ``station_id``, else ``None``."""
    return await session.get(Station, station_id)


async def find_station_named(session: AsyncSession, short_name: str) -> Station | None:
    """The station whose short name is ``short_name``, else ``None``."""
    return await session.scalar(select(Station).where(Station.short_name == short_name))


async def station_with_outputs(session: AsyncSession, station_id: uuid.UUID) -> Station:
    """The station with its mounts and their outputs read fresh from the database
    (``NotFoundError`` if there is no such station)."""
    station = await session.scalar(
        select(Station)
        .where(Station.id == station_id)
        .options(selectinload(Station.mounts).selectinload(Mount.outputs))
    )
    if station is None:
        raise NotFoundError(f"no station {station_id}")
    return station


async def list_stations(session: AsyncSession) -> Sequence[Station]:
    """Every station, by short name."""
    return await repos.list_stations(session)


async def delete_station(session: AsyncSession, station: Station) -> None:
    """Delete the station with its library rows, programming and history."""
    await session.delete(station)
