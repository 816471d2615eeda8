"""What the API needs from the rest of the process, in one object."""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.api.ratelimit import Limits
from grimnir.bus import EventBus
from grimnir.config.settings import Settings

if TYPE_CHECKING:
    from grimnir.engine.client import EngineClient
    from grimnir.executor.station import StationExecutor


class OnAir(Protocol):
    """The stations this process carries out (``grimnir up`` implements it)."""

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        """The station's executor, or ``None`` when it is not on air here."""
        ...

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        """A control client of the station's engine, or ``None``."""
        ...

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        """Where listeners hear the station (empty when not on air here), under ``base``
        (default: the address this process serves on)."""
        ...

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        """Times the station's engine process was started again (``None``: no supervisor
        here, e.g. an engine in this process)."""
        ...


class NothingOnAir:
    """An API without executors (tests of the data routes, a read-only replica)."""

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        return None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        return None

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        return []

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:
        return None


@dataclass
class ApiContext:
    """Settings, database, bus, signing key and the on-air stations of one API."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    secret: bytes
    on_air: OnAir = field(default_factory=NothingOnAir)
    limits: Limits = field(default_factory=Limits)
    max_upload_bytes: int = 1024 * 1024 * 1024
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    trust_forwarded: bool = False
    """Take the client address from ``X-Forwarded-For`` (only behind a reverse proxy)."""


def load_secret(data_dir: Path) -> bytes:
    """The installation's signing key: ``GRIMNIR_SECRET_KEY``, else a random key
    kept in ``<data dir>/secret.key`` (made on first use, readable by us only)."""
    from_env = os.environ.get("GRIMNIR_SECRET_KEY")
    if from_env:
        if len(from_env) < 32:
            raise ValueError("GRIMNIR_SECRET_KEY is too short: use at least 32 characters")
        return from_env.encode("utf-8")
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
