"""What a station's programming asks of the store: playlists, smart blocks, clocks,
shows and their exceptions.

One module per resource (``playlists``, ``blocks``, ``clocks``, ``shows``,
``exceptions``), with what they share in ``common`` (a station's own rows, the
references that name another station's rows, unique names, pages of a list).
Every function takes the caller's ``AsyncSession`` and never commits: the caller
owns the transaction. Errors are domain errors (``NotFoundError``,
``ConflictError``) whose messages say what to fix; the rules the planner checks
(rotation, slots, RRULEs, smart block rules) stay with the planner.
"""

from grimnir.services.programming.common import (
    check_name_free,
    foreign_refs,
    kind_name,
    owned,
    remove,
)

__all__ = ["check_name_free", "foreign_refs", "kind_name", "owned", "remove"]
