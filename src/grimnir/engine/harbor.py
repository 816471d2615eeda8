"""The harbor's rules: who may stream live, and which live source goes on air.

The built-in server speaks the Icecast source protocol (PUT/SOURCE, Basic
auth, 403 on a busy mount, ``/admin/metadata``); this module decides what a
connection means for the station. Each accepted connection becomes a
``PushSource`` decoding the DJ's stream. By default (``route(AUTO)``) the first
DJ to connect goes on the live layer, and a DJ reconnecting to the same mount
continues where the dropout left off; the control plane can instead route one
mount explicitly or take live off air (``route(None)``). The engine applies
the grace and timeout rules once the source is on the live layer.

Who may connect is an ``Authenticator``: static ``--harbor-user`` accounts, and
under a control plane :class:`ApiHarborAuth`, which asks the API (DJ accounts,
one-time live tokens). It runs on one of the server's login workers, never on
the server's loop, so listeners keep flowing while a DJ is checked; the server
runs a few checks at once and refuses a login whose check overruns
(``server._admission``), and ``ApiHarborAuth``'s HTTP call has its own timeout.

A connected DJ whose bytes stop decoding (no audio for ``NO_AUDIO_S`` while
bytes keep coming) is dropped by the server (``_HarborSink.problem``), so the
mount is free again and the live session ends as for any disconnect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from grimnir.engine.engine import Engine
from grimnir.engine.server import HarborConnection, StreamServer
from grimnir.engine.sources import PushSource
from grimnir.engine.v1.status import HarborSource, HarborStatus

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

AUTO: Final = "auto"
"""Route whichever DJ connects first."""

Authenticator = Callable[[str, str, str, str], bool]
"""(mount path, user, password, client address) → allowed? Called on a worker thread."""
TitleCallback = Callable[[str, str], None]

SECRET_HEADER: Final = "X-Grimnir-Harbor-Secret"  # noqa: S105 — a header name
"""Carries the station's shared secret (the API derives it from its key)."""
AUTH_TIMEOUT_S: Final = 3.0
NO_AUDIO_S: Final = 2.0
"""A DJ whose bytes decode to no audio for this long is dropped."""
NO_AUDIO_MIN_BYTES: Final = 8 * 1024
"""…once at least this much arrived meanwhile: more than a frame or an Ogg page of any
streaming encoder, so a pause in the network is the rate check's business, not this."""


class ApiHarborAuth:
    """Asks the control plane whether a DJ may connect (``POST`` to its harbor
    callback with the station's shared secret). Anything but a 200 refuses; an
    unreachable API refuses too, with a log line saying why."""

    def __init__(
        self, url: str, secret: str, station_id: str, *, timeout_s: float = AUTH_TIMEOUT_S
    ) -> None:
        self.url = url
        self.station_id = station_id
        self._secret = secret
        self.timeout_s = timeout_s

    def __call__(self, mount: str, user: str, password: str, remote: str) -> bool:
        # NOTE: imported here, not at the top: httpx (with the rich it loads) is a
        # quarter of a second of an engine's start, and a restart is off air until
        # the engine serves; the first DJ login pays it instead.
        import httpx

        body = {
            "station_id": self.station_id,
            "mount": mount,
            "user": user,
            "password": password,
            "remote": remote,
        }
        try:
            response = httpx.post(
                self.url,
                json=body,
                headers={SECRET_HEADER: self._secret},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            log.warning(
                "harbor %s: refusing %r from %s: the API at %s cannot be reached (%s)",
                mount,
                user,
                remote,
                self.url,
                exc or type(exc).__name__,
            )
            return False
        if response.status_code == 200:
            return True
        log.warning(
            "harbor %s: refusing %r from %s: the API answered %d: %s",
            mount,
            user,
            remote,
            response.status_code,
            _detail(response),
        )
        return False


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("detail") if isinstance(data, dict) else data)[:200]


class HarborGate:
    """Connects harbor mounts of the built-in server to the engine's live layer."""

    def __init__(
        self,
        engine: Engine,
        server: StreamServer,
        paths: list[str],
        authenticate: Authenticator,
        on_title: TitleCallback | None = None,
    ) -> None:
        self.engine = engine
        self.server = server
        self.paths = list(paths)
        self._authenticate = authenticate
        self._on_title = on_title
        self._lock = threading.Lock()
        self._routed: str | None = AUTO
        self._connected: dict[str, tuple[HarborConnection, PushSource]] = {}
        for path in self.paths:
            server.add_harbor(path, self)

    # -- the server's side (HarborHandler) -----------------------------------------------

    def authenticate(self, path: str, user: str, password: str, remote: str) -> bool:
        try:
            return bool(self._authenticate(path, user, password, remote))
        except Exception:  # an auth backend failure refuses, it never crashes the server
            log.exception("harbor %s: the credential check failed; refusing %r", path, user)
            return False

    def on_connect(self, conn: HarborConnection) -> _HarborSink:
        source = PushSource(content_type=conn.content_type, name=f"harbor {conn.path}")
        # NOTE: the live layer as the block loop last left it (this is the server's
        # thread: it reads the engine's snapshot, never the players themselves)
        snapshot = self.engine.snapshot()
        with self._lock:
            self._connected[conn.path] = (conn, source)
            routed = self._routed
            take_air = routed == conn.path or (
                routed == AUTO and (not snapshot.live_holding or snapshot.live_label == conn.path)
            )
        self.engine.announce(
            "live.connected",
            {"mount": conn.path, "user": conn.user, "content_type": conn.content_type},
        )
        # NOTE: decode from the first byte, on air or not, so bad data is noticed at once.
        source.start()
        if take_air:
            self.engine.set_live(source, conn.path)
        return _HarborSink(self, conn, source)

    def _ended(self, conn: HarborConnection, source: PushSource, reason: str) -> None:
        source.end(reason)
        with self._lock:
            if self._connected.get(conn.path, (None, None))[1] is source:
                del self._connected[conn.path]
        self.engine.announce(
            "live.disconnected",
            {"mount": conn.path, "user": conn.user, "reason": reason, "bytes": source.bytes_in},
        )

    def _title(self, conn: HarborConnection, source: PushSource, title: str) -> None:
        source.metadata(title)
        if self._on_title is not None:
            self._on_title(conn.path, title)

    # -- the control plane's side ------------------------------------------------------

    def route(self, mount: str | None) -> None:
        """Put ``mount``'s DJ on the live layer (AUTO: first come; None: live off air)."""
        with self._lock:
            self._routed = mount
            entry = None if mount in (None, AUTO) else self._connected.get(mount)
        if mount is None:
            self.engine.set_live(None)
        elif entry is not None:
            self.engine.set_live(entry[1], entry[0].path)

    def title(self, mount: str) -> str | None:
        """The latest title the DJ on ``mount`` sent (None if none or not connected)."""
        with self._lock:
            entry = self._connected.get(mount)
        return None if entry is None else entry[1].title

    def status(self) -> HarborStatus:
        with self._lock:
            return HarborStatus(
                routed=self._routed,
                mounts={
                    path: HarborSource(
                        user=conn.user,
                        connected_s=round(
                            (datetime.now(UTC) - conn.connected_at).total_seconds(), 1
                        ),
                        bytes=source.bytes_in,
                        title=source.title,
                    )
                    for path, (conn, source) in self._connected.items()
                },
            )

    def close(self) -> None:
        for path in list(self._connected):
            self.server.kick(path)


class _HarborSink:
    """What the server feeds one DJ connection into (all calls on the server thread)."""

    def __init__(self, gate: HarborGate, conn: HarborConnection, source: PushSource) -> None:
        self._gate = gate
        self._conn = conn
        self._source = source
        self._heard: float | None = None
        """The source's ``last_audio_at`` when we last looked."""
        self._undecoded_since: float | None = None
        """When the first byte arrived after the audio last decoded (None: none since)."""
        self._undecoded_bytes = 0

    def feed(self, data: bytes) -> None:
        self._source.feed(data)
        self._catch_up()
        if self._undecoded_since is None:
            self._undecoded_since = time.monotonic()
        self._undecoded_bytes += len(data)

    def problem(self) -> str | None:
        source = self._source
        if source.error is not None:
            return source.error
        if not source.connected:
            return None  # closed by the engine (routed off air): not ours to judge
        self._catch_up()
        since = self._undecoded_since
        if (
            since is not None
            and self._undecoded_bytes >= NO_AUDIO_MIN_BYTES
            and time.monotonic() - since >= NO_AUDIO_S
        ):
            return (
                f"no decodable audio for {time.monotonic() - since:.1f} s "
                f"in {self._undecoded_bytes} bytes received"
            )
        return None

    def _catch_up(self) -> None:
        heard = self._source.last_audio_at
        if heard != self._heard:
            self._heard = heard
            self._undecoded_since = None
            self._undecoded_bytes = 0

    def end(self, reason: str) -> None:
        self._gate._ended(self._conn, self._source, reason)

    def metadata(self, title: str) -> None:
        self._gate._title(self._conn, self._source, title)
