"""Emergency alerts: CAP pushed in, alerts a manager originates, the compliance log out.

``POST …/alerts/cap`` takes a CAP 1.2 document from a manager (API key or
token) or from an alerting system holding the station's ``eas.cap_secret``,
which signs like our harbor callback: ``X-Grimnir-Timestamp`` (Unix seconds)
and ``X-Grimnir-Signature`` = hex HMAC-SHA256 of ``"<timestamp>." + body``;
a timestamp more than five minutes off, or a signature already used, is
refused (no replays). Bodies over 1 MiB get 413 before anything is parsed.
The log has no delete route at all.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from grimnir.api.auth import (
    Level,
    ManagerDep,
    Principal,
    StationAccess,
    StationScope,
    context,
)
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import Problem
from grimnir.api.routes._playout_common import record
from grimnir.domain import NotFoundError, Role
from grimnir.eas import EasError
from grimnir.services import alerts, alerts_log, alerts_sources
from grimnir.services.alerts_same import originated_alert
from grimnir.services.stations import get_station

router = APIRouter(tags=["alerts"])

BASE = "/stations/{station}/alerts"
SIGNATURE_HEADER: Final = "X-Grimnir-Signature"
TIMESTAMP_HEADER: Final = "X-Grimnir-Timestamp"
MAX_SKEW_S: Final = 300
"""A signed push must be this fresh (seconds either way)."""
_seen: dict[str, float] = {}
"""Signatures used in the last ``2 × MAX_SKEW_S`` (a replay is refused)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature an alerting system sends with a CAP push."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_signature(request: Request, secret: str | None, body: bytes, given: str) -> None:
    if not secret:
        raise Problem(
            401,
            f"{SIGNATURE_HEADER} sent, but the station has no eas.cap_secret: set one in the "
            "station config, or sign in with an API key of a manager",
        )
    try:
        stamp = int(request.headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        raise Problem(
            401, f"send {TIMESTAMP_HEADER}: the Unix time in seconds the signature was made"
        ) from None
    now = time.time()
    if abs(now - stamp) > MAX_SKEW_S:
        raise Problem(
            401,
            f"{TIMESTAMP_HEADER} is {int(now - stamp)} s off this server's clock (at most "
            f"{MAX_SKEW_S} s): sign with the current time (check the sender's clock)",
        )
    expected = sign(secret, stamp, body)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise Problem(
            401,
            f"wrong {SIGNATURE_HEADER}: send hex HMAC-SHA256 of '<timestamp>.<body>' "
            "made with the station's eas.cap_secret",
        )
    for old in [k for k, at in _seen.items() if now - at > 2 * MAX_SKEW_S]:
        del _seen[old]
    if expected in _seen:
        raise Problem(401, "this signed request was already received: a replay is refused")
    _seen[expected] = now


class CapAccess(StationAccess):
    """A manager of the station, or a CAP push signed with the station's cap_secret."""

    def __init__(self) -> None:
        super().__init__(Level.MANAGER)

    async def __call__(
        self,
        request: Request,
        station: Annotated[
            str, Path(min_length=1, max_length=64, description="The station's id or short name.")
        ],
    ) -> StationScope:
        given = request.headers.get(SIGNATURE_HEADER)
        if given is None:
            return await super().__call__(request, station)
        async with context(request).sessions() as session:
            try:
                row = await get_station(session, station)
            except NotFoundError:
                raise Problem(404, f"no station {station!r}") from None
        raw = dict(row.config or {}).get("eas") or {}
        secret = raw.get("cap_secret") if isinstance(raw, dict) else None
        _check_signature(request, secret, await request.body(), given)
        principal = Principal(uuid.UUID(int=0), "cap-signature", False, {row.id: Role.MANAGER})
        request.state.principal = principal
        return StationScope(principal, row, Role.MANAGER)

    def __repr__(self) -> str:
        return "CapAccess(MANAGER or signature)"


CapDep = CapAccess()


class ReceivedOut(BaseModel):
    alert_id: uuid.UUID
    decision: str = Field(description="relay, filter, duplicate, cancel or rejected.")
    reason: str
    same_header: str | None
    airing_id: uuid.UUID | None
    latency_frames: int | None = Field(
        description="Engine frames (48 kHz) from the command to the first sample on air."
    )


class OriginateIn(BaseModel):
    event: str = Field(
        default="CEM", pattern=r"^[A-Z]{3}$", description="SAME event code, e.g. CEM, EVI, SPW."
    )
    locations: list[str] = Field(
        default_factory=list,
        max_length=31,
        description="SAME PSSCCC codes; empty: the station's eas.same_locations.",
    )
    minutes: int = Field(default=60, ge=1, le=99 * 60, description="How long the alert holds.")
    text: str = Field(default="", max_length=4000, description="What is read on air.")
    language: Literal["en", "fr"] = "en"
    test: bool = Field(default=False, description="Send the Required Weekly Test (RWT).")


class AiringOut(BaseModel):
    id: uuid.UUID
    started_at: str
    ended_at: str | None
    ended_how: str | None
    latency_frames: int | None
    outputs: list[dict[str, Any]]


class AlertOut(BaseModel):
    id: uuid.UUID
    received_at: str
    source: str
    identifier: str | None
    sender: str | None
    sent: str | None
    msg_type: str | None
    event: str | None
    same_header: str | None
    decision: str
    reason: str
    expires: str | None
    airings: list[AiringOut]
    original: str | None = Field(default=None, description="The message as received.")


def _alert_context(request: Request) -> alerts.AlertContext:
    ctx = context(request)
    return alerts.AlertContext(
        sessions=ctx.sessions,
        bus=ctx.bus,
        data_dir=ctx.settings.data_dir,
        executor=ctx.on_air.executor,
    )


def _out(result: alerts.ReceiveResult) -> ReceivedOut:
    return ReceivedOut(
        alert_id=result.alert_id,
        decision=result.decision,
        reason=result.reason,
        same_header=result.same_header,
        airing_id=result.airing_id,
        latency_frames=result.latency_frames,
    )


@router.post(f"{BASE}/cap", response_model=ReceivedOut)
async def push_cap(
    request: Request, scope: Annotated[StationScope, Depends(CapDep)]
) -> ReceivedOut | JSONResponse:
    """Receive one CAP 1.2 / CAP-CP alert: logged, decided, aired when it is for us."""
    body = await request.body()
    if not body.strip():
        raise Problem(422, "send the CAP 1.2 XML document as the request body")
    try:
        result = await alerts.receive(_alert_context(request), scope.station, body, "cap-push")
    except alerts.AlertsDisabled as error:
        raise Problem(409, str(error)) from None
    if result.decision == alerts.REJECTED:
        raise Problem(422, f"{result.reason} (logged as alert {result.alert_id}): fix the document")
    return _out(result)


@router.post(BASE, response_model=ReceivedOut, status_code=201)
async def originate(
    body: OriginateIn, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ReceivedOut:
    """Originate an alert on this station (or its weekly test) and air it now."""
    try:
        config = alerts.eas_config(scope.station)
    except alerts.AlertsDisabled as error:
        raise Problem(409, str(error)) from None
    locations = body.locations or list(config.same_locations)
    if not locations:
        raise Problem(422, "give locations (SAME PSSCCC codes) or set eas.same_locations")
    text = body.text or (
        "This is a test of the Emergency Alert System. This is only a test." if body.test else ""
    )
    if not text:
        raise Problem(422, "give the text to read on air")
    try:
        alert = originated_alert(
            station=scope.station.short_name,
            event="RWT" if body.test else body.event,
            locations=locations,
            minutes=15 if body.test else body.minutes,
            text=text,
            language=body.language,
            by=scope.principal.username,
            test=body.test,
        )
        result = await alerts.receive(
            _alert_context(request), scope.station, alert, "test" if body.test else "originated"
        )
    except EasError as error:
        raise Problem(422, f"{error}: fix the alert's fields") from None
    await record(
        request, scope, "alerts.originate", str(result.alert_id), event=alert.infos[0].event
    )
    return _out(result)


def _month(month: str | None) -> str | None:
    if month is not None:
        try:
            alerts_log.month_range(month)
        except ValueError as error:
            raise Problem(422, str(error)) from None
    return month


@router.get(BASE, response_model=Page[AlertOut])
async def list_alerts(
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
    page: Annotated[PageParams, Depends(page_params)],
    month: Annotated[str | None, Query(description="YYYY-MM (UTC).")] = None,
    decision: Annotated[str | None, Query(description="relay, filter, duplicate, …")] = None,
) -> Page[AlertOut]:
    """The compliance log, newest first."""
    if decision is not None and decision not in alerts_log.DECISIONS:
        raise Problem(422, f"decision: use one of {', '.join(alerts_log.DECISIONS)}")
    async with context(request).sessions() as session:
        items, total = await alerts_log.page(
            session,
            scope.station.id,
            month=_month(month),
            decision=decision,
            limit=page.limit,
            offset=page.offset,
        )
    return Page(
        items=[AlertOut.model_validate(alerts_log.as_dict(i)) for i in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def _month_entries(request: Request, scope: StationScope, month: str) -> list[Any]:
    _month(month)
    async with context(request).sessions() as session:
        return await alerts_log.month_entries(session, scope.station.id, month)


@router.get(f"{BASE}/export.csv", response_class=Response)
async def export_csv(
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
    month: Annotated[str, Query(description="YYYY-MM (UTC).")],
) -> Response:
    """The month's log as CSV (one row per alert and airing)."""
    items = await _month_entries(request, scope, month)
    name = f"alerts-{scope.station.short_name}-{month}.csv"
    return Response(
        alerts_log.as_csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(f"{BASE}/export.json")
async def export_json(
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
    month: Annotated[str, Query(description="YYYY-MM (UTC).")],
) -> JSONResponse:
    """The month's log as JSON, original messages included."""
    items = await _month_entries(request, scope, month)
    data = {
        "station": scope.station.short_name,
        "month": month,
        "alerts": [alerts_log.as_dict(i, original=True) for i in items],
    }
    return JSONResponse(data)


@router.get(f"{BASE}/log/{{month}}", response_class=HTMLResponse)
async def monthly_log(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)], month: str
) -> HTMLResponse:
    """The printable monthly log."""
    items = await _month_entries(request, scope, month)
    return HTMLResponse(alerts_log.as_html(scope.station, month, items))


class AlertSourceOut(BaseModel):
    kind: str = Field(description="feed, naad, same-monitor or rwt.")
    label: str
    running: bool
    last_ok: str | None
    last_error: str | None
    last_error_at: str | None
    consecutive_failures: int
    delivered: int
    rejected: int = Field(description="Bad input refused (malformed or invalid documents).")
    delivery_errors: int
    retry_in_s: float | None


class SourcesOut(BaseModel):
    active: bool = Field(
        description="Whether this process runs the station's sources (on air here, alerts on)."
    )
    sources: list[AlertSourceOut]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


@router.get(f"{BASE}/sources", response_model=SourcesOut)
async def list_sources(scope: Annotated[StationScope, Depends(ManagerDep)]) -> SourcesOut:
    """The alert sources the station's ``eas`` section runs here, and how each is doing."""
    found = alerts_sources.health(scope.station.id)
    return SourcesOut(
        active=found is not None,
        sources=[
            AlertSourceOut(
                kind=alerts_sources.kind_of(h.label),
                label=h.label,
                running=h.running,
                last_ok=_iso(h.last_ok),
                last_error=h.last_error,
                last_error_at=_iso(h.last_error_at),
                consecutive_failures=h.consecutive_failures,
                delivered=h.delivered,
                rejected=h.rejected,
                delivery_errors=h.delivery_errors,
                retry_in_s=h.retry_in_s,
            )
            for h in found or []
        ],
    )


@router.get(f"{BASE}/{{alert_id}}", response_model=AlertOut)
async def get_alert(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)], alert_id: uuid.UUID
) -> AlertOut:
    """One alert of the log, with the original message."""
    async with context(request).sessions() as session:
        try:
            item = await alerts_log.entry(session, scope.station.id, alert_id)
        except NotFoundError as error:
            raise Problem(404, f"{error}: see GET {BASE} for the log") from None
    return AlertOut.model_validate(alerts_log.as_dict(item, original=True))
