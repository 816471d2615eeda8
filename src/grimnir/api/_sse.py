"""Server-Sent Events responses that drive the ASGI messages themselves.

:class:`ServerSentEvents` is the one pattern both of our streams share (the
event stream of ``/api/v1/events/stream`` and AzuraCast's now-playing feed): a
writer sends the subclass's messages while a watcher waits for the client to
disconnect; whichever ends first ends both. Every part must be taken within
``SEND_TIMEOUT_S``, so a reader that stops reading is dropped, never waited for.
Subclasses say what to write (:meth:`~ServerSentEvents.write`), how a message
becomes bytes (:meth:`~ServerSentEvents.frame`) and what to release at the end
(:meth:`~ServerSentEvents.finish`).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

SEND_TIMEOUT_S = 10.0
"""How long one part may wait for the client to take it before the stream ends."""

Emit = Callable[[str], Awaitable[None]]
"""Sends one message of a stream (framed by :meth:`ServerSentEvents.frame`)."""


class ServerSentEvents(StreamingResponse, ABC):
    """A ``text/event-stream`` response: the headers, then :meth:`write`'s messages
    until it returns, the client disconnects or a part is not taken in time; then
    the end of the body (when the client can still take it) and :meth:`finish`."""

    media_type = "text/event-stream"

    def __init__(self) -> None:
        super().__init__(
            iter(()),
            media_type=self.media_type,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @abstractmethod
    async def write(self, emit: Emit) -> None:
        """Send the stream's messages with ``emit``; return to end the stream."""

    def frame(self, message: str) -> bytes:
        """The bytes of one message on the wire (default: the text as UTF-8)."""
        return message.encode("utf-8")

    async def finish(self) -> None:
        """Release what the stream held; called once, however it ended."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )

            async def emit(message: str) -> None:
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    body = self.frame(message)
                    await send({"type": "http.response.body", "body": body, "more_body": True})

            writer = asyncio.create_task(self.write(emit))
            watcher = asyncio.create_task(until_disconnect(receive))
            try:
                await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (writer, watcher):
                    task.cancel()
                for task in (writer, watcher):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.finish()


async def until_disconnect(receive: Receive) -> None:
    """Return when the client has gone (``http.disconnect``)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
