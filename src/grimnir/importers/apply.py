"""The real run: an import's plan written part by part under an import id.

Each part is one transaction (media: one per file, undone together if the part
fails): a part that fails is rolled back alone and reported, the parts after it
go on with what came over. Every foreign row that came over is written down in
``import_records``, so running the same import again creates nothing new and
:func:`grimnir.importers.rollback.rollback` removes exactly what this run made.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.importers._ledger import Ledger
from grimnir.importers._media import media_part
from grimnir.importers._parts import block_part, station_part, user_part, webstream_part
from grimnir.importers._programme import clock_part, playlist_part, schedule_part
from grimnir.importers._run import ProgressFn, Run, Sessions
from grimnir.importers._shows import show_part
from grimnir.importers.model import Finding, Snapshot
from grimnir.importers.plan import PARTS, ImportPlan, PlanRow, finding_json, plan
from grimnir.store.models import Import

log = logging.getLogger("grimnir.importers")

Part = Callable[[Run, AsyncSession], Awaitable[list[PlanRow]]]
_IN_SESSION: tuple[tuple[str, tuple[str, ...], Part], ...] = (
    ("user", ("user",), user_part),
    ("webstream", ("webstream",), webstream_part),
    ("smart_block", ("smart_block",), block_part),
    ("playlist", ("playlist",), playlist_part),
    ("schedule", ("schedule",), schedule_part),
    ("clock", ("clock",), clock_part),
    ("show", ("show",), show_part),
)


@dataclass
class ImportReport:
    """What a real run did: every row's outcome, each part's state, the findings."""

    import_id: uuid.UUID
    plan: ImportPlan
    state: str = "running"
    """``done``, ``partial`` (some part failed), ``failed`` (the station part failed)."""
    rows: list[PlanRow] = field(default_factory=list)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for row in self.rows:
            part = out.setdefault(row.part, {"created": 0, "exists": 0, "skipped": 0, "failed": 0})
            part[row.action] = part.get(row.action, 0) + 1
        return {p: out[p] for p in PARTS if p in out}

    def to_json(self) -> dict[str, Any]:
        snap = self.plan.snapshot
        return {
            "dry_run": False,
            "import_id": str(self.import_id),
            "state": self.state,
            "product": snap.product,
            "source": snap.source,
            "schema_version": snap.schema_version,
            "station": {"short_name": self.plan.short_name, "name": snap.name},
            "counts": self.counts(),
            "parts": self.parts,
            "rows": [r.to_json() for r in self.rows],
            "findings": [finding_json(f) for f in self.findings],
        }


def _failed_rows(run: Run, parts: tuple[str, ...], error: str) -> list[PlanRow]:
    """The rows of parts that failed: what was to be created failed, the rest stand."""
    out = []
    for row in run.plan.rows:
        if row.part not in parts:
            continue
        if row.action == "create":
            out.append(PlanRow(row.part, row.key, row.name, "failed", error))
        else:
            out.append(run.done(row.part, row.key, row.name, row.action, row.detail))
    return out


async def _in_session(
    run: Run, report: ImportReport, name: str, parts: tuple[str, ...], work: Part
) -> bool:
    total = sum(1 for r in run.plan.rows if r.part in parts)
    mark = run.ledger.checkpoint()
    try:
        async with run.sessions() as session, session.begin():
            rows = await work(run, session)
    except Exception as e:
        log.warning("import %s: the %s part failed: %s", run.ledger.import_id, name, e)
        run.ledger.restore(mark)
        error = f"the {name} part failed and was rolled back: {e}"
        report.rows += _failed_rows(run, parts, error)
        report.parts[name] = {"state": "failed", "error": error}
        await run.tell(name, total, total)
        return False
    report.rows += rows
    report.parts[name] = {"state": "done", "error": None}
    await run.tell(name, total, total)
    return True


async def _station(run: Run, report: ImportReport) -> bool:
    ok = await _in_session(run, report, "station", ("station", "output"), station_part)
    if ok:
        async with run.sessions() as session, session.begin():
            row = await session.get(Import, run.ledger.import_id)
            if row is not None:
                row.station_id = run.station_id
    return ok


async def _media(run: Run, report: ImportReport) -> None:
    try:
        report.rows += await media_part(run)
    except Exception as e:
        log.warning("import %s: the media part failed: %s", run.ledger.import_id, e)
        error = f"the media part failed and was rolled back: {e}"
        report.rows += _failed_rows(run, ("media",), error)
        report.parts["media"] = {"state": "failed", "error": error}
        return
    report.parts["media"] = {"state": "done", "error": None}


async def _finish(run: Run, report: ImportReport) -> None:
    """Gather the findings, settle the state and store the report with the import."""
    report.findings = list(run.plan.findings)
    seen = {str(f) for f in report.findings}
    for finding in run.findings:
        if str(finding) not in seen:
            report.findings.append(finding)
            seen.add(str(finding))
    named = {(f.part, f.name) for f in report.findings}
    for row in report.rows:
        if row.action in ("skipped", "failed") and (row.part, row.name) not in named:
            report.findings.append(Finding(row.part, row.name, row.detail))
            named.add((row.part, row.name))
    failed = [p for p, s in report.parts.items() if s["state"] == "failed"]
    report.state = "failed" if "station" in failed else ("partial" if failed else "done")
    webhooks = [r for r in run.plan.rows if r.part == "webhook"]
    report.rows += [run.done(r.part, r.key, r.name, r.action, r.detail) for r in webhooks]
    async with run.sessions() as session, session.begin():
        stored = await session.get(Import, run.ledger.import_id)
        if stored is not None:
            stored.state = report.state
            stored.finished_at = datetime.now(UTC)
            stored.report = report.to_json()


async def apply(
    snapshot: Snapshot,
    sessions: Sessions,
    *,
    media_dir: Path,
    artwork_dir: Path,
    short_name: str | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    import_id: uuid.UUID | None = None,
) -> ImportReport:
    """Import ``snapshot``: plan it, then write it part by part under a new import
    (``import_id``: its id, when the caller chose one). Media files are copied into
    ``media_dir`` (the library's content storage), artwork into ``artwork_dir``.
    ``progress`` hears (part, done, total) as the parts go."""
    async with sessions() as session:
        planned = await plan(snapshot, session, short_name=short_name)
    the_id = import_id or uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            Import(
                id=the_id,
                product=snapshot.product,
                source=snapshot.source[:255],
                schema_version=snapshot.schema_version[:64],
                state="running",
            )
        )
    ledger = Ledger(the_id, snapshot)
    ledger.known = dict(planned.known)
    run = Run(planned, ledger, sessions, media_dir, artwork_dir, workers, progress)
    report = ImportReport(the_id, planned)
    try:
        if await _station(run, report):
            await _in_session(run, report, *_IN_SESSION[0])
            await _media(run, report)
            for name, parts, work in _IN_SESSION[1:]:
                await _in_session(run, report, name, parts, work)
    finally:
        await _finish(run, report)
    return report
