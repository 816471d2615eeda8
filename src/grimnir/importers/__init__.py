"""Bring a station over from AzuraCast or LibreTime: read a backup, report what it
holds and what cannot be mapped (a dry run), then create it here in one transaction
per part under an import id that ``grimnir import rollback`` undoes.

:func:`plan` is the dry run, :func:`apply` the real run, :func:`rollback` its undo.
"""

from grimnir.importers.apply import ImportReport, apply
from grimnir.importers.errors import BackupError
from grimnir.importers.model import Finding, Snapshot
from grimnir.importers.plan import ImportPlan, PlanRow, plan
from grimnir.importers.rollback import get_import, list_imports, rollback

__all__ = [
    "BackupError",
    "Finding",
    "ImportPlan",
    "ImportReport",
    "PlanRow",
    "Snapshot",
    "apply",
    "get_import",
    "list_imports",
    "plan",
    "rollback",
]
