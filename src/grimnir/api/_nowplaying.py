"""What a station plays now, next and just played, for the public routes.

"Now" is the as-run log's open row (the executor writes it from the engine's
``item.started``, so it is what listeners hear), next comes from the timeline,
listeners from the engine's status when the station is on air in this process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from grimnir.api._urls import listen_urls
from grimnir.api.context import ApiContext
from grimnir.domain import EntryKind
from grimnir.domain.urls import ICECAST_DEFAULT_PORT
from grimnir.engine.client import AudienceCounts
from grimnir.services import public
from grimnir.store.models import (
    AsRun,
    Output,
    Station,
    TimelineEntry,
)

log = logging.getLogger("grimnir.api")

NEXT_COUNT = 5
HISTORY_COUNT = 5
STATUS_TIMEOUT_S = 0.5
STALE_AFTER = timedelta(minutes=1)
"""An open as-run row this long past its planned end is not trusted as "now"."""


@dataclass(frozen=True, slots=True)
class Track:
    """One item as listeners see it."""

    id: str
    title: str
    artist: str
    album: str
    started_at: datetime
    duration_ms: int | None
    media_id: uuid.UUID | None = None
    layer: str = "automation"
    kind: str = "track"


@dataclass(frozen=True, slots=True)
class OutputInfo:
    """One output of a mount as listeners may reach it."""

    kind: str
    """``http`` (our listener server), ``icecast``, ``hls``, ``recording``…"""
    format: str
    bitrate_kbps: int | None
    path: str = ""
    """The mount path listeners open (``/wgmr.mp3``); empty when there is none."""
    url: str = ""
    """Where listeners open it, when the output itself says (Icecast); else empty."""
    listeners: int | None = None
    """Its own listeners now (our server's or Icecast's count); ``None`` when unknown."""


@dataclass(frozen=True, slots=True)
class MountInfo:
    key: str
    name: str
    format: str
    bitrate_kbps: int | None
    listeners: int | None
    """All its listeners: our server's, Icecast's and HLS players."""
    outputs: tuple[OutputInfo, ...] = ()
    hls_listeners: int = 0


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """A station's public now-playing picture at ``at``."""

    station: Station
    at: datetime
    current: Track | None
    next: list[Track]
    history: list[Track]
    listeners: int | None
    """All mounts together; ``None`` when unknown (not on air in this process)."""
    mounts: list[MountInfo] = field(default_factory=list)
    listen_urls: list[str] = field(default_factory=list)
    is_live: bool = False
    streamer: str = ""
    is_online: bool = False
    artwork: frozenset[uuid.UUID] = frozenset()
    """Media items among current, next and history that have artwork."""

    def elapsed_ms(self) -> int:
        if self.current is None:
            return 0
        return max(0, int((self.at - self.current.started_at) / timedelta(milliseconds=1)))


def _aired(row: AsRun, durations: dict[uuid.UUID, int]) -> Track:
    duration = durations.get(row.id)
    if duration is None and row.ended_at is not None:
        duration = int((row.ended_at - row.started_at) / timedelta(milliseconds=1))
    return Track(
        id=str(row.id),
        title=row.title or "",
        artist=row.artist or "",
        album=row.album or "",
        started_at=row.started_at,
        duration_ms=duration,
        media_id=row.media_id,
        layer=row.layer,
        kind={"live": "live", "emergency": "alert"}.get(row.layer, "track"),
    )


def _planned(entry: TimelineEntry) -> Track:
    return Track(
        id=str(entry.id),
        title=entry.title or "",
        artist=entry.artist or "",
        album=str(entry.meta.get("album") or "") if isinstance(entry.meta, dict) else "",
        started_at=entry.starts_at,
        duration_ms=int((entry.ends_at - entry.starts_at) / timedelta(milliseconds=1)),
        media_id=entry.media_id,
        kind=entry.kind.value if isinstance(entry.kind, EntryKind) else str(entry.kind),
    )


def _output(out: Output, audience: AudienceCounts | None) -> OutputInfo:
    settings = out.settings if isinstance(out.settings, dict) else {}
    kind, path, url, key = out.kind.value, "", "", ""
    if kind == "http":
        path = key = str(settings.get("path") or "")
    elif kind == "icecast":
        # NOTE: the server listeners open, rebuilt without the source credentials; the
        # port the engine connects to (Icecast's 8000 when the config leaves it out)
        parts = urlsplit(str(settings.get("url") or ""))
        host = parts.hostname or ""
        if host:
            host = f"[{host}]" if ":" in host else host
            port = parts.port or ICECAST_DEFAULT_PORT
            path = parts.path
            key = f"{host}:{port}{path}"
            url = f"http://{key}"
    listeners = audience.outputs.get(key) if audience is not None and key else None
    return OutputInfo(kind, out.format.value, out.bitrate_kbps, path, url, listeners)


async def _audience(ctx: ApiContext, station_id: uuid.UUID) -> Mapping[str, AudienceCounts] | None:
    """Each mount's listener counts, by mount key; ``None`` when the engine is not
    running here or does not answer."""
    engine = ctx.on_air.engine(station_id)
    if engine is None:
        return None
    try:
        async with asyncio.timeout(STATUS_TIMEOUT_S):
            status = await engine.status()
    except Exception:  # the engine may be restarting: the page still answers
        log.debug("engine status of %s unavailable", station_id, exc_info=True)
        return None
    return status.audience


async def now_playing(ctx: ApiContext, station: Station) -> NowPlaying:
    """The station's now/next/history, read fresh (callers cache it)."""
    now = datetime.now(UTC)
    async with ctx.sessions() as session:
        open_row = await public.on_air_row(session, station.id)
        history_rows = await public.aired(session, station.id, HISTORY_COUNT)
        rows = history_rows + ([open_row] if open_row is not None else [])
        durations = await public.planned_lengths(session, rows)
        current = None if open_row is None else _aired(open_row, durations)
        if current is not None and current.duration_ms is not None:
            planned_end = current.started_at + timedelta(milliseconds=current.duration_ms)
            if now - planned_end > STALE_AFTER:
                current = None  # left open by a crash: the executor will close it
        after = current.started_at if current is not None else now
        entries = await public.upcoming(session, station.id, after, NEXT_COUNT)
        upcoming = [_planned(e) for e in entries]
        mounts = await public.mounts(session, station.id)
        tracks = [*upcoming, *([current] if current is not None else [])]
        media_ids = {r.media_id for r in rows if r.media_id is not None}
        media_ids |= {t.media_id for t in tracks if t.media_id is not None}
        artwork = await public.with_artwork(session, media_ids)
        dj = await public.dj_name(session, station.id)
    counts = await _audience(ctx, station.id)
    infos = []
    for m in mounts:
        audience = None if counts is None else counts.get(m.key)
        infos.append(
            MountInfo(
                key=m.key,
                name=m.name,
                format=m.outputs[0].format.value if m.outputs else "",
                bitrate_kbps=m.outputs[0].bitrate_kbps if m.outputs else None,
                listeners=None if counts is None else audience.total if audience else 0,
                outputs=tuple(_output(o, audience) for o in m.outputs),
                hls_listeners=audience.hls if audience else 0,
            )
        )
    executor = ctx.on_air.executor(station.id)
    if executor is not None and not executor.engine_up:
        # NOTE: the engine is down (crashed, restarting): nothing is on air, whatever
        # the as-run log's last open row says
        current = None
    is_live = current is not None and current.layer == "live"
    if executor is not None and executor.live_on_air:
        is_live = True
    return NowPlaying(
        station=station,
        at=now,
        current=current,
        next=upcoming,
        history=[_aired(r, durations) for r in history_rows],
        listeners=None if counts is None else sum(m.listeners or 0 for m in infos),
        mounts=infos,
        listen_urls=listen_urls(ctx, station),
        is_live=is_live,
        streamer=_streamer(dj, current) if is_live else "",
        is_online=executor.engine_up if executor is not None else current is not None,
        artwork=artwork,
    )


def _streamer(dj: str, current: Track | None) -> str:
    """Who is live: the connected DJ's name, else what the live item is called."""
    if dj:
        return dj
    return "" if current is None else (current.artist or current.title)


def recalled(last: NowPlaying, ctx: ApiContext, now: datetime | None = None) -> NowPlaying:
    """Now playing from memory while the database cannot be read: the last answer read
    fresh, moved along its plan (an item whose planned length has passed gives way to
    the next one planned to start by now) and told whether the engine is up."""
    now = datetime.now(UTC) if now is None else now
    current, upcoming, history = last.current, list(last.next), list(last.history)

    def over(track: Track, by: timedelta = timedelta(0)) -> bool:
        if track.duration_ms is None:
            return False
        return track.started_at + timedelta(milliseconds=track.duration_ms) + by < now

    while current is not None and over(current) and upcoming and upcoming[0].started_at <= now:
        history.insert(0, current)
        current = upcoming.pop(0)
    if current is not None and over(current, STALE_AFTER):
        history.insert(0, current)
        current = None
    executor = ctx.on_air.executor(last.station.id)
    online = executor.engine_up if executor is not None else last.is_online
    if not online:
        current = None
    is_live = last.is_live and current is not None and current.layer == "live"
    if executor is not None and executor.live_on_air:
        is_live = True
    return replace(
        last,
        at=now,
        current=current,
        next=[t for t in upcoming if t.started_at > now],
        history=history[:HISTORY_COUNT],
        is_live=is_live,
        streamer=last.streamer if is_live else "",
        is_online=online,
    )
