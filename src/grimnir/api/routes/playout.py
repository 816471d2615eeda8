"""Playout: the executor's state and the engine's telemetry, and manual control
(skip, stop, resume, queue). The as-run log is in ``_playout_asrun``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from grimnir.api.auth import DjDep, ManagerDep, StationScope, context
from grimnir.api.problems import Problem
from grimnir.api.routes import _playout_asrun
from grimnir.api.routes._playout_common import (
    FadeIn,
    engine_of,
    entry_id_of,
    executor_of,
    finite,
    load_entry,
    record,
)
from grimnir.domain import ExecutorState, MediaState, NotFoundError
from grimnir.engine.client import StatusReport
from grimnir.library import queries
from grimnir.services import timeline

router = APIRouter(tags=["playout"])
router.include_router(_playout_asrun.router)

BASE = "/stations/{station}"
_MS = timedelta(milliseconds=1)


class NowItem(BaseModel):
    """The automation item on air."""

    item_id: str
    entry_id: uuid.UUID | None = None
    media_id: uuid.UUID | None = None
    kind: str | None = None
    title: str = ""
    artist: str = ""
    position_ms: int = 0
    duration_ms: int | None = None


class NextEntry(BaseModel):
    """A timeline entry still to come."""

    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    kind: str
    status: str
    timing: str
    title: str | None
    artist: str | None
    media_id: uuid.UUID | None


class ExecutorOut(BaseModel):
    """What the station's executor is doing now."""

    station_id: uuid.UUID
    at: datetime
    state: ExecutorState
    held: bool = Field(description="Stopped by hand: nothing plays until resume.")
    engine_up: bool
    on_air_layer: str | None = Field(description="The engine layer on air (live, automation…).")
    priority: str = Field(description="The priority rung on air (emergency … fallback).")
    current: NowItem | None
    next: list[NextEntry]


class OutputState(BaseModel):
    name: str
    state: str = Field(description="up, connecting, down or closed.")
    reconnects: int = Field(default=0, description="Connections made again after the first.")
    error: str | None = Field(default=None, description="The output's last failure.")


class TelemetryOut(BaseModel):
    """The engine's last once-a-second telemetry and its outputs (null: none yet)."""

    at: datetime | None = None
    peak_db: list[float | None] | None = None
    rms_db: list[float | None] | None = None
    lufs_momentary: float | None = None
    lufs_short_term: float | None = None
    lufs_integrated: float | None = None
    lufs_program: float | None = Field(
        default=None, description="The last 20 s, gated (the output loudness loop)."
    )
    target_lufs: float | None = None
    true_peak_dbtp: float | None = None
    silence_s: float | None = Field(default=None, description="Silent on air for this long now.")
    dead_air_s: float | None = Field(default=None, description="Silence on air since start.")
    dropouts: int | None = None
    late_blocks: int | None = None
    cpu_percent: float | None = None
    on_air: str | None = None
    queue_length: int | None = None
    current: dict[str, Any] | None = None
    outputs: list[OutputState] = []


class ActionOut(BaseModel):
    """What a playout command did."""

    action: str
    item_id: str | None = Field(default=None, description="The engine item concerned.")
    state: ExecutorState


class QueueIn(BaseModel):
    media_id: uuid.UUID = Field(description="A ready media item of this station.")
    at: AwareDatetime | None = Field(
        default=None,
        description="Start exactly then (a hard start, cutting what plays); "
        "without it the item plays next, after the item on air.",
    )


class QueueOut(BaseModel):
    item_id: str
    media_id: uuid.UUID
    title: str
    start_at: datetime | None
    timing: str


def _now_item(status: StatusReport, telemetry: dict[str, Any] | None) -> NowItem | None:
    current = status.current
    if current is None or not current.item_id:
        return None
    item_id = current.item_id
    duration = None
    if telemetry and isinstance(telemetry.get("current"), dict):
        seen = telemetry["current"]
        if seen.get("item_id") == item_id and isinstance(seen.get("duration_ms"), int):
            duration = seen["duration_ms"]
    return NowItem(
        item_id=item_id,
        title=current.title,
        artist=current.artist,
        position_ms=current.position_ms,
        duration_ms=duration,
    )


@router.get(f"{BASE}/executor", response_model=ExecutorOut)
async def get_executor(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    upcoming: Annotated[int, Query(ge=0, le=50, description="Entries of `next`.")] = 5,
) -> ExecutorOut:
    """State, the item on air (from the engine) and the next timeline entries."""
    executor = executor_of(request, scope)
    status = await engine_of(request, scope).status()
    now = executor.clock()
    current = _now_item(status, executor.telemetry)
    if current is not None:
        entry = await load_entry(request, scope.station.id, entry_id_of(current.item_id))
        if entry is not None:
            current.entry_id, current.media_id = entry.id, entry.media_id
            current.kind = entry.kind.value
            current.title = current.title or entry.title or ""
            current.artist = current.artist or entry.artist or ""
            if current.duration_ms is None:
                current.duration_ms = round((entry.ends_at - entry.starts_at) / _MS)
    async with context(request).sessions() as session:
        rows = await timeline.next_entries(session, scope.station.id, now, upcoming)
        upcoming_rows = [
            NextEntry(
                id=e.id,
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                kind=e.kind.value,
                status=e.status.value,
                timing=e.timing.value,
                title=e.title,
                artist=e.artist,
                media_id=e.media_id,
            )
            for e in rows
        ]
    return ExecutorOut(
        station_id=scope.station.id,
        at=now,
        state=executor.state,
        held=executor.held,
        engine_up=executor.engine_up,
        on_air_layer=status.on_air,
        priority=executor.priority.on_air.key,
        current=current,
        next=upcoming_rows,
    )


@router.get(f"{BASE}/executor/telemetry", response_model=TelemetryOut)
async def get_telemetry(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> TelemetryOut:
    """Meters (peak/RMS per channel in dBFS, LUFS, true peak), timing and outputs.

    The same record goes out on the event stream as ``telemetry`` (≤ 2 a second)."""
    executor = executor_of(request, scope)
    status = await engine_of(request, scope).status()
    data: dict[str, Any] = finite(dict(executor.telemetry or {}))
    outputs = [
        OutputState(name=o.name, state=o.state, reconnects=o.reconnects, error=o.error)
        for o in status.outputs
    ]
    fields = set(TelemetryOut.model_fields) - {"at", "outputs"}
    known = {key: value for key, value in data.items() if key in fields}
    return TelemetryOut(at=data.get("time"), outputs=outputs, **known)


FadeBody = Annotated[FadeIn | None, Body()]
QUEUE_AHEAD = timedelta(days=2)


def _check_near(at: datetime, now: datetime) -> None:
    try:
        near = abs(at - now) <= QUEUE_AHEAD
    except OverflowError:
        near = False
    if not near:
        raise Problem(422, "`at` must be within 48 hours of now (an ISO 8601 time with a zone)")


@router.post(f"{BASE}/playout/skip", response_model=ActionOut)
async def skip(
    request: Request, scope: Annotated[StationScope, Depends(DjDep)], body: FadeBody = None
) -> ActionOut:
    """End the automation item on air; the next one follows at once."""
    executor = executor_of(request, scope)
    current = executor.current
    if current is None:
        raise Problem(409, "nothing plays on automation now, so there is nothing to skip")
    await executor.skip((body or FadeIn()).fade_ms)
    await record(request, scope, "playout.skip", current)
    return ActionOut(action="skip", item_id=current, state=executor.state)


@router.post(f"{BASE}/playout/stop", response_model=ActionOut)
async def stop(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)], body: FadeBody = None
) -> ActionOut:
    """Fade automation out and hold: nothing plays from the timeline until resume."""
    executor = executor_of(request, scope)
    current = executor.current
    await executor.stop((body or FadeIn()).fade_ms)
    await record(request, scope, "playout.stop", current)
    return ActionOut(action="stop", item_id=current, state=executor.state)


@router.post(f"{BASE}/playout/resume", response_model=ActionOut)
async def resume(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ActionOut:
    """Carry on with the timeline after a stop (the entry due now joins in progress)."""
    executor = executor_of(request, scope)
    await executor.resume()
    await record(request, scope, "playout.resume", None)
    return ActionOut(action="resume", state=executor.state)


@router.post(f"{BASE}/playout/queue", response_model=QueueOut, status_code=201)
async def queue(
    body: QueueIn, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> QueueOut:
    """Play a library item next (after the item on air), or at ``at`` exactly."""
    executor = executor_of(request, scope)
    if body.at is not None:
        _check_near(body.at, executor.clock())
    async with context(request).sessions() as session:
        try:
            item = await queries.get_media(session, body.media_id, scope.station.id)
        except NotFoundError:
            short = scope.station.short_name
            raise Problem(404, f"no media item {body.media_id} on station {short}") from None
    if item.state is not MediaState.READY:
        raise Problem(
            409, f"media item {item.id} is {item.state.value}, not ready: wait for its analysis"
        )
    item_id = await executor.insert(item, body.at)
    await record(request, scope, "playout.queue", str(item.id), item_id=item_id)
    return QueueOut(
        item_id=item_id,
        media_id=item.id,
        title=item.title or "",
        start_at=body.at,
        timing="hard" if body.at is not None else "soft",
    )
