"""The engine's built-in HTTP server: listeners (with ICY), harbor sources, HLS files.

``StreamServer`` runs on its own thread and event loop; ``add_mount`` gives a
``ListenerMount`` (an ``Output`` the engine writes to), ``add_harbor`` takes
Icecast source clients for a ``HarborHandler``, ``add_static`` serves a
directory of HLS playlists and segments.
"""

from grimnir.engine.server._harbor import (
    HarborConnection,
    HarborHandler,
    HarborSink,
)
from grimnir.engine.server._icy import METAINT, metadata_block, parse_blocks
from grimnir.engine.server._listeners import ListenerMount
from grimnir.engine.server._server import StreamServer
from grimnir.engine.server._static import StaticDir, client_address

__all__ = [
    "METAINT",
    "HarborConnection",
    "HarborHandler",
    "HarborSink",
    "ListenerMount",
    "StaticDir",
    "StreamServer",
    "client_address",
    "metadata_block",
    "parse_blocks",
]
