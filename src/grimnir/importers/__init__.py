"""Bring a station over from AzuraCast or LibreTime: read a backup, report what it
holds and what cannot be mapped (a dry run), then create it here in one transaction
per part under an import id that ``grimnir import rollback`` undoes."""

from grimnir.importers.errors import BackupError
from grimnir.importers.model import Finding, Snapshot

__all__ = ["BackupError", "Finding", "Snapshot"]
