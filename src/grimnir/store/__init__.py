"""Persistence: SQLAlchemy models, engines and sessions, repositories, migrations.

SQLite is the embedded default; PostgreSQL and MariaDB are supported servers.
Every timestamp is stored in UTC and read back as an aware datetime.
"""

from grimnir.store.db import async_url, create_engine, mask_url, session_factory
from grimnir.store.errors import describe_integrity_error, is_unreachable
from grimnir.store.migrate import current_revision, downgrade, head_revision, upgrade
from grimnir.store.repos import (
    allocate_timeline_seq,
    create_user,
    get_station,
    get_user,
    list_stations,
    list_users,
    upsert_station,
)
from grimnir.store.specs import MountSpec, OutputSpec, StationSpec
from grimnir.store.types import NaiveDatetimeError, PriorityType, UTCDateTime, utcnow

__all__ = [
    "MountSpec",
    "NaiveDatetimeError",
    "OutputSpec",
    "PriorityType",
    "StationSpec",
    "UTCDateTime",
    "allocate_timeline_seq",
    "async_url",
    "create_engine",
    "create_user",
    "current_revision",
    "describe_integrity_error",
    "downgrade",
    "get_station",
    "get_user",
    "head_revision",
    "is_unreachable",
    "list_stations",
    "list_users",
    "mask_url",
    "session_factory",
    "upgrade",
    "upsert_station",
    "utcnow",
]
