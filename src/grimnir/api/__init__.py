"""The control plane's HTTP face: REST, WebSocket/SSE events, public API, UI."""

from grimnir.api.app import API_PREFIX, create_app
from grimnir.api.context import ApiContext, NothingOnAir, OnAir, load_secret
from grimnir.api.routes import AUTH_PATH as HARBOR_AUTH_PATH
from grimnir.api.routes import harbor_secret

__all__ = [
    "API_PREFIX",
    "HARBOR_AUTH_PATH",
    "ApiContext",
    "NothingOnAir",
    "OnAir",
    "create_app",
    "harbor_secret",
    "load_secret",
]
