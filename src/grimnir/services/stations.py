"""Registering stations from their declarative config (CLI and API share it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.config.station import StationConfig
from grimnir.domain.catalog import AudioFormat, OutputKind
from grimnir.store.models import Station
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
