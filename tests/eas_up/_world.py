"""What the alert-source tests under ``grimnir up`` share: a loopback HTTP server
run on its own event loop in a thread (the test itself is synchronous, as
``grimnir up`` is a process), an SSE reader of the station's alert events, a
CAP alert for the station's area sent now, and waiting on a condition."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import httpx

from tests.eas._cap_samples import alert, info
from tests.eas_sources._http import Handler, HttpServer

EAS = {
    "enabled": True,
    "country": "US",
    "sender_id": "WTST/FM",
    "same_locations": ["048453"],
    "attention_seconds": 8,
}


def cap_now(identifier: str, area: str = "048453") -> bytes:
    """A tornado warning for SAME ``area`` (default: the station's), sent now, for an hour."""
    now = datetime.now(UTC).replace(microsecond=0)
    return alert(
        identifier=f"{identifier}-{now:%H%M%S}",
        sender="w-nws.webmaster@noaa.gov",
        sent=now.isoformat(),
        infos=(
            info(
                same="TOR",
                capcp=None,
                language="en-US",
                expires=(now + timedelta(hours=1)).isoformat(),
                geocodes=(("SAME", area),),
            ),
        ),
    )


class ThreadedServer:
    """:class:`HttpServer` on a loop of its own thread; ``url()`` once entered."""

    def __init__(self, handler: Handler) -> None:
        self.server = HttpServer(handler)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        done = asyncio.run_coroutine_threadsafe(self.server.__aexit__(None, None, None), self.loop)
        done.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class AlertEvents:
    """The station's ``alert.*`` events, in the order the API's SSE stream sent them."""

    def __init__(self, base: str, token: str, station: str) -> None:
        self.types: list[str] = []
        self.data: list[dict[str, object]] = []
        self._url = f"{base}/api/v1/events/stream"
        self._params: list[tuple[str, str | int | float | bool | None]] = [
            ("station", station),
            ("types", "alert.received"),
            ("types", "alert.aired"),
            ("token", token),
        ]
        self.error: Exception | None = None
        self._reply: httpx.Response | None = None
        self._open = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._open.wait(20):
            raise RuntimeError("the event stream did not open")

    def _read(self) -> None:
        try:
            self._follow()
        except (httpx.HTTPError, OSError, ValueError) as error:  # closed here or by grimnir up
            self.error = error

    def _follow(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client,
            client.stream("GET", self._url, params=self._params) as reply,
        ):
            reply.raise_for_status()
            self._reply = reply
            self._open.set()
            kind = ""
            for line in reply.iter_lines():
                if self._closing:
                    return
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind.startswith("alert."):
                    self.data.append(json.loads(line.removeprefix("data: ")))
                    self.types.append(kind)

    def close(self) -> None:
        """Hang up (before ``grimnir up`` stops, so it has no stream to wait for)."""
        self._closing = True
        if self._reply is not None:
            # NOTE: a socket closed from another thread stays open while the reader
            # waits in recv(); shutdown() ends both the wait and the connection.
            stream = self._reply.extensions["network_stream"]
            stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._thread.join(10)


def wait_for(what: str, check: Callable[[], object], timeout_s: float, tail: str = "") -> Any:
    """``check()`` once it is truthy (what it gave: a JSON object, as the tests use it);
    AssertionError naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.25)
