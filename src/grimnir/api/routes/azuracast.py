"""AzuraCast's public routes beyond now playing, so its players, widgets and
apps work against Grimnir: station listings, the schedule, pictures, playlist
files, the public player page and the live now-playing feed (SSE).

``/api/nowplaying``, ``/api/nowplaying/{station}`` and
``/api/nowplaying_static/{station}.json`` are in :mod:`.public` (the polled hot
path). Shapes follow AzuraCast's OpenAPI document; the suite checks them against
it (tests/api/azuracast/openapi-subset.json).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, TypeAdapter

from grimnir.api._nowplaying import now_playing
from grimnir.api._urls import request_base, with_base
from grimnir.api.auth import context, limit_public
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem
from grimnir.api.routes import _public_art as art
from grimnir.api.routes import _public_playlists as playlists
from grimnir.api.routes._public_azuracast import (
    AzStation,
    PublicUrls,
    az_station,
    azuracast,
    public_base,
    short_id,
)
from grimnir.api.routes._public_cache import Answer
from grimnir.api.routes._public_sse import NowPlayingFeed, NowPlayingHub, channels, connect_message
from grimnir.api.routes.public import (
    StationPath,
    _cache,
    _enabled_stations,
    _json,
    _station,
    azuracast_nowplaying,
)
from grimnir.api.routes.ui import PAGE_HEADERS, asset
from grimnir.planner.shows import schedule as show_schedule
from grimnir.services import public
from grimnir.services.schedule import enabled_shows, station_zone
from grimnir.store.models import ShowContent, Station

router = APIRouter()
"""Nothing under /api/v1: AzuraCast's routes live at the root."""
root_router = APIRouter(tags=["azuracast"], dependencies=[Depends(limit_public)])

_STATIONS = TypeAdapter(list[AzStation])
SCHEDULE_AHEAD = timedelta(days=7)


def _here(request: Request, url: str) -> str:
    """``url`` with the caller's base (headers are not rewritten like bodies are)."""
    return with_base(url.encode(), request_base(request, context(request).settings)).decode()


def _hub(request: Request) -> NowPlayingHub:
    hub: NowPlayingHub = request.app.state.np_hub
    return hub


async def _current_np(request: Request, station: str) -> dict[str, Any]:
    """The station's AzuraCast now playing, as ``/api/nowplaying/{station}`` answers
    (cached, and from memory while the database is away)."""
    answer = await azuracast_nowplaying(request, station)
    body: dict[str, Any] = json.loads(bytes(answer.body))
    return body


@root_router.get("/api/stations", response_model=list[AzStation])
async def azuracast_stations(request: Request) -> Response:
    """Every public station (AzuraCast's ``Api_NowPlaying_Station``)."""
    ctx = context(request)

    async def compute() -> Answer:
        out = [az_station(await now_playing(ctx, s)) for s in await _enabled_stations(ctx)]
        return Answer(_STATIONS.dump_json(out), None)

    return _json(await _cache(request).get(("az-stations",), compute))


@root_router.get("/api/station/{station}", response_model=AzStation)
async def azuracast_station(request: Request, station: StationPath) -> Response:
    """One public station (short name, id or AzuraCast number)."""
    np = await _current_np(request, station)
    return Response(json.dumps(np["station"]), media_type="application/json")


class AzScheduleItem(BaseModel):
    """AzuraCast's ``Api_StationSchedule``."""

    id: int
    type: str
    name: str
    title: str
    description: str
    start_timestamp: int
    start: str
    end_timestamp: int
    end: str
    is_now: bool


_SCHEDULE = TypeAdapter(list[AzScheduleItem])


@root_router.get("/api/station/{station}/schedule", response_model=list[AzScheduleItem])
async def azuracast_schedule(
    request: Request,
    station: StationPath,
    now: Annotated[
        datetime | None, Query(description="Compare the shows to this time (default: now).")
    ] = None,
    rows: Annotated[int, Query(ge=1, le=100, description="How many shows.")] = 5,
) -> Response:
    """Shows on now and coming up (at most ``rows``, within 7 days), AzuraCast's shape.

    A live show is of type ``streamer``, every other ``playlist`` (AzuraCast knows
    only those two)."""
    ctx = context(request)
    row = await _station(ctx, station)
    at = datetime.now(UTC) if now is None else now
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    tz = station_zone(row.timezone)
    async with ctx.sessions() as session:
        shows = await enabled_shows(session, row.id)
    found = show_schedule([(s, s.exceptions) for s in shows], tz, at, at + SCHEDULE_AHEAD)
    items = []
    for o in sorted(found.occurrences, key=lambda o: o.start)[:rows]:
        kind = "streamer" if o.content.kind is ShowContent.LIVE else "playlist"
        start, end = o.start.astimezone(tz), o.end.astimezone(tz)
        items.append(
            AzScheduleItem(
                id=short_id(o.show_id),
                type=kind,
                name=o.name,
                title=o.name,
                description=f"{'Streamer' if kind == 'streamer' else 'Playlist'}: {o.name}",
                start_timestamp=int(start.timestamp()),
                start=start.isoformat(),
                end_timestamp=int(end.timestamp()),
                end=end.isoformat(),
                is_now=o.start <= at < o.end,
            )
        )
    return Response(
        _SCHEDULE.dump_json(items),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=60"},
    )


# -- pictures --------------------------------------------------------------------------------


@root_router.get(
    "/api/station/{station}/art",
    response_class=Response,
    responses={
        200: {
            "content": {art.SVG: {}, art.PNG: {}},
            "description": "The station's picture: SVG for callers that accept it, else PNG.",
        }
    },
)
async def station_art(request: Request, station: StationPath) -> Response:
    """The station's picture: its initials on its colour (SVG), or a PNG of its
    colour for callers that do not take SVG."""
    row = await _station(context(request), station)
    if art.wants_svg(request):
        body, kind = art.station_svg(row.name, row.short_name), art.SVG
    else:
        body = await asyncio.to_thread(art.station_png, row.short_name)
        kind = art.PNG
    return art.picture(request, body, kind, vary="Accept")


MediaPath = Annotated[
    str, Path(min_length=1, max_length=80, description="The media item's id (.jpg optional).")
]


@root_router.get(
    "/api/station/{station}/art/{media_id}",
    response_class=Response,
    responses={
        200: {"content": {art.JPEG: {}}, "description": "The track's cover."},
        302: {"description": "No cover: the station's picture."},
    },
)
async def media_art(request: Request, station: StationPath, media_id: MediaPath) -> Response:
    """A track's cover (from its media file), else a redirect to the station's picture."""
    ctx = context(request)
    row = await _station(ctx, station)
    fallback = _here(request, PublicUrls(public_base(row), row.short_name).station_art)
    try:
        wanted = uuid.UUID(media_id.removesuffix(".jpg"))
    except ValueError:
        return RedirectResponse(fallback, status_code=302)
    async with ctx.sessions() as session:
        stored = await public.artwork_path(session, row.id, wanted)
    body = await asyncio.to_thread(_read_picture, stored)
    if body is None:
        return RedirectResponse(fallback, status_code=302)
    return art.picture(request, body, art.JPEG)


def _read_picture(stored: str | None) -> bytes | None:
    """The library's thumbnail at ``stored`` (an absolute path), ``None`` if unreadable."""
    if not stored or not FilePath(stored).is_absolute():
        # NOTE: a cover kept in a media storage (a key, not a path) is not served yet
        return None
    try:
        return FilePath(stored).read_bytes()
    except OSError:
        return None


@root_router.get(
    "/api/nowplaying/{station}/art",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the current song's picture."}},
)
async def nowplaying_art(request: Request, station: StationPath) -> RedirectResponse:
    """Always redirects to the picture of what plays now (its cover or the station's)."""
    np = await _current_np(request, station)
    return RedirectResponse(
        _here(request, str(np["now_playing"]["song"]["art"])),
        status_code=302,
        headers={"Cache-Control": "public, max-age=5"},
    )


# -- playlist files --------------------------------------------------------------------------


async def _stream_urls(request: Request, station: str) -> tuple[str, list[str]]:
    np = await _current_np(request, station)
    name = str(np["station"]["name"])
    urls = [str(m["url"]) for m in np["station"]["mounts"] if m["url"]]
    if not urls:
        raise Problem(404, f"{station!r} has no stream a listener can open from here")
    return name, urls


def _playlist(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=60",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


@root_router.get(
    "/public/{station}/playlist.pls",
    response_class=Response,
    responses={200: {"content": {playlists.PLS: {}}, "description": "PLS playlist."}},
)
async def playlist_pls(request: Request, station: StationPath) -> Response:
    """The station's streams as a PLS file (for players that open one)."""
    name, urls = await _stream_urls(request, station)
    return _playlist(playlists.pls(name, urls), playlists.PLS, "playlist.pls")


@root_router.get(
    "/public/{station}/playlist.m3u",
    response_class=Response,
    responses={200: {"content": {playlists.M3U: {}}, "description": "M3U playlist."}},
)
async def playlist_m3u(request: Request, station: StationPath) -> Response:
    """The station's streams as an extended M3U file."""
    name, urls = await _stream_urls(request, station)
    return _playlist(playlists.m3u(name, urls), playlists.M3U, "playlist.m3u")


PLAYER_HEADERS = {
    **PAGE_HEADERS,
    # NOTE: streams may come from another server (Icecast), pictures from the
    # station's own public URL
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; media-src 'self' http: https:; "
        "img-src 'self' http: https: data:; frame-ancestors *; base-uri 'none'; "
        "form-action 'none'"
    ),
}


@root_router.get("/public/{station}", include_in_schema=False)
async def public_player(request: Request, station: StationPath) -> Response:
    """The station's public player: its stream and what plays (AzuraCast's address)."""
    await _station(context(request), station)
    data, tag = asset("player.html")
    headers = {**PLAYER_HEADERS, "ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="text/html; charset=utf-8", headers=headers)


# -- the live feed ---------------------------------------------------------------------------


@root_router.get(
    "/api/live/nowplaying/sse",
    response_class=NowPlayingFeed,
    status_code=200,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The feed."}},
)
async def nowplaying_sse(
    request: Request,
    cf_connect: Annotated[
        str | None,
        Query(
            max_length=4096,
            description='Channels as AzuraCast\'s page asks: {"subs": {"station:SHORTNAME": {}}}'
            " (default: every public station).",
        ),
    ] = None,
) -> NowPlayingFeed:
    """Now playing as it changes (AzuraCast's Centrifugo SSE messages)."""
    ctx = context(request)
    asked = channels(cf_connect)
    stations: list[Station | None] = []
    if asked is None:
        stations += await _enabled_stations(ctx)
    else:
        stations += [await _known(ctx, name) for name in asked]
    chosen = {str(s.id): s.short_name for s in stations if s is not None}
    if not chosen:
        raise Problem(404, "cf_connect names no public station: see GET /api/stations")

    async def render(station_id: str) -> bytes:
        async with ctx.sessions() as session:
            row = await public.station(session, uuid.UUID(station_id))
        if row is None:
            raise LookupError(station_id)
        return azuracast(await now_playing(ctx, row)).model_dump_json().encode()

    hub = _hub(request)
    reader = hub.join(chosen, ctx.bus, render)
    try:
        first = connect_message({name: await render(sid) for sid, name in chosen.items()})
    except BaseException:
        hub.leave(reader)
        raise
    return NowPlayingFeed(hub, reader, first, request_base(request, ctx.settings))


async def _known(ctx: ApiContext, name: str) -> Station | None:
    try:
        return await _station(ctx, name)
    except Problem:
        return None


def install(app: FastAPI, ctx: ApiContext) -> None:
    """The hub of the live now-playing feed."""
    app.state.np_hub = NowPlayingHub()
