"""What every part of a running import shares: the plan, the ledger, where files go,
the rows' outcomes and the findings met on the way."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.importers._ledger import Ledger
from grimnir.importers.model import Finding, Snapshot
from grimnir.importers.plan import ImportPlan, PlanRow

Sessions = async_sessionmaker[AsyncSession]
ProgressFn = Callable[[str, int, int], Awaitable[None]]
"""Told (part, rows done, rows in the part) as an import goes."""

_DONE = {"create": "created", "exists": "exists", "skip": "skipped"}


@dataclass
class Run:
    """One real import in progress."""

    plan: ImportPlan
    ledger: Ledger
    sessions: Sessions
    media_dir: Path
    artwork_dir: Path
    workers: int | None = None
    progress: ProgressFn | None = None
    station_id: uuid.UUID | None = None
    rows: list[PlanRow] = field(default_factory=list)
    """The outcome of every row of the parts done so far."""
    findings: list[Finding] = field(default_factory=list)
    """Findings met while writing (a file the analysis refused…)."""

    @property
    def snapshot(self) -> Snapshot:
        return self.plan.snapshot

    def station(self) -> uuid.UUID:
        """Our station's id (set by the station part, which runs first)."""
        if self.station_id is None:
            raise RuntimeError("the station part did not run: nothing can be imported into it")
        return self.station_id

    def action(self, part: str, key: str) -> str | None:
        return self.plan.action(part, key)

    def done(self, part: str, key: str, name: str, action: str, detail: str = "") -> PlanRow:
        """The outcome of a row (``created`` ``exists`` ``skipped``, or a plan action
        that happened as planned)."""
        return PlanRow(part, key, name, _DONE.get(action, action), detail)

    async def tell(self, part: str, done: int, total: int) -> None:
        if self.progress is not None:
            await self.progress(part, done, total)
