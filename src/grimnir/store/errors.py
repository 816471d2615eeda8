"""Turning the database's errors into messages a user can act on, and telling an
unreachable database (retry) from a statement that failed (a bug, bad data)."""

from __future__ import annotations

import errno
import re
import socket
from functools import cache

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, UniqueConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
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


_UNREACHABLE = re.compile(
    r"connect|gone away|lost|closed|shut ?down|terminat|timeout|timed out|locked|busy"
    r"|unable to open|disk i/o|recovery mode|too many (clients|connections)|starting up",
    re.IGNORECASE,
)
"""What the three databases say when they cannot be used now, as opposed to a statement
that is wrong (SQLite and MariaDB raise OperationalError for "no such table" too)."""


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (down, restarting, the
    network gone, a pool timeout), not that a statement is wrong: worth retrying as is."""
    if isinstance(error, SATimeoutError | InterfaceError) or _network_down(error):
        return True  # NOTE: asyncpg's refused connection arrives as a bare OSError
    if isinstance(error, DBAPIError):
        return (
            error.connection_invalidated
            or _network_down(error.orig)
            or _unavailable_state(getattr(error.orig, "sqlstate", None))
            or (isinstance(error, OperationalError) and bool(_UNREACHABLE.search(str(error.orig))))
        )
    return False


_NETWORK_ERRNOS = frozenset(
    (
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    )
)


def _network_down(error: BaseException | None) -> bool:
    """A socket error on the way to the server (not a file error: a full disk is no outage)."""
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    return isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS


def _unavailable_state(sqlstate: object) -> bool:
    """PostgreSQL's SQLSTATEs for "not now": connection exceptions (08…), the server
    shutting down, crashed or starting up (57P01–57P03), too many connections (53300)."""
    if not isinstance(sqlstate, str):
        return False
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03", "53300")
