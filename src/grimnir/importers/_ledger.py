"""The ledger of an import: which foreign rows earlier runs carried over (so a
second run creates nothing new) and which rows this run created (so a rollback
removes exactly those)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.importers.model import Snapshot
from grimnir.store.models import ImportRecord


def station_key(snapshot: Snapshot) -> str:
    """How records name the foreign station: its key and short name there."""
    return f"{snapshot.key}:{snapshot.short_name}"[:128]


@dataclass(frozen=True)
class Known:
    """A foreign row an earlier run (or this one) already carried over."""

    table_name: str
    row_id: uuid.UUID
    import_id: uuid.UUID


async def known_rows(session: AsyncSession, snapshot: Snapshot) -> dict[tuple[str, str], Known]:
    """Every record of this foreign station, by (part, foreign key)."""
    rows = await session.scalars(
        select(ImportRecord).where(
            ImportRecord.product == snapshot.product,
            ImportRecord.station_key == station_key(snapshot),
        )
    )
    return {(r.part, r.foreign_key): Known(r.table_name, r.row_id, r.import_id) for r in rows}


class Ledger:
    """What the running import writes down, part by part (``add`` in the part's own
    session, so the records commit or roll back with the rows)."""

    def __init__(self, import_id: uuid.UUID, snapshot: Snapshot) -> None:
        self.import_id = import_id
        self.product = snapshot.product
        self.station_key = station_key(snapshot)
        self.known: dict[tuple[str, str], Known] = {}

    def find(self, part: str, key: str) -> uuid.UUID | None:
        """Our row of the foreign row ``key`` of ``part``, if a run carried it over."""
        found = self.known.get((part, key))
        return None if found is None else found.row_id

    def add(
        self,
        session: AsyncSession,
        part: str,
        key: str,
        table_name: str,
        row_id: uuid.UUID,
        *,
        created: bool,
    ) -> None:
        """Record that the foreign row became ``row_id`` of ``table_name``."""
        session.add(
            ImportRecord(
                import_id=self.import_id,
                product=self.product,
                station_key=self.station_key,
                part=part,
                foreign_key=key[:128],
                table_name=table_name,
                row_id=row_id,
                created=created,
            )
        )
        self.known[(part, key)] = Known(table_name, row_id, self.import_id)

    def checkpoint(self) -> dict[tuple[str, str], Known]:
        """What is known now, to :meth:`restore` should the part roll back."""
        return dict(self.known)

    def restore(self, mark: dict[tuple[str, str], Known]) -> None:
        """Forget what was noted since ``mark`` (its transaction rolled back)."""
        self.known = dict(mark)
