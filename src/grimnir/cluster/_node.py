"""One instance's part in the cluster: heartbeat, leases, placement, drain.

A :class:`ClusterNode` keeps its ``cluster_nodes`` row beating, renews its
leases every third of their time to live, takes the stations placement gives
it once their leases are free, hands back those placement moves elsewhere,
and competes for the planner's leadership. ``on_acquired(resource, token)``
and ``on_lost(resource)`` tell the rest of the process (executors, planner)
when to start and stop acting.

It distrusts itself before it trusts the database: a lease counts as held only
until its deadline by this process's monotonic clock, measured from just
before the request that granted or renewed it, which is never later than the
expiry the database wrote. A process that was paused (SIGSTOP) or cut off past
that deadline is told ``on_lost`` before anything else when it wakes, and
:meth:`ClusterNode.token` no longer answers for the resource, so it neither
writes nor commands an engine; :func:`~grimnir.cluster.fenced` refuses its old
token in the database should a write slip through anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.cluster._lease import PLANNER, Clock, Lease, LeaseStore, station_resource
from grimnir.cluster._members import Member, Roster
from grimnir.cluster._placement import DEFAULT_MAX_LOAD, place
from grimnir.domain.errors import FencingError
from grimnir.store.models import Station

log = logging.getLogger("grimnir.cluster")

OnAcquired = Callable[[str, int], Awaitable[None]]
"""Called with a resource and its new token once this instance holds it."""
OnLost = Callable[[str], Awaitable[None]]
"""Called with a resource this instance must stop acting for, at once."""
StationSource = Callable[[], Awaitable[Collection[uuid.UUID]]]
"""The stations the cluster must keep on air (by default the enabled ones)."""

DEFAULT_TTL = 15.0
"""Seconds a lease lasts without renewal; renewed every third of that."""


@dataclass(frozen=True)
class _Held:
    lease: Lease
    deadline: float
    """When this process stops trusting the lease, by its monotonic clock."""


async def _nothing_acquired(resource: str, token: int) -> None:
    return None


async def _nothing_lost(resource: str) -> None:
    return None


class ClusterNode:
    """This instance in the cluster.

    Use it as ``async with ClusterNode(...)`` (or :meth:`start`/:meth:`stop`):
    it joins, runs its loop every ``ttl / 3`` seconds, and on the way out
    releases its leases and leaves. Tests drive it with :meth:`tick` and
    :meth:`expire_due` instead, on an injected ``clock`` (the database's time)
    and ``monotonic`` (this process's). ``dead_after`` (default ``ttl``) is how
    long a silent member still counts as alive for placement.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        name: str,
        node_id: uuid.UUID | None = None,
        capacity: float = 1.0,
        address: str = "",
        ttl: float = DEFAULT_TTL,
        dead_after: float | None = None,
        stations: StationSource | None = None,
        lead: bool = True,
        on_acquired: OnAcquired = _nothing_acquired,
        on_lost: OnLost = _nothing_lost,
        max_load: float | None = DEFAULT_MAX_LOAD,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"the lease time to live must be above 0 s, not {ttl}")
        self.member = Member(
            id=node_id or uuid.uuid4(), name=name, capacity=capacity, address=address
        )
        self.ttl = ttl
        self.dead_after = dead_after if dead_after is not None else ttl
        self.leases = LeaseStore(sessions, clock=clock)
        self.roster = Roster(sessions, clock=clock)
        self._sessions = sessions
        self._stations = stations or self._enabled_stations
        self._lead = lead
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._max_load = max_load
        self._monotonic = monotonic
        self._held: dict[str, _Held] = {}
        self._draining = False
        self._joined = False
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    @property
    def id(self) -> uuid.UUID:
        return self.member.id

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def is_leader(self) -> bool:
        """Whether this instance holds the planner's lease (by its own clock)."""
        return self.token(PLANNER) is not None

    def token(self, resource: str) -> int | None:
        """The fencing token to act for ``resource`` with, or ``None`` if this
        instance must not act for it (never held, given up, or past its deadline)."""
        held = self._held.get(resource)
        if held is None or self._monotonic() >= held.deadline:
            return None
        return held.lease.token

    def held(self) -> dict[str, int]:
        """Every resource this instance may act for now, with its token."""
        now = self._monotonic()
        return {r: h.lease.token for r, h in self._held.items() if now < h.deadline}

    def stations(self) -> set[uuid.UUID]:
        """The stations this instance may act for now."""
        prefix = station_resource("")
        return {uuid.UUID(r.removeprefix(prefix)) for r in self.held() if r.startswith(prefix)}

    async def fenced(self, session: AsyncSession, resource: str) -> int:
        """Check this instance's lease on ``resource`` here and in the database,
        inside the caller's transaction (see :func:`~grimnir.cluster.fenced`);
        returns the token the writes carry."""
        token = self.token(resource)
        if token is None:
            raise FencingError(f"this instance ({self.member.name}) holds no lease on {resource}")
        await self.leases.fenced(session, resource, token, stall_limit=timedelta(seconds=self.ttl))
        return token

    # -- the loop ------------------------------------------------------------

    async def join(self) -> None:
        """Add this instance's row, so the others count it in from now on.

        :meth:`start` and the first :meth:`tick` join by themselves; joining
        several instances first lets their first rounds agree on placement.
        """
        await self.roster.join(self.member)
        self._joined = True

    async def start(self) -> None:
        """Join the cluster and run the loop and the deadline watchdog."""
        await self.join()
        self._tasks = [
            asyncio.create_task(self._run(), name=f"cluster-{self.member.name}"),
            asyncio.create_task(self._watch(), name=f"cluster-watch-{self.member.name}"),
        ]

    async def stop(self) -> None:
        """Stop the loop, hand every lease back and leave the cluster."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self._release_all()
        finally:
            if self._joined:
                self._joined = False
                await self.roster.leave(self.id)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def drain(self) -> None:
        """Take no more stations and hand back every lease, the planner's too.

        The instance stays a member (draining) so the others place its
        stations elsewhere at once rather than waiting for its heartbeat to stop.
        """
        self._draining = True
        if self._joined:
            await self.roster.drain(self.id)
        await self._release_all()

    async def tick(self) -> None:
        """One round: drop what ran out, beat, renew, then follow placement."""
        await self.expire_due()
        if not self._joined:
            await self.join()
        elif not await self.roster.heartbeat(self.id):
            log.warning("cluster: %s's row was gone; joining again", self.member.name)
            await self.roster.join(self.member)
        if self._draining:
            await self.roster.drain(self.id)
        await self._renew_all()
        if self._draining:
            await self._release_all()
            return
        members = await self.roster.members(timedelta(seconds=self.dead_after))
        wanted = {station_resource(s) for s in await self._stations()}
        placement = place(wanted, members, max_load=self._max_load)
        mine = {r for r, node in placement.items() if node == self.id}
        for resource in sorted(self._held):
            if resource != PLANNER and resource not in mine:
                await self._release(resource)
        for resource in sorted(mine - self._held.keys()):
            await self._acquire(resource)
        if self._lead and PLANNER not in self._held:
            await self._acquire(PLANNER)

    async def expire_due(self) -> list[str]:
        """Give up (``on_lost``) every lease whose deadline has passed; returns them."""
        now = self._monotonic()
        due = sorted(r for r, h in self._held.items() if now >= h.deadline)
        for resource in due:
            log.warning("cluster: %s lost %s: not renewed in time", self.member.name, resource)
            await self._lose(resource)
        return due

    async def _run(self) -> None:
        interval = self.ttl / 3
        while True:
            started = self._monotonic()
            try:
                async with asyncio.timeout(interval * 2):
                    await self.tick()
            except (TimeoutError, OSError, FencingError) as e:
                log.warning("cluster: %s's round failed (%s); retrying", self.member.name, e)
            except Exception:
                log.exception("cluster: %s's round failed; retrying", self.member.name)
            await asyncio.sleep(max(0.0, started + interval - self._monotonic()))

    async def _watch(self) -> None:
        """Keep the deadlines even while a round is stuck on the database."""
        while True:
            self._changed.clear()
            deadlines = [h.deadline for h in self._held.values()]
            wait = min(deadlines) - self._monotonic() if deadlines else None
            if wait is not None and wait <= 0:
                await self.expire_due()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._changed.wait()

    # -- single leases -------------------------------------------------------

    async def _acquire(self, resource: str) -> None:
        before = self._monotonic()
        lease = await self.leases.acquire(resource, self.id, timedelta(seconds=self.ttl))
        if lease is None:
            return
        self._keep(lease, before + self.ttl)
        log.info("cluster: %s holds %s (token %d)", self.member.name, resource, lease.token)
        try:
            await self._on_acquired(resource, lease.token)
        except Exception:
            # NOTE: a resource nobody here acts for is better held by another instance
            log.exception("cluster: on_acquired(%s) failed; handing it back", resource)
            await self._release(resource)

    async def _renew_all(self) -> None:
        for resource in sorted(self._held):
            held = self._held.get(resource)
            if held is None:
                continue
            before = self._monotonic()
            lease = await self.leases.renew(held.lease, timedelta(seconds=self.ttl))
            if self._held.get(resource) is not held:
                # NOTE: given up while the renewal was under way (its deadline
                # passed): stay out, and let the others have it now.
                if lease is not None:
                    await self.leases.release(lease)
                continue
            if lease is None:
                log.warning("cluster: %s lost %s: renewal refused", self.member.name, resource)
                await self._lose(resource)
            else:
                self._keep(lease, before + self.ttl)

    async def _release(self, resource: str) -> None:
        held = self._held.get(resource)
        if held is None:
            return
        await self._lose(resource)
        await self.leases.release(held.lease)

    async def _release_all(self) -> None:
        for resource in sorted(self._held):
            await self._release(resource)

    def _keep(self, lease: Lease, deadline: float) -> None:
        self._held[lease.resource] = _Held(lease, deadline)
        self._changed.set()

    async def _lose(self, resource: str) -> None:
        """Forget ``resource`` first, then tell the owner: nothing acts on it after."""
        if self._held.pop(resource, None) is None:
            return
        self._changed.set()
        try:
            await self._on_lost(resource)
        except Exception:
            log.exception("cluster: on_lost(%s) failed", resource)

    async def _enabled_stations(self) -> list[uuid.UUID]:
        async with self._sessions() as session:
            return list(await session.scalars(select(Station.id).where(Station.enabled)))
