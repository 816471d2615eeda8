"""Public routes, no sign-in: stations, now playing, schedule (JSON and iCal),
AzuraCast-compatible ``/api/nowplaying``, and Prometheus ``/metrics``.

Answers are cached in process for at most 5 s and dropped as soon as the bus
reports a change on their station; responses carry ``Cache-Control: max-age``.
Any origin may read them (CORS). Requests are rate limited per address.

Now playing is what players poll: a cached answer is sent by
:class:`~grimnir.api.routes._public_cache.HotAnswers` without routing (same rate
limit, headers, CORS and metrics), so it costs a dict lookup, not a FastAPI call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import TypeAdapter
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from grimnir.api._nowplaying import NowPlaying, now_playing, recalled
from grimnir.api._urls import listen_urls
from grimnir.api.auth import PublicDep, client_address, context, limit_public
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem
from grimnir.api.routes import _public_ical as ical
from grimnir.api.routes._public_azuracast import AzNowPlaying, azuracast, short_id
from grimnir.api.routes._public_cache import (
    Answer,
    AnswerCache,
    HotAnswers,
    HotRoute,
    json_response,
)
from grimnir.api.routes._public_metrics import CONTENT_TYPE, ApiMetrics, MetricsMiddleware, render
from grimnir.api.routes._public_models import (
    NowPlayingOut,
    PublicStation,
    ScheduledItem,
    ScheduledShow,
    ScheduleOut,
    now_playing_out,
    public_station,
)
from grimnir.domain import NotFoundError
from grimnir.planner.shows import schedule as show_schedule
from grimnir.services import public
from grimnir.services.schedule import enabled_shows, station_zone
from grimnir.store.errors import is_unreachable
from grimnir.store.models import Station

router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(PublicDep)])
root_router = APIRouter(tags=["public"])

MAX_AGE_S = 5
NP, AZ, AZ_ALL = "np", "az", "az-all"
"""Cache key names of the now-playing answers (the station ref follows)."""
MAX_WINDOW = timedelta(days=31)
MAX_ITEMS = 1000
T = TypeVar("T")
MAX_REMEMBERED = 1000
"""Station refs whose last now-playing is kept for a database outage."""
PUBLIC_PATHS = ("/api/v1/public/", "/api/nowplaying", "/api/station", "/api/live/", "/public/")

StationPath = Annotated[
    str, Path(min_length=1, max_length=64, description="The station's id or short name.")
]
_STATIONS = TypeAdapter(list[PublicStation])
_AZ_ALL = TypeAdapter(list[AzNowPlaying])


def _cache(request: Request) -> AnswerCache:
    cache: AnswerCache = request.app.state.public_cache
    cache.watch(context(request).bus)
    return cache


def _json(answer: Answer, max_age: int = MAX_AGE_S) -> Response:
    return json_response(answer, max_age)


async def _station(ctx: ApiContext, ref: str) -> Station:
    """An enabled station by id, short name or AzuraCast number; 404 otherwise."""
    async with ctx.sessions() as session:
        row = await public.station_by_ref(session, ref, short_id)
    if row is None or not row.enabled:
        raise Problem(404, f"no public station {ref!r}: see GET /api/v1/public/stations")
    return row


async def _cached_station_answer(
    request: Request,
    key: tuple[str, ...],
    ref: str,
    build: Callable[[ApiContext, Station], Awaitable[bytes]],
) -> Answer:
    ctx = context(request)

    async def compute() -> Answer:
        station = await _station(ctx, ref)
        return Answer(await build(ctx, station), str(station.id))

    return await _cache(request).get((*key, ref), compute)


async def _enabled_stations(ctx: ApiContext) -> list[Station]:
    async with ctx.sessions() as session:
        return await public.enabled_stations(session)


@dataclass
class _Memory:
    """What the public routes read last, per station ref, to answer from while the
    database cannot be read (at most ``MAX_REMEMBERED`` refs each)."""

    now_playing: dict[str, NowPlaying] = field(default_factory=dict)
    schedules: dict[str, ScheduleOut] = field(default_factory=dict)
    stations: Answer | None = None


def _memory(request: Request) -> _Memory:
    memory: _Memory = request.app.state.public_memory
    return memory


def _keep(memory: dict[str, T], ref: str, value: T) -> None:
    if len(memory) < MAX_REMEMBERED or ref in memory:
        memory[ref] = value


@router.get("/stations", response_model=list[PublicStation])
async def list_public_stations(request: Request) -> Response:
    """Every enabled station with its stream URLs."""
    ctx = context(request)

    memory = _memory(request)

    async def compute() -> Answer:
        stations = await _enabled_stations(ctx)
        out = [public_station(s, listen_urls(ctx, s)) for s in stations]
        memory.stations = Answer(_STATIONS.dump_json(out), None)
        return memory.stations

    try:
        return _json(await _cache(request).get(("stations",), compute))
    except Exception as exc:
        if memory.stations is None or not is_unreachable(exc):
            raise
    return _json(memory.stations, max_age=1)  # NOTE: the database is down: the last list read


async def _now_playing_answer(
    request: Request, kind: str, ref: str, render: Callable[[NowPlaying], bytes]
) -> Response:
    """A now-playing answer (ours or AzuraCast's shape). With the database unreachable
    it comes from memory (the last one read, moved along its plan) rather than 503:
    players keep showing what plays."""
    memory = _memory(request).now_playing

    async def body(ctx: ApiContext, row: Station) -> bytes:
        fresh = await now_playing(ctx, row)
        _keep(memory, ref, fresh)
        return render(fresh)

    try:
        return _json(await _cached_station_answer(request, (kind,), ref, body))
    except Exception as exc:
        last = memory.get(ref)
        if last is None or not is_unreachable(exc):
            raise
    out = render(recalled(last, context(request)))
    return _json(Answer(out, str(last.station.id)), max_age=1)


@router.get("/stations/{station}/now-playing", response_model=NowPlayingOut)
async def public_now_playing(request: Request, station: StationPath) -> Response:
    """What plays now (with elapsed time), what comes next, what just played."""
    return await _now_playing_answer(
        request, NP, station, lambda np: now_playing_out(np).model_dump_json().encode()
    )


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _window(
    start: datetime | None, end: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    """The UTC window asked for (naive times are UTC); 422 when it makes no sense."""
    try:
        lo = datetime.now(UTC) if start is None else _as_utc(start)
        hi = lo + default if end is None else _as_utc(end)
    except (OverflowError, ValueError):
        raise Problem(422, "from/to: give times between 2000 and 2100") from None
    if not (EARLIEST <= lo <= LATEST and EARLIEST <= hi <= LATEST):
        raise Problem(422, "from/to: give times between 2000 and 2100")
    if hi <= lo:
        raise Problem(422, "'to' must be after 'from'")
    if hi - lo > MAX_WINDOW:
        raise Problem(422, "the window is too long: ask for at most 31 days at a time")
    return lo, hi


def _as_utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _given(at: datetime | None) -> str:
    return "" if at is None else _as_utc(at).isoformat()


async def _schedule(ctx: ApiContext, station: Station, lo: datetime, hi: datetime) -> ScheduleOut:
    tz = station_zone(station.timezone)
    async with ctx.sessions() as session:
        shows = await enabled_shows(session, station.id)
        entries = await public.timeline_window(session, station.id, lo, hi, MAX_ITEMS)
        items = [
            ScheduledItem(
                id=e.id,
                kind=e.kind.value,
                title=e.title or "",
                artist=e.artist or "",
                start=e.starts_at,
                end=e.ends_at,
            )
            for e in entries
        ]
    described = {s.id: s.description for s in shows}
    occurrences = show_schedule([(s, s.exceptions) for s in shows], tz, lo, hi).occurrences
    return ScheduleOut(
        station=public_station(station, listen_urls(ctx, station)),
        start=lo,
        end=hi,
        shows=[
            ScheduledShow(
                id=o.show_id,
                name=o.name,
                description=described.get(o.show_id, ""),
                start=o.start,
                end=o.end,
            )
            for o in occurrences
        ],
        items=items,
    )


FromQuery = Annotated[
    datetime | None, Query(alias="from", description="Window start (default: now).")
]
ToQuery = Annotated[datetime | None, Query(alias="to", description="Window end (default: +24 h).")]
ToCalendarQuery = Annotated[
    datetime | None, Query(alias="to", description="Window end (default: +7 days).")
]


@router.get("/stations/{station}/schedule", response_model=ScheduleOut)
async def public_schedule(
    request: Request, station: StationPath, start: FromQuery = None, end: ToQuery = None
) -> Response:
    """Shows and timeline entries between ``from`` and ``to`` (at most 31 days)."""
    lo, hi = _window(start, end, timedelta(days=1))

    memory = _memory(request).schedules

    async def build(ctx: ApiContext, row: Station) -> bytes:
        body = await _schedule(ctx, row, lo, hi)
        known = memory.get(station)
        if known is None or body.end >= known.end:
            _keep(memory, station, body)
        return body.model_dump_json(by_alias=True).encode()

    key = ("schedule", _given(start), _given(end))
    try:
        return _json(await _cached_station_answer(request, key, station, build), max_age=60)
    except Exception as exc:
        known = memory.get(station)
        if known is None or not is_unreachable(exc) or not known.start <= lo < known.end:
            raise
    # NOTE: from memory, the database being down: what was planned, within what was read
    # (``end`` says how far that goes)
    until = min(hi, known.end)
    part = known.model_copy(
        update={
            "start": lo,
            "end": until,
            "shows": [s for s in known.shows if s.end > lo and s.start < until],
            "items": [i for i in known.items if i.end > lo and i.start < until],
        }
    )
    return _json(Answer(part.model_dump_json(by_alias=True).encode(), None), max_age=5)


class _Calendar(Response):
    media_type = "text/calendar"


@router.get(
    "/stations/{station}/schedule.ics",
    response_class=_Calendar,
    responses={200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar."}},
)
async def public_schedule_ics(
    request: Request,
    station: StationPath,
    start: FromQuery = None,
    end: ToCalendarQuery = None,
    items: Annotated[bool, Query(description="Also list every timeline item.")] = False,
) -> Response:
    """The schedule as an iCalendar feed (shows; with ``items=true`` every item too)."""
    lo, hi = _window(start, end, timedelta(days=7))

    async def build(ctx: ApiContext, row: Station) -> bytes:
        plan = await _schedule(ctx, row, lo, hi)
        events = [
            ical.CalendarEvent(
                uid=f"{s.id}-{int(s.start.timestamp())}@{row.short_name}.grimnir",
                start=s.start,
                end=s.end,
                summary=s.name,
                description=s.description,
                categories="show",
            )
            for s in plan.shows
        ]
        if items:
            events += [
                ical.CalendarEvent(
                    uid=f"{i.id}@{row.short_name}.grimnir",
                    start=i.start,
                    end=i.end,
                    summary=f"{i.artist} - {i.title}" if i.artist else (i.title or i.kind),
                    categories=i.kind,
                )
                for i in plan.items
            ]
        text = ical.calendar(row.name, row.timezone, events, now=datetime.now(UTC))
        return text.encode("utf-8")

    key = ("ics", _given(start), _given(end), str(items))
    answer = await _cached_station_answer(request, key, station, build)
    return Response(
        answer.body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "Content-Disposition": f'inline; filename="{_filename(station)}.ics"',
        },
    )


def _filename(ref: str) -> str:
    return "".join(ch for ch in ref if ch.isascii() and (ch.isalnum() or ch in "-_")) or "schedule"


# -- AzuraCast compatibility and metrics, at the root ----------------------------------------


@root_router.get(
    "/api/nowplaying",
    response_model=list[AzNowPlaying],
    dependencies=[Depends(limit_public)],
)
async def azuracast_nowplaying_all(request: Request) -> Response:
    """AzuraCast-compatible now playing of every public station."""
    ctx = context(request)

    async def compute() -> Answer:
        out = [azuracast(await now_playing(ctx, s)) for s in await _enabled_stations(ctx)]
        return Answer(_AZ_ALL.dump_json(out), None)

    return _json(await _cache(request).get((AZ_ALL,), compute))


@root_router.get(
    "/api/nowplaying/{station}",
    response_model=AzNowPlaying,
    dependencies=[Depends(limit_public)],
)
@root_router.get(
    "/api/nowplaying_static/{station}.json",
    response_model=AzNowPlaying,
    dependencies=[Depends(limit_public)],
)
async def azuracast_nowplaying(request: Request, station: StationPath) -> Response:
    """AzuraCast-compatible now playing of one station (short name, id or number);
    ``/api/nowplaying_static/{station}.json`` is the same answer."""
    return await _now_playing_answer(
        request, AZ, station, lambda np: azuracast(np).model_dump_json().encode()
    )


@root_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process."""
    ctx = context(request)
    if not ctx.settings.metrics:
        raise NotFoundError("metrics are turned off on this server (GRIMNIR_METRICS=false)")
    body = await render(ctx, request.app.state.api_metrics)
    return Response(body, media_type=CONTENT_TYPE)


class PublicCors:
    """CORS for the public routes only (the authenticated API stays same-origin)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.plain = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["*"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")) if scope["type"] == "http" else ""
        target = self.cors if path.startswith(PUBLIC_PATHS) else self.plain
        await target(scope, receive, send)


def _public_wait(request: Request) -> float | None:
    """What :func:`limit_public` checks: seconds this caller must wait, ``None`` if allowed."""
    return context(request).limits.public.hit(client_address(request))


HOT_ROUTES = [
    HotRoute(
        re.compile(r"/api/v1/public/stations/([^/]+)/now-playing"),
        NP,
        "/api/v1/public/stations/{station}/now-playing",
        MAX_AGE_S,
    ),
    HotRoute(re.compile(r"/api/nowplaying/([^/]+)"), AZ, "/api/nowplaying/{station}", MAX_AGE_S),
    HotRoute(
        re.compile(r"/api/nowplaying_static/([^/]+)\.json"),
        AZ,
        "/api/nowplaying_static/{station}.json",
        MAX_AGE_S,
    ),
    HotRoute(re.compile(r"/api/nowplaying"), AZ_ALL, "/api/nowplaying", MAX_AGE_S),
]
"""The polled routes answered from the cache without routing (path patterns and
cache keys as the routes above make them)."""


def install(app: FastAPI, ctx: ApiContext) -> None:
    """Answer cache (and its hot path), CORS on the public routes, request metrics."""
    app.state.public_cache = cache = AnswerCache()
    app.state.public_memory = _Memory()
    app.state.api_metrics = api_metrics = ApiMetrics()
    # NOTE: added first, so it runs inside CORS and metrics: hot answers get both.
    app.add_middleware(HotAnswers, cache=cache, routes=HOT_ROUTES, limit=_public_wait)
    app.add_middleware(PublicCors, origins=list(ctx.cors_origins))
    if ctx.settings.metrics:
        app.add_middleware(MetricsMiddleware, metrics=api_metrics, ctx=ctx)
