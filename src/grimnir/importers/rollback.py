"""Undoing an import, and the list of imports.

:func:`rollback` deletes exactly the rows the import created (its records with
``created``), never rows it found here, in dependency order (shows before the
playlists they play, media before the station), each through its service; a
media file copied in goes from storage when no other item uses it. The import is
then marked rolled back; its records go, so the same backup can be imported again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError, NotFoundError
from grimnir.importers._run import Sessions
from grimnir.library.ingest import discard_item
from grimnir.services import accounts, library, memberships, programming
from grimnir.services.stations import delete_station
from grimnir.services.webstreams import delete_webstream
from grimnir.store.models import (
    Clock,
    Import,
    ImportRecord,
    MediaItem,
    Membership,
    Playlist,
    Show,
    SmartBlock,
    Station,
    User,
    Webstream,
)

_ORDER: tuple[tuple[str, Any], ...] = (
    ("shows", Show),
    ("clocks", Clock),
    ("playlists", Playlist),
    ("smart_blocks", SmartBlock),
    ("webstreams", Webstream),
    ("memberships", Membership),
    ("users", User),
    ("stations", Station),
)
"""Tables in the order their rows go (media first, apart: they have files).
Mounts go with their station."""


async def list_imports(session: AsyncSession) -> Sequence[Import]:
    """Every import, newest first."""
    rows = await session.scalars(select(Import).order_by(Import.started_at.desc()))
    return rows.all()


async def get_import(session: AsyncSession, import_id: uuid.UUID) -> Import:
    """The import ``import_id`` (``NotFoundError`` saying how to find one)."""
    row = await session.get(Import, import_id)
    if row is None:
        raise NotFoundError(f"no import {import_id}: `grimnir import list` shows them")
    return row


async def _created(sessions: Sessions, import_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    async with sessions() as session:
        row = await get_import(session, import_id)
        if row.rolled_back_at is not None:
            raise ConflictError(
                f"import {import_id} was rolled back already "
                f"({row.rolled_back_at:%Y-%m-%d %H:%M} UTC): there is nothing left to remove"
            )
        if row.state == "running":
            raise ConflictError(
                f"import {import_id} is still running: wait for it to finish, then roll it back"
            )
        records = await session.scalars(
            select(ImportRecord).where(
                ImportRecord.import_id == import_id, ImportRecord.created.is_(True)
            )
        )
        out: dict[str, list[uuid.UUID]] = {}
        for record in records:
            out.setdefault(record.table_name, []).append(record.row_id)
        return out


async def _remove_media(sessions: Sessions, ids: list[uuid.UUID]) -> int:
    removed = 0
    for item_id in ids:
        async with sessions() as session:
            item = await session.get(MediaItem, item_id)
            path = None if item is None else item.path
        if path is None:
            continue
        await discard_item(sessions, item_id)
        removed += 1
        async with sessions() as session:
            used = await library.path_in_use(session, path)
        if not used and Path(path).is_absolute():
            await asyncio.to_thread(Path(path).unlink, missing_ok=True)
    return removed


async def _remove(session: AsyncSession, model: Any, row_id: uuid.UUID) -> bool:
    row = await session.get(model, row_id)
    if row is None:
        return False
    if model is Webstream:
        await delete_webstream(session, row)
    elif model is User:
        await accounts.delete_user(session, row)
    elif model is Station:
        await delete_station(session, row)
    elif model is Membership:
        await memberships.remove(session, row.user_id, row.station_id)
    else:
        await programming.remove(session, row)
    await session.flush()
    return True


async def rollback(sessions: Sessions, import_id: uuid.UUID) -> dict[str, int]:
    """Remove what import ``import_id`` created; how many rows went, by table.
    ``ConflictError`` if it was rolled back already or still runs."""
    created = await _created(sessions, import_id)
    counts = {"media_items": await _remove_media(sessions, created.get("media_items", []))}
    async with sessions() as session, session.begin():
        for table, model in _ORDER:
            done = 0
            for row_id in created.get(table, []):
                done += await _remove(session, model, row_id)
            counts[table] = done
        await session.execute(delete(ImportRecord).where(ImportRecord.import_id == import_id))
        row = await get_import(session, import_id)
        row.state, row.rolled_back_at = "rolled_back", datetime.now(UTC)
    return {table: n for table, n in counts.items() if n}
