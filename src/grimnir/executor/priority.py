"""The priority ladder of one station: who holds the air, and who claims it.

0 emergency, 1 live override, 2 live scheduled, 3 automation, 4 fallback. A
lower number pre-empts a higher one. The engine does the audio side (its
layers switch by priority with a short fade); this service keeps the books:

- every source that claims the air has an active row in ``priority_sources``
  (an emergency item, a DJ on air, a scheduled live show's window, automation,
  fallback) that is released when the claim ends;
- the priority on air is the lowest number among the sources holding the air
  (a DJ whose audio flows, an emergency item playing; a DJ counts as
  *scheduled* while a live show's window is open, else as an override), else
  automation (or fallback when the engine's mixer put fallback on air); every
  change is published as ``priority.changed``;
- failback is automatic: when the higher source ends, the engine's next layer
  takes the air again and the executor rejoins the timeline.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select, update

from grimnir.bus import PRIORITY_CHANGED, Event, EventBus
from grimnir.domain import NotFoundError, Priority
from grimnir.engine.client import EngineClient, PlayRequest
from grimnir.executor._timeline import Sessions
from grimnir.store.models import MediaItem, PrioritySource

log = logging.getLogger("grimnir.executor.priority")

LAYER_PRIORITY: dict[str | None, Priority] = {
    "emergency": Priority.EMERGENCY,
    "live": Priority.LIVE_OVERRIDE,
    "automation": Priority.AUTOMATION,
    "fallback": Priority.FALLBACK,
    None: Priority.FALLBACK,
}


HoldKind = Literal["live", "emergency"]
"""Sources above automation that hold the air while their audio is on."""


@dataclass(frozen=True)
class HoldKey:
    """One source holding the air: a DJ on a mount, an emergency item."""

    kind: HoldKind
    ref: str | None
    """The harbor mount or the engine item id; None for an emergency item the engine
    shows on air but whose start was not seen (found on a resync)."""

    @classmethod
    def live(cls, mount: str) -> HoldKey:
        return cls("live", mount)

    @classmethod
    def emergency(cls, item_id: str | None) -> HoldKey:
        """``item_id`` None: the emergency audio on air whose item is not known."""
        return cls("emergency", item_id)


class PriorityService:
    """Claims, releases and the priority on air for one station."""

    def __init__(
        self,
        station_id: uuid.UUID,
        sessions: Sessions,
        client: EngineClient,
        bus: EventBus,
        clock: Callable[[], datetime],
    ) -> None:
        self.station_id = station_id
        self._sessions = sessions
        self._client = client
        self._bus = bus
        self._clock = clock
        self.on_air: Priority = Priority.FALLBACK
        self.layer: str | None = None
        self._claims: dict[tuple[str, str], uuid.UUID] = {}
        self._holding: dict[HoldKey, Priority] = {}
        """Sources above automation holding the air now, by key."""

    @property
    def scheduled_live(self) -> bool:
        """True while a scheduled live show's window is open."""
        return any(kind == "live_scheduled" for kind, _ in self._claims)

    async def restore(self) -> None:
        """Take over the claims a previous executor left active (they are still true
        or will be released by the events that end them)."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(PrioritySource).where(
                        PrioritySource.station_id == self.station_id,
                        PrioritySource.active.is_(True),
                    )
                )
            ).all()
        for row in rows:
            self._claims[(row.kind, row.ref or "")] = row.id

    async def claim(
        self, priority: Priority, kind: str, ref: str = "", params: dict[str, Any] | None = None
    ) -> None:
        """Record that ``kind``/``ref`` claims the air at ``priority`` (idempotent)."""
        if (kind, ref) in self._claims:
            return
        async with self._sessions() as session, session.begin():
            row = PrioritySource(
                station_id=self.station_id,
                priority=priority,
                kind=kind,
                ref=ref or None,
                params=dict(params or {}),
                active=True,
                activated_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            self._claims[(kind, ref)] = row.id

    async def release(self, kind: str, ref: str = "") -> None:
        """End the claim of ``kind``/``ref`` (nothing happens if there is none)."""
        row_id = self._claims.pop((kind, ref), None)
        if row_id is None:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(PrioritySource)
                .where(PrioritySource.id == row_id)
                .values(active=False, released_at=self._clock())
            )

    async def release_all(self, kind: str) -> None:
        for claim_kind, ref in [k for k in self._claims if k[0] == kind]:
            await self.release(claim_kind, ref)

    def active(self) -> list[tuple[str, str]]:
        """The claims this service holds, as (kind, ref)."""
        return sorted(self._claims)

    def priority_of(self, layer: str | None) -> Priority:
        """The rung a source on engine ``layer`` stands on now."""
        priority = LAYER_PRIORITY.get(layer, Priority.FALLBACK)
        if priority is Priority.LIVE_OVERRIDE and self.scheduled_live:
            return Priority.LIVE_SCHEDULED
        return priority

    async def hold(self, key: HoldKey, priority: Priority, at: datetime) -> None:
        """A source (a DJ on a mount, an emergency item) has taken the air."""
        self._holding[key] = priority
        await self._refresh(at)

    async def let_go(self, *keys: HoldKey, at: datetime) -> None:
        """Sources ``keys`` left the air (keys not holding it are ignored)."""
        for key in keys:
            self._holding.pop(key, None)
        await self._refresh(at)

    async def let_go_all(self, kind: HoldKind, at: datetime) -> None:
        """Every source of ``kind`` left the air (the live layer went quiet)."""
        for held in [key for key in self._holding if key.kind == kind]:
            del self._holding[held]
        await self._refresh(at)

    async def layer_changed(self, layer: str | None, at: datetime) -> None:
        """The engine's mixer put ``layer`` on air (fallback vs automation)."""
        self.layer = layer
        for kind in ("automation", "fallback"):
            if layer == kind:
                await self.claim(LAYER_PRIORITY[kind], kind)
            else:
                await self.release(kind)
        await self._refresh(at)

    def _top(self) -> Priority:
        if self._holding:
            return min(self._holding.values())
        # NOTE: nothing higher holds the air: automation has it, even while the
        # mixer still shows a silent live layer until the next item starts.
        return Priority.FALLBACK if self.layer == "fallback" else Priority.AUTOMATION

    async def _refresh(self, at: datetime) -> None:
        before, self.on_air = self.on_air, self._top()
        if self.on_air is before:
            return
        await self._bus.publish(
            Event(
                PRIORITY_CHANGED,
                str(self.station_id),
                at,
                {
                    "from": before.value,
                    "to": self.on_air.value,
                    "from_key": before.key,
                    "to_key": self.on_air.key,
                    "layer": self.layer,
                    "preempted": self.on_air.preempts(before),
                },
            )
        )

    async def insert_emergency(
        self, item: str | Path | MediaItem, *, title: str = "Emergency"
    ) -> str:
        """Play a file (or a library item) on the emergency layer now; it pre-empts
        everything, live included. Returns the engine item id (``emergency-…``)."""
        if isinstance(item, MediaItem):
            path, title = item.path, item.title or title
        else:
            path = str(item)
            if not Path(path).is_file():
                raise NotFoundError(f"emergency audio file not found: {path}")
        item_id = f"emergency-{uuid.uuid4().hex[:12]}"
        await self.claim(Priority.EMERGENCY, "emergency", item_id, {"path": path})
        try:
            await self._client.insert_emergency(
                PlayRequest(item_id=item_id, path=path, title=title, meta={"emergency": True})
            )
        except Exception:
            await self.release("emergency", item_id)
            raise
        log.warning("station %s: emergency audio %s inserted", self.station_id, path)
        return item_id
