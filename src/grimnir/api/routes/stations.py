"""Stations, their config, mounts and outputs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, Field, ValidationError

from grimnir.api._urls import listen_urls
from grimnir.api.audit import audit
from grimnir.api.auth import (
    AdminDep,
    DjDep,
    ManagerDep,
    Principal,
    StationAdminDep,
    StationScope,
    UserDep,
    context,
)
from grimnir.api.problems import Problem
from grimnir.api.routes._station_config import (
    INVALID,
    YAML_BODY,
    ConfigMessage,
    check_text,
    checked_json,
    config_yaml,
    warnings_of,
    yaml_body,
)
from grimnir.config.station import StationConfig
from grimnir.domain import NotFoundError, Role
from grimnir.domain.urls import mask_url
from grimnir.services import stations
from grimnir.store.models import Mount, Station

router = APIRouter(tags=["stations"])

_SECRET_KEYS = {"password", "source_password", "admin_password", "token", "secret"}


class OutputOut(BaseModel):
    type: str
    format: str
    bitrate_kbps: int | None
    settings: dict[str, Any]


class MountOut(BaseModel):
    id: str
    name: str
    outputs: list[OutputOut]


class StationOut(BaseModel):
    id: uuid.UUID
    short_name: str
    name: str
    timezone: str
    description: str
    enabled: bool
    role: Role | None = None
    """Your role on it."""
    listen_urls: list[str] = []
    created_at: datetime
    updated_at: datetime


class StationDetail(StationOut):
    mounts: list[MountOut]


class StationCreated(StationDetail):
    created: bool


def _masked(settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _SECRET_KEYS and value:
            out[key] = "***"
        elif key == "url" and isinstance(value, str):
            out[key] = mask_url(value)
        else:
            out[key] = value
    return out


def _station_out(request: Request, station: Station, role: Role | None) -> dict[str, Any]:
    return {
        "id": station.id,
        "short_name": station.short_name,
        "name": station.name,
        "timezone": station.timezone,
        "description": station.description,
        "enabled": station.enabled,
        "role": role,
        "listen_urls": listen_urls(context(request), station),
        "created_at": station.created_at,
        "updated_at": station.updated_at,
    }


def _mounts(mounts: list[Mount]) -> list[MountOut]:
    return [
        MountOut(
            id=m.key,
            name=m.name,
            outputs=[
                OutputOut(
                    type=o.kind.value,
                    format=o.format.value,
                    bitrate_kbps=o.bitrate_kbps,
                    settings=_masked(o.settings),
                )
                for o in m.outputs
            ],
        )
        for m in mounts
    ]


async def _detail(request: Request, station_id: uuid.UUID, role: Role | None) -> StationDetail:
    async with context(request).sessions() as session:
        try:
            station = await stations.station_with_outputs(session, station_id)
        except NotFoundError:
            raise Problem(404, f"no station {station_id}") from None
        return StationDetail(**_station_out(request, station, role), mounts=_mounts(station.mounts))


def _config(raw: dict[str, Any]) -> StationConfig:
    try:
        return StationConfig.model_validate(raw)
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5]]
        raise Problem(
            422, "the station config is not valid: " + "; ".join(parts), errors=errors
        ) from None


class ConfigChecked(BaseModel):
    """A station config that passed every check (nothing stored)."""

    name: str
    short_name: str
    timezone: str
    mounts: int
    outputs: int
    warnings: list[ConfigMessage] = Field(
        description="Inputs missing today (an emergency file, say): fine to save."
    )


class ConfigSaved(BaseModel):
    """The station after a config was stored, and what to look at in it."""

    station: StationDetail
    warnings: list[ConfigMessage]


ConfigBody = Annotated[
    dict[str, Any],
    Body(description="The station config, as in the station YAML file (station, mounts, …)."),
]


@router.get("/stations", response_model=list[StationOut])
async def list_stations(
    request: Request, who: Annotated[Principal, Depends(UserDep)]
) -> list[dict[str, Any]]:
    """The stations you may work on (every station for administrators)."""
    async with context(request).sessions() as session:
        rows = await stations.list_stations(session)
        return [
            _station_out(request, s, who.role_on(s.id))
            for s in rows
            if who.role_on(s.id) is not None
        ]


@router.post("/stations", response_model=StationCreated, status_code=201)
async def add_station(
    body: ConfigBody, request: Request, who: Annotated[Principal, Depends(AdminDep)]
) -> StationCreated:
    """Register a station from its config (or update the one with the same id)."""
    config = _config(body)
    async with context(request).sessions() as session:
        station, created = await stations.register_station(session, config)
        audit(
            session,
            request,
            who,
            "station.add" if created else "station.update",
            station.short_name,
            station_id=station.id,
        )
        await session.commit()
        station_id = station.id
    detail = await _detail(request, station_id, Role.ADMIN)
    return StationCreated(**detail.model_dump(), created=created)


@router.get("/stations/{station}", response_model=StationDetail)
async def get_station(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> StationDetail:
    """One station with its mounts and outputs (passwords hidden)."""
    return await _detail(request, scope.station.id, scope.role)


@router.get("/stations/{station}/mounts", response_model=list[MountOut])
async def list_mounts(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> list[MountOut]:
    """The station's mounts and their outputs (passwords hidden)."""
    return (await _detail(request, scope.station.id, scope.role)).mounts


@router.get("/stations/{station}/config", response_model=dict[str, Any])
async def get_config(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> dict[str, Any]:
    """The station config as stored (what ``PUT …/config`` takes back)."""
    return dict(scope.station.config)


@router.get(
    "/stations/{station}/config.yaml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
async def get_config_yaml(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> Response:
    """The station config as YAML (what ``PUT …/config.yaml`` takes back); keys left
    out have their defaults."""
    return Response(config_yaml(dict(scope.station.config)), media_type="application/yaml")


@router.put("/stations/{station}/config", response_model=StationDetail)
async def put_config(
    body: ConfigBody, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> StationDetail:
    """Replace the station config; mounts and outputs follow it, the library and
    programming stay. Engines pick it up when they restart. Checked as
    ``grimnir config check`` checks a file (paths included); nothing is stored
    when it fails."""
    config = checked_json(body, station_id=scope.station.id).config
    return await _store(request, scope, config)


@router.post(
    "/stations/{station}/config/check",
    response_model=ConfigChecked,
    openapi_extra=YAML_BODY,
    responses=INVALID,
)
async def check_config_yaml(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ConfigChecked:
    """Check a station config written as YAML without storing it: 422 lists every
    problem with its line, as ``grimnir config check`` does."""
    text = await yaml_body(request)
    checked = check_text(text, station_id=scope.station.id)
    config = checked.config
    return ConfigChecked(
        name=config.station.name,
        short_name=config.station.resolved_short_name,
        timezone=config.station.timezone,
        mounts=len(config.mounts),
        outputs=sum(len(m.outputs) for m in config.mounts),
        warnings=warnings_of(checked, text),
    )


@router.put(
    "/stations/{station}/config.yaml",
    response_model=ConfigSaved,
    openapi_extra=YAML_BODY,
    responses=INVALID,
)
async def put_config_yaml(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ConfigSaved:
    """Replace the station config with one written as YAML, checked first as
    ``POST …/config/check`` checks it; nothing is stored when it fails."""
    text = await yaml_body(request)
    checked = check_text(text, station_id=scope.station.id)
    detail = await _store(request, scope, checked.config)
    return ConfigSaved(station=detail, warnings=warnings_of(checked, text))


async def _store(request: Request, scope: StationScope, config: StationConfig) -> StationDetail:
    async with context(request).sessions() as session:
        station, _ = await stations.register_station(session, config)
        audit(session, request, scope, "station.config", station.short_name)
        await session.commit()
    return await _detail(request, scope.station.id, scope.role)


@router.delete("/stations/{station}", status_code=204)
async def delete_station(
    request: Request, scope: Annotated[StationScope, Depends(StationAdminDep)]
) -> Response:
    """Delete the station with its library rows, programming and history."""
    async with context(request).sessions() as session:
        station = await stations.find_station(session, scope.station.id)
        if station is not None:
            audit(session, request, scope, "station.delete", station.short_name, station_id=None)
            await stations.delete_station(session, station)
        await session.commit()
    return Response(status_code=204)
