"""Turning the database's constraint errors into messages a user can act on."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from grimnir.domain import ConflictError
from grimnir.store.models import metadata

# SQLite names columns, not constraints: "UNIQUE constraint failed: users.username".
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")


@cache
def _constraints() -> dict[str, str]:
    """Every named constraint of the schema, with what it means in words."""
    described: dict[str, str] = {}
    for table in metadata.tables.values():
        for constraint in table.constraints:
            name = constraint.name
            if not isinstance(name, str) or not isinstance(constraint, ColumnCollectionConstraint):
                continue
            columns = ", ".join(c.name for c in constraint.columns)
            if isinstance(constraint, UniqueConstraint):
                described[name] = f"a {table.name} row with the same {columns} already exists"
            elif isinstance(constraint, ForeignKeyConstraint):
                target = constraint.referred_table.name
                described[name] = f"{table.name}.{columns} refers to a {target} row that is missing"
            elif isinstance(constraint, CheckConstraint):
                described[name] = f"{table.name} rule {name} is not met ({constraint.sqltext})"
    return described


def describe_integrity_error(error: IntegrityError) -> str:
    """What clashed, in words, from any of the three databases' messages."""
    message = str(error.orig)
    for name in sorted(_constraints(), key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", message):
            return _constraints()[name]
    match = _SQLITE_UNIQUE.search(message)
    if match:
        columns = [c.split(".", 1) for c in match.group(1).split(", ")]
        table = columns[0][0]
        names = ", ".join(c[-1] for c in columns)
        return f"a {table} row with the same {names} already exists"
    if "FOREIGN KEY constraint failed" in message:
        return "a reference points at a row that is missing"
    return message.splitlines()[0] if message else type(error.orig).__name__


def conflict(error: IntegrityError, what: str) -> ConflictError:
    """A ``ConflictError`` for ``error`` raised while storing ``what``."""
    return ConflictError(f"cannot store {what}: {describe_integrity_error(error)}")
