"""Imports from another product (AzuraCast, LibreTime) and the rows each created.

An ``Import`` is one real run (dry runs write nothing). Its ``ImportRecord``s tie
every foreign row it carried over (``part`` + the other product's ``foreign_key``)
to the row here (``table_name`` + ``row_id``): a second run of the same backup
finds them and creates nothing new, and a rollback deletes exactly the rows whose
record says this import ``created`` them (not those it found already here).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grimnir.store.models._base import Base, JsonDict, UuidPk, json_dict
from grimnir.store.types import utcnow


class Import(UuidPk, Base):
    """One run of an import: what was read, when, how it went and its report.

    ``state`` is ``running``, ``done`` (every part went in), ``partial`` (some
    part failed and was rolled back alone), ``failed`` or ``rolled_back``.
    """

    __tablename__ = "imports"

    station_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stations.id", ondelete="SET NULL"), index=True
    )
    product: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    schema_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="running")
    report: Mapped[JsonDict] = mapped_column(default=json_dict)
    rolled_back_at: Mapped[datetime | None]


class ImportRecord(UuidPk, Base):
    """A foreign row and the row it became here (created by the import, or found)."""

    __tablename__ = "import_records"
    __table_args__ = (UniqueConstraint("product", "station_key", "part", "foreign_key"),)

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), index=True
    )
    product: Mapped[str] = mapped_column(String(32))
    station_key: Mapped[str] = mapped_column(String(128))
    """The foreign station: its key and short name there (``"1:wgmr"``)."""
    part: Mapped[str] = mapped_column(String(32))
    foreign_key: Mapped[str] = mapped_column(String(128))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[uuid.UUID]
    created: Mapped[bool] = mapped_column(default=True)
    """True: the import made the row (a rollback deletes it); False: it was here."""
