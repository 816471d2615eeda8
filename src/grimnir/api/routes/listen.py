"""Every on-air station's streams on the API's own address
(``/listen/{station}/{path}``), relayed from the station's engine as they come.

The proxy lets one port serve API, UI and audio; the engines keep their own
ports, which go on serving listeners while the control plane restarts. An
HTTP/1.0 listener's stream ends where the connection does (``grimnir up``'s
server, :mod:`grimnir._up_http`), since it has no ``Content-Length``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Protocol, runtime_checkable

import anyio
import httpx
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse

from grimnir.api._urls import client_address
from grimnir.api.auth import PublicDep, context
from grimnir.api.problems import Problem

log = logging.getLogger("grimnir.api.ui")  # NOTE: the name its log lines always had

router = APIRouter()
"""Nothing under /api/v1: the streams live at the root."""

root_router = APIRouter(include_in_schema=False)

_REQUEST_HEADERS = ("icy-metadata", "user-agent", "range")
_RESPONSE_HEADERS = (
    "content-type",
    "content-length",
    "cache-control",
    "pragma",
    "access-control-allow-origin",
    "accept-ranges",
    "content-range",
)
_UPSTREAM_TIMEOUT = httpx.Timeout(5.0, read=30.0)


@runtime_checkable
class StreamOrigins(Protocol):
    """An :class:`~grimnir.api.OnAir` that can say which engine serves a stream."""

    def stream_upstream(self, station: str, path: str) -> str | None:
        """The engine URL of ``path`` of ``station`` (id or short name), or ``None``."""
        ...


@root_router.get("/listen/{station}/{path:path}", dependencies=[Depends(PublicDep)])
async def listen(
    request: Request,
    station: Annotated[str, Path(min_length=1, max_length=64)],
    path: Annotated[str, Path(max_length=512)],
) -> Response:
    """A station's stream (mount or HLS file), relayed from its engine as it comes."""
    on_air = context(request).on_air
    upstream = None
    if isinstance(on_air, StreamOrigins):
        upstream = on_air.stream_upstream(station, "/" + path)
    if upstream is None:
        raise Problem(
            404,
            f"station {station!r} has no stream /{path} on air here: "
            "GET /api/v1/public/stations lists the stations and their listen URLs",
        )
    headers = {k: v for k in _REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    # NOTE: the engine counts HLS players by address: it believes this header from
    # us (on loopback) only
    headers["x-forwarded-for"] = client_address(request, context(request).settings)
    client = httpx.AsyncClient(timeout=_UPSTREAM_TIMEOUT)
    try:
        reply = await client.send(
            client.build_request("GET", upstream, headers=headers), stream=True
        )
    except httpx.HTTPError as exc:
        await client.aclose()
        log.warning("stream proxy: %s did not answer: %s", upstream, exc)
        raise Problem(
            503,
            f"station {station!r}'s engine is not answering (it may be restarting): "
            "try again in a few seconds; `grimnir up`'s log says more",
            headers={"Retry-After": "5"},
        ) from None
    if reply.status_code not in (200, 206, 304):
        await reply.aclose()
        await client.aclose()
        status = reply.status_code if reply.status_code in (404, 416, 503) else 503
        raise Problem(
            status,
            f"station {station!r}'s engine answered {reply.status_code} for /{path}: "
            "the stream is not available yet; try again in a few seconds",
            headers={"Retry-After": "5"} if status == 503 else None,
        )
    passed = {
        name: value
        for name, value in reply.headers.items()
        if name.lower() in _RESPONSE_HEADERS or name.lower().startswith("icy-")
    }
    return StreamingResponse(_relay(reply, client), status_code=reply.status_code, headers=passed)


async def _relay(reply: httpx.Response, client: httpx.AsyncClient) -> AsyncIterator[bytes]:
    """The upstream body as it arrives; the upstream closes when the listener goes."""
    try:
        async for chunk in reply.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        log.info("stream proxy: upstream %s ended: %s", reply.url, exc)
    finally:
        # NOTE: shielded: a listener that goes away cancels us, and the engine
        # must still see its connection closed now, not at garbage collection.
        with anyio.CancelScope(shield=True):
            await reply.aclose()
            await client.aclose()
