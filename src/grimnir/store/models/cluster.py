"""The cluster's shared state: which instances are up, and who holds what.

``ClusterNodeRecord`` is one control-plane instance (``grimnir api``/``node``)
and its heartbeat; ``LeaseRecord`` is one lease (the planner's leadership, one
station's ownership) with its fencing token. The logic lives in
:mod:`grimnir.cluster`; these are the rows it reads and writes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Double, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from grimnir.store.models._base import Base
from grimnir.store.types import utcnow


class ClusterNodeRecord(Base):
    """One control-plane instance of a cluster.

    ``id`` is chosen by the instance when it starts. It counts as alive while
    ``heartbeat_at`` is recent; a ``draining`` instance is alive but takes no
    new stations and gives its own away. ``capacity`` is its relative weight in
    station placement (2.0 carries about twice the stations of 1.0).
    """

    __tablename__ = "cluster_nodes"
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    capacity: Mapped[float] = mapped_column(Double, default=1.0)
    address: Mapped[str] = mapped_column(String(255), default="")
    """Where the instance's API answers (a URL), for operators and redirects."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    draining: Mapped[bool] = mapped_column(default=False)


class LeaseRecord(Base):
    """A lease on one resource (``planner``, ``station:<uuid>``) and its fencing token.

    The row is never deleted: ``token`` grows by one at every acquisition, so a
    token is never handed out twice for the same resource, whatever expired or
    was released in between. ``holder`` is ``None`` once released; a lease
    whose ``expires_at`` has passed is free for anyone to take. ``holder`` is
    no foreign key on purpose: an instance's row may be removed while its
    leases run out on their own.
    """

    __tablename__ = "leases"
    __table_args__ = (
        Index(None, "holder"),
        CheckConstraint("token >= 0", name="token_nonneg"),
    )

    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[uuid.UUID | None]
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
