"""Programming of a station: playlists, smart blocks, clocks and shows.

Reads need the DJ role on the station, changes the manager role. Every row
named in a body must belong to the same station (422 otherwise), every change
is audited. The parts live in ``_programming_*`` modules; this one joins them.
"""

from __future__ import annotations

from fastapi import APIRouter

from grimnir.api.routes import (
    _programming_blocks,
    _programming_clocks,
    _programming_exceptions,
    _programming_playlists,
    _programming_shows,
)

router = APIRouter()
for _part in (
    _programming_playlists,
    _programming_blocks,
    _programming_clocks,
    _programming_shows,
    _programming_exceptions,
):
    router.include_router(_part.router)
