"""The control plane's HTTP face: REST, WebSocket/SSE events, public API, UI."""

from grimnir.api.app import API_PREFIX, create_app
from grimnir.api.context import ApiContext, NothingOnAir, OnAir, load_secret

__all__ = ["API_PREFIX", "ApiContext", "NothingOnAir", "OnAir", "create_app", "load_secret"]
