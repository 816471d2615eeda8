"""A station's relayed web streams in the store: list, add, edit and delete them,
and write down what an operator's failover or reset did to one.

The functions that change a stream write it and read it back as stored, so the
caller answers with what the database holds; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConfigError, ConflictError, NotFoundError
from grimnir.services.paging import rows_page
from grimnir.store.models import Station, Webstream


def check_urls(urls: Sequence[str]) -> list[str]:
    """``urls`` as a list; ``ConfigError`` when one is given twice."""
    if len(set(urls)) != len(urls):
        raise ConfigError("urls lists the same URL twice: give each URL once")
    return list(urls)


def _taken(name: str) -> ConflictError:
    return ConflictError(f"a web stream named {name!r} exists on this station: pick another name")


async def _flush(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise _taken(name) from None


async def _reread(session: AsyncSession, row: Webstream) -> None:
    """Write ``row`` and read it back as the database holds it."""
    await session.flush()
    await session.refresh(row)


async def list_webstreams(
    session: AsyncSession, station_id: uuid.UUID, *, limit: int, offset: int = 0
) -> tuple[Sequence[Webstream], int]:
    """One page of the station's web streams by name, and how many it has."""
    return await rows_page(
        session,
        Webstream,
        limit=limit,
        offset=offset,
        where=(Webstream.station_id == station_id,),
        order_by=(Webstream.name,),
    )


async def get_webstream(session: AsyncSession, station: Station, stream_id: uuid.UUID) -> Webstream:
    """The station's web stream ``stream_id``."""
    row = await session.get(Webstream, stream_id)
    if row is None or row.station_id != station.id:
        raise NotFoundError(f"no web stream {stream_id} on station {station.short_name}")
    return row


async def add_webstream(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    name: str,
    urls: Sequence[str],
    stall_timeout_ms: int,
    grace_ms: int,
    pass_metadata: bool,
) -> Webstream:
    """Add a web stream (``urls``: the primary first, then its backups).
    ``ConflictError`` when the station has one of that name."""
    row = Webstream(
        station_id=station_id,
        name=name,
        urls=check_urls(urls),
        stall_timeout_ms=stall_timeout_ms,
        grace_ms=grace_ms,
        pass_metadata=pass_metadata,
    )
    session.add(row)
    await _flush(session, name)
    return row


async def edit_webstream(
    session: AsyncSession, row: Webstream, changes: Mapping[str, Any]
) -> Webstream:
    """Set ``changes`` (column name → value) on ``row``. ``ConfigError`` for a URL
    given twice, ``ConflictError`` for a name another stream of the station has."""
    if "urls" in changes:
        check_urls(changes["urls"])
    for key, value in changes.items():
        setattr(row, key, value)
    await _flush(session, str(changes.get("name")))
    await session.refresh(row)
    return row


async def delete_webstream(session: AsyncSession, row: Webstream) -> None:
    """Delete ``row``; clock slots and shows that named it keep an empty slot."""
    await session.delete(row)


async def record_failover(
    session: AsyncSession, row: Webstream, url: str, at: datetime
) -> Webstream:
    """Note that ``url`` of ``row`` went on air at ``at`` by an operator's failover."""
    row.active_url = url
    row.checked_at = at
    await _reread(session, row)
    return row


async def clear_health(session: AsyncSession, row: Webstream) -> Webstream:
    """Forget ``row``'s health, active URL and last error (an operator's reset)."""
    row.health, row.active_url, row.last_error, row.checked_at = "unknown", None, None, None
    await _reread(session, row)
    return row


__all__ = [
    "add_webstream",
    "check_urls",
    "clear_health",
    "delete_webstream",
    "edit_webstream",
    "get_webstream",
    "list_webstreams",
    "record_failover",
]
