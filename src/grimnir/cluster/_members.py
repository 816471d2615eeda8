"""The instances of a cluster: each one's row, heartbeat and draining flag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.cluster._lease import Clock, database_now
from grimnir.store.models import ClusterNodeRecord


@dataclass(frozen=True)
class Member:
    """One instance as placement sees it.

    ``capacity`` is its relative weight (2.0 carries about twice the stations of
    1.0); a ``draining`` member keeps running but gets no stations.
    """

    id: uuid.UUID
    name: str = ""
    capacity: float = 1.0
    address: str = ""
    draining: bool = False
    heartbeat_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.capacity > 0:
            raise ValueError(f"the capacity of {self.name or self.id} must be above 0")


class Roster:
    """The ``cluster_nodes`` table: who is in the cluster and who is still alive.

    Times are the database's (see :func:`~grimnir.cluster.database_now`), so a
    heartbeat written by one instance is judged by the same clock as the others'.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock | None = None):
        self._sessions = sessions
        self._clock = clock

    async def join(self, member: Member) -> None:
        """Add ``member`` (or start it afresh, if its id is already there)."""
        async with self._sessions() as session, session.begin():
            now = await database_now(session, self._clock)
            await session.execute(
                delete(ClusterNodeRecord).where(ClusterNodeRecord.id == member.id)
            )
            session.add(
                ClusterNodeRecord(
                    id=member.id,
                    name=member.name,
                    capacity=member.capacity,
                    address=member.address,
                    started_at=now,
                    heartbeat_at=now,
                    draining=member.draining,
                )
            )

    async def heartbeat(self, node_id: uuid.UUID) -> bool:
        """Mark ``node_id`` alive now; ``False`` if its row is gone (join again)."""
        return await self._update(node_id, heartbeat=True)

    async def drain(self, node_id: uuid.UUID) -> bool:
        """Mark ``node_id`` draining: placement gives it nothing from now on."""
        return await self._update(node_id, heartbeat=False, draining=True)

    async def leave(self, node_id: uuid.UUID) -> None:
        """Remove ``node_id``'s row (a clean shutdown)."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(ClusterNodeRecord).where(ClusterNodeRecord.id == node_id))

    async def members(self, dead_after: timedelta | None = None) -> list[Member]:
        """Every member, or with ``dead_after`` only those that beat more recently."""
        async with self._sessions() as session:
            now = await database_now(session, self._clock)
            query = select(ClusterNodeRecord).order_by(ClusterNodeRecord.id)
            if dead_after is not None:
                query = query.where(ClusterNodeRecord.heartbeat_at > now - dead_after)
            rows = (await session.scalars(query)).all()
        return [
            Member(
                id=row.id,
                name=row.name,
                capacity=row.capacity,
                address=row.address,
                draining=row.draining,
                heartbeat_at=row.heartbeat_at,
            )
            for row in rows
        ]

    async def _update(
        self, node_id: uuid.UUID, *, heartbeat: bool, draining: bool | None = None
    ) -> bool:
        async with self._sessions() as session, session.begin():
            values: dict[str, object] = {}
            if heartbeat:
                values["heartbeat_at"] = await database_now(session, self._clock)
            if draining is not None:
                values["draining"] = draining
            result = await session.execute(
                update(ClusterNodeRecord)
                .where(ClusterNodeRecord.id == node_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult
