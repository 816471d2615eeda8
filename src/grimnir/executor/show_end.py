"""Kicking the DJ off the harbor when their live show ends.

Stations whose config says ``harbor.kick_at_show_end: true`` get one
:class:`ShowEndKicker`, which ``grimnir up`` runs beside the station's executor.
It reads the station's timeline from the store and acts on the station's engine
through the control client; both are handed in, so it needs no API.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from grimnir.domain import EntryKind, NotFoundError
from grimnir.engine.client import EngineClient
from grimnir.executor._timeline import DEFAULT_LIVE_MOUNT, Sessions
from grimnir.store.models import Station, TimelineEntry
from grimnir.store.types import utcnow

log = logging.getLogger("grimnir.executor")

EngineOf = Callable[[uuid.UUID], EngineClient | None]
"""The control client of a station's engine on air here, or ``None``
(``grimnir up``'s ``engine``, the API's ``OnAir.engine``)."""


def live_mount(entry: TimelineEntry) -> str:
    """The harbor mount a live timeline entry waits on (``meta.mount``, default ``/live``)."""
    return str((entry.meta or {}).get("mount") or DEFAULT_LIVE_MOUNT)


def kick_at_show_end(station: Station) -> bool:
    """The station config's ``harbor.kick_at_show_end``."""
    return bool((station.config.get("harbor") or {}).get("kick_at_show_end", False))


class ShowEndKicker:
    """Kicks the DJ off a harbor mount when a live show slot on it ends (stations
    with ``harbor.kick_at_show_end``). A slot continued by the same show, or a DJ
    who connected after the end (the next show's), is left alone.

    ``sessions`` opens the store; ``engine_of`` finds the station's engine at each
    pass (none: nothing to kick). ``grimnir up`` runs one per station on air:
    ``asyncio.create_task(kicker.run())``.
    """

    def __init__(
        self,
        station_id: uuid.UUID,
        sessions: Sessions,
        engine_of: EngineOf,
        *,
        poll_s: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.station_id = station_id
        self.sessions = sessions
        self.engine_of = engine_of
        self.poll_s = poll_s
        self.clock = clock
        self._since: datetime | None = None

    async def run(self) -> None:
        """Check every ``poll_s`` until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:  # a failed pass must not stop the next one
                log.exception("station %s: show-end kick check failed", self.station_id)
            await asyncio.sleep(self.poll_s)

    async def check(self) -> list[str]:
        """One pass: kick where a live slot ended since the last pass; the mounts kicked."""
        now = self.clock()
        since = self._since or now - timedelta(seconds=max(5.0, 3 * self.poll_s))
        self._since = now
        live = TimelineEntry.kind == EntryKind.LIVE
        async with self.sessions() as session:
            station = await session.get(Station, self.station_id)
            if station is None or not kick_at_show_end(station):
                return []
            mine = TimelineEntry.station_id == self.station_id
            ended = list(
                await session.scalars(
                    select(TimelineEntry).where(
                        mine, live, TimelineEntry.ends_at > since, TimelineEntry.ends_at <= now
                    )
                )
            )
            if not ended:
                return []
            going_on = list(
                await session.scalars(
                    select(TimelineEntry).where(
                        mine,
                        live,
                        TimelineEntry.starts_at <= now + timedelta(seconds=1),
                        TimelineEntry.ends_at > now,
                    )
                )
            )
        engine = self.engine_of(self.station_id)
        if engine is None:
            return []
        harbor = (await engine.status()).harbor
        connected = {} if harbor is None else harbor.mounts
        kicked: list[str] = []
        for entry in ended:
            mount = live_mount(entry)
            info = connected.get(mount)
            if info is None or mount in kicked:
                continue
            if any(
                e.show_id == entry.show_id and live_mount(e) == mount and e.id != entry.id
                for e in going_on
            ):
                continue
            if info.connected_s < (now - entry.ends_at).total_seconds():
                continue  # connected after the slot ended: the next show's DJ
            try:
                await engine.kick_live(mount)
            except NotFoundError:
                continue  # gone meanwhile
            log.info(
                "station %s: kicked the DJ on %s: the live show %r ended at %s",
                self.station_id,
                mount,
                entry.title,
                entry.ends_at.isoformat(),
            )
            kicked.append(mount)
        return kicked
