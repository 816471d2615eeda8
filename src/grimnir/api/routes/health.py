"""Probes for load balancers and orchestrators (Kubernetes, systemd, HAProxy).

``/healthz``: the process answers (its event loop runs). ``/readyz``: it can do
its work now: the database answers, the event bus is connected, and every
station on air in this process has its engine up. Not ready is ``503`` with
``Retry-After`` and the part that failed, in words; both are never cached.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Final, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from grimnir.api.auth import PublicDep, context
from grimnir.api.context import ApiContext
from grimnir.services import public
from grimnir.store import is_unreachable

log = logging.getLogger("grimnir.api")

router = APIRouter(tags=["health"])
root_router = APIRouter(tags=["health"])

DATABASE_TIMEOUT_S: Final = 2.0
"""A database slower than this to list the stations is not ready."""
_NO_STORE: Final = {"Cache-Control": "no-store"}


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: str = Field(default="", description="What is wrong, when something is.")


class Readiness(BaseModel):
    ready: bool
    database: Check
    bus: Check
    stations: dict[str, Check] = Field(
        description="The stations on air in this process, by short name: their engine is up."
    )


@root_router.get("/healthz", response_model=Health, dependencies=[Depends(PublicDep)])
async def healthz() -> JSONResponse:
    """The process is alive and answers (liveness)."""
    return JSONResponse(Health().model_dump(), headers=_NO_STORE)


@root_router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the body says why."}},
    dependencies=[Depends(PublicDep)],
)
async def readyz(request: Request) -> JSONResponse:
    """Database, bus and the engines of the stations on air here (readiness)."""
    ctx = context(request)
    database, names = await _database(ctx)
    bus = Check(ok=ctx.bus.connected)
    if not bus.ok:
        bus.detail = "the event bus is not connected (it reconnects by itself)"
    stations: dict[str, Check] = {}
    for station_id, name in names:
        executor = ctx.on_air.executor(station_id)
        if executor is None:
            continue  # not on air in this process
        up = executor.engine_up
        stations[name] = Check(ok=up, detail="" if up else "its engine is down (restarting)")
    ready = database.ok and bus.ok and all(c.ok for c in stations.values())
    body = Readiness(ready=ready, database=database, bus=bus, stations=stations)
    headers = dict(_NO_STORE) if ready else {**_NO_STORE, "Retry-After": "5"}
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503, headers=headers)


async def _database(ctx: ApiContext) -> tuple[Check, list[tuple[uuid.UUID, str]]]:
    """Whether the database lists the stations in time, and the list."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S), ctx.sessions() as session:
            names = await public.station_names(session)
    except TimeoutError:
        return Check(
            ok=False, detail=f"the database did not answer in {DATABASE_TIMEOUT_S:g} s"
        ), []
    except Exception as exc:
        if not is_unreachable(exc):
            log.warning("readiness: the database check failed", exc_info=True)
        return Check(ok=False, detail=f"the database is unreachable ({type(exc).__name__})"), []
    return Check(ok=True), list(names)
