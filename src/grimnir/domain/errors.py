"""The error hierarchy: one base, one subclass per layer.

Every error carries a message written for the person who has to fix the
problem (a station engineer), not for the programmer.
"""

from __future__ import annotations


class GrimnirError(Exception):
    """Base of every error Grimnir raises on purpose."""


class ConfigError(GrimnirError):
    """Settings or a station config file are wrong.

    ``problems`` holds one line per problem, each naming the file, line and
    key path, so a user can fix them all in one go.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]

    def __str__(self) -> str:
        if len(self.problems) <= 1 and self.args and self.problems[0] == self.args[0]:
            return str(self.args[0])
        return "\n".join([str(self.args[0]), *self.problems])


class StoreError(GrimnirError):
    """The database refused or failed an operation."""


class NotFoundError(StoreError):
    """A named record does not exist."""


class ConflictError(StoreError):
    """A record clashes with one already stored (a duplicate name, say)."""


class InvalidTransitionError(GrimnirError):
    """A state machine was asked for a move it does not allow."""


class EngineError(GrimnirError):
    """The media engine failed or refused a command."""


class AddressError(EngineError):
    """An address to listen on cannot be used: taken, not local, or not allowed.

    Starting again cannot help; the message names the address and what to change.
    """


EXIT_CONFIG = 78
"""Exit status of an engine that cannot run as configured (an address it must
listen on is taken, say): a supervisor reports it at once instead of
restarting it (``EX_CONFIG`` of sysexits.h)."""

EXIT_MESSAGE_ENV = "GRIMNIR_EXIT_MESSAGE_FD"
"""Environment variable naming a file descriptor (a pipe from the supervisor)
where an engine that exits with ``EXIT_CONFIG`` writes its one-line reason."""


class PlannerError(GrimnirError):
    """The planner cannot build a timeline from the station's rules."""


class LibraryError(GrimnirError):
    """Ingest or analysis of a media file failed."""


class BusError(GrimnirError):
    """The event bus server is unreachable, or the bus was used after close()."""


class FencingError(GrimnirError):
    """An instance acted on a lease it no longer holds: its fencing token is stale.

    Another instance took the resource over (or the lease ran out) while this
    one was paused, cut off or slow; the write or command was refused so that
    two instances never act for the same station at once.
    """
