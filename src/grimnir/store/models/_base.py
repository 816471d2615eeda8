"""The declarative base: naming convention, type map and shared column helpers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, MetaData, Uuid
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from grimnir.store.types import UTCDateTime, utcnow

# NOTE: every constraint gets a deterministic name so migrations can address it
# by name on all three databases (MariaDB and PostgreSQL cap names at 64/63).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDict = dict[str, Any]


class Base(AsyncAttrs, DeclarativeBase):
    """Base of every model. Timestamps are UTC-aware; JSON maps to ``sqlalchemy.JSON``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 — SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        JsonDict: JSON(),
        list[str]: JSON(),
    }


class UuidPk:
    """A random UUID primary key, assigned when the object is made (not at flush),
    so related rows can point at each other before anything is written."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=-10)

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("id") is None:
            kwargs["id"] = uuid.uuid4()
        super().__init__(**kwargs)


class Timestamps:
    """``created_at`` and ``updated_at``, both set by the application in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=10)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, sort_order=10)


def json_dict() -> JsonDict:
    """Default factory of JSON object columns (a fresh dict each time)."""
    return {}


def json_list() -> list[Any]:
    """Default factory of JSON array columns (a fresh list each time)."""
    return []
