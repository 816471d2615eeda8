"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, PrimaryKeyConstraint, SmallInteger, TypeDecorator
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.types import TypeEngine

from grimnir.domain import Priority

ENUM_LENGTH = 32
"""VARCHAR length of every enum column: room for new members without a resize."""


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was about to be stored."""


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default of timestamp columns)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant in time, stored as UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps it in ``timestamptz``; MariaDB (``DATETIME(6)``) and SQLite
    have no zone, so the naive UTC wall time is stored. Naive datetimes are
    refused on the way in: their meaning depends on the machine that made them.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"refusing to store the naive datetime {value.isoformat()}: "
                "give it a time zone, e.g. datetime.now(UTC) or dt.replace(tzinfo=UTC)"
            )
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class PriorityType(TypeDecorator[Priority]):
    """A :class:`~grimnir.domain.Priority` stored as its number (0 emergency … 4 fallback)."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: Priority | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(Priority(value))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Priority | None:
        if value is None:
            return None
        return Priority(value)


def enum_type(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column type: VARCHAR holding the member *values* plus a named CHECK.

    ``name`` becomes the CHECK constraint's name through the naming convention
    (``ck_<table>_<name>``); use the column's name.
    """
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [m.value for m in members],
        length=ENUM_LENGTH,
        validate_strings=True,
    )


_CONSTRAINT_NAME = re.compile(r"^CONSTRAINT (`[^`]+`|\S+) ")


@compiles(PrimaryKeyConstraint, "mysql", "mariadb")
def _unnamed_mysql_primary_key(
    constraint: PrimaryKeyConstraint, compiler: DDLCompiler, **kw: Any
) -> str:
    """MySQL/MariaDB call every primary key ``PRIMARY`` and warn about any other
    name (once per table, at WARNING level through the driver's logger), so the
    name the naming convention gives is left out there."""
    return _CONSTRAINT_NAME.sub("", compiler.visit_primary_key_constraint(constraint, **kw))
