"""Errors of importing: a backup that cannot be read says what is wrong with it."""

from __future__ import annotations

from grimnir.domain.errors import GrimnirError


class BackupError(GrimnirError):
    """The backup cannot be read at all (truncated, the wrong product, a schema
    version we do not know); the message says what it is and what to do. Nothing
    has been written when it is raised."""
