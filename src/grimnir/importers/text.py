"""An import's plan and report as rich text for the terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from grimnir.importers.apply import ImportReport
from grimnir.importers.model import Finding
from grimnir.importers.plan import ImportPlan


def _findings(findings: list[Finding]) -> list[RenderableType]:
    if not findings:
        return [Text("Everything found can be carried over.")]
    lines: list[RenderableType] = [Text(f"{len(findings)} finding(s):", style="bold")]
    for finding in findings:
        mark = "skipped" if finding.skipped else "in part"
        lines.append(Text(f"  [{mark}] {finding}"))
    return lines


def plan_text(plan: ImportPlan) -> RenderableType:
    """The dry run: per part what was found, will be created, exists, is skipped."""
    snap = plan.snapshot
    where = "exists here" if plan.station_exists else "will be created"
    head = Text(
        f"Dry run: {snap.product} {snap.source} (schema {snap.schema_version}) → station "
        f"{plan.short_name!r} ({where}); nothing was written."
    )
    table = Table("part", "found", "create", "exists", "skip", title="plan")
    for part, counts in plan.counts().items():
        table.add_row(part, *(str(counts.get(k, 0)) for k in ("found", "create", "exists", "skip")))
    return Group(head, table, *_findings(plan.findings))


def report_text(report: ImportReport) -> RenderableType:
    """The real run: per part what was created, existed, was skipped or failed."""
    head = Text(
        f"Import {report.import_id}: {report.state} (station {report.plan.short_name!r}). "
        f"Undo it with: grimnir import rollback {report.import_id}"
    )
    table = Table("part", "created", "exists", "skipped", "failed", title="import")
    for part, counts in report.counts().items():
        table.add_row(
            part, *(str(counts.get(k, 0)) for k in ("created", "exists", "skipped", "failed"))
        )
    errors = [
        Text(f"part {name} failed: {state['error']}", style="red")
        for name, state in report.parts.items()
        if state["state"] == "failed"
    ]
    return Group(head, table, *errors, *_findings(report.findings))
