"""Programming of a station: playlists, smart blocks, clocks and shows.

Reads need the DJ role on the station, changes the manager role. Every row
named in a body must belong to the same station (422 otherwise), every change
is audited. One module per resource (``playlists``, ``blocks``, ``clocks``,
``shows``, ``exceptions``), with what they share in ``common`` and the plan
reports clocks and the timeline return in ``report``; ``router`` joins them.
"""

from __future__ import annotations

from fastapi import APIRouter

from grimnir.api.routes.programming import blocks, clocks, exceptions, playlists, shows

router = APIRouter()
router.include_router(playlists.router)
router.include_router(blocks.router)
router.include_router(clocks.router)
router.include_router(shows.router)
router.include_router(exceptions.router)

__all__ = ["router"]
