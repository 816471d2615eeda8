"""Stations and where their audio goes: mounts, outputs and relayed web streams."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grimnir.domain import AudioFormat, OutputKind
from grimnir.store.models._base import Base, JsonDict, Timestamps, UuidPk, json_dict, json_list
from grimnir.store.types import enum_type


class Station(UuidPk, Timestamps, Base):
    """One radio station: its identity, time zone and declarative config.

    ``timeline_seq`` is the last sequence number handed to a timeline entry
    (see ``repos.allocate_timeline_seq``); it only ever grows.
    """

    __tablename__ = "stations"

    short_name: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[JsonDict] = mapped_column(default=json_dict)
    timeline_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    mounts: Mapped[list[Mount]] = relationship(
        back_populates="station",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Mount.key",
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"<Station {self.short_name!r}>"


class Mount(UuidPk, Base):
    """A named stream of a station (``main``, ``low``…) fed to one or more outputs."""

    __tablename__ = "mounts"
    __table_args__ = (UniqueConstraint("station_id", "key"),)

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))

    station: Mapped[Station] = relationship(back_populates="mounts", lazy="raise")
    outputs: Mapped[list[Output]] = relationship(
        back_populates="mount",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Output.position",
        lazy="selectin",
    )


class Output(UuidPk, Base):
    """One destination of a mount: an Icecast server, HLS, a recording…"""

    __tablename__ = "outputs"
    __table_args__ = (
        UniqueConstraint("mount_id", "position"),
        CheckConstraint("position >= 0", name="position_nonneg"),
        CheckConstraint("bitrate_kbps > 0", name="bitrate_positive"),
    )

    mount_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mounts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[OutputKind] = mapped_column(enum_type(OutputKind, "kind"))
    format: Mapped[AudioFormat] = mapped_column(enum_type(AudioFormat, "format"))
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[JsonDict] = mapped_column(default=json_dict)

    mount: Mapped[Mount] = relationship(back_populates="outputs", lazy="raise")


class Webstream(UuidPk, Timestamps, Base):
    """A remote stream relayed on air, with a failover chain of URLs tried in order.

    ``stall_timeout_ms`` is how long the stream may deliver nothing before the
    next URL is tried; ``grace_ms`` how long a recovered URL must hold before
    it is trusted again. ``health`` is ``unknown``, ``ok``, ``degraded`` or ``down``.
    """

    __tablename__ = "webstreams"
    __table_args__ = (
        UniqueConstraint("station_id", "name"),
        CheckConstraint("stall_timeout_ms > 0", name="stall_timeout_positive"),
        CheckConstraint("grace_ms >= 0", name="grace_nonneg"),
    )

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    urls: Mapped[list[str]] = mapped_column(default=json_list)
    stall_timeout_ms: Mapped[int] = mapped_column(Integer, default=5_000)
    grace_ms: Mapped[int] = mapped_column(Integer, default=2_000)
    pass_metadata: Mapped[bool] = mapped_column(default=True)
    health: Mapped[str] = mapped_column(String(16), default="unknown")
    active_url: Mapped[str | None] = mapped_column(String(2048))
    last_error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]
